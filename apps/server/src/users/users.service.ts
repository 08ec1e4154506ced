import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { argon2id, hash, verify } from 'argon2';
import { randomBytes } from 'node:crypto';
import { SessionsService } from '../auth/sessions.service';
import { EnvironmentVariables } from '../config/config';
import { CreateUserDto, UpdateUserDto } from './users.dto';
import { UserEntity } from './users.entity';
import { UsersErrors } from './users.errors';
import { UsersRepository } from './users.repository';

export const INITIAL_ADMIN = 'admin';

export function hashPassword(password: string): Promise<string> {
  return hash(password, { type: argon2id });
}

/** Users and their passwords. Changes that lock a user out also end that user's sessions. */
@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Users');
  private dummyHash?: Promise<string>;

  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    private readonly config: EnvironmentVariables,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureInitialAdmin();
  }

  /** With no users at all, creates `admin` (password from SYSFLEET_ADMIN_PASSWORD, or a random one logged once). */
  async ensureInitialAdmin(): Promise<void> {
    if ((await this.users.count()) > 0) return;
    const fromEnv = this.config.SYSFLEET_ADMIN_PASSWORD;
    const password = fromEnv ?? randomBytes(18).toString('base64url');
    const created = await this.users.createUnlessTaken({ username: INITIAL_ADMIN, role: 'admin', passwordHash: await hashPassword(password) });
    if (!created) return; // another replica created it first
    if (fromEnv) {
      this.logger.log(`Created the first user "${INITIAL_ADMIN}" with the password from SYSFLEET_ADMIN_PASSWORD`);
    } else {
      this.logger.warn(`======== Created the first user "${INITIAL_ADMIN}" with password: ${password} (shown only this once; log in and change it) ========`);
    }
  }

  list(): Promise<UserEntity[]> {
    return this.users.listByUsername();
  }

  async get(id: string): Promise<UserEntity> {
    const user = await this.users.findById(id);
    if (!user) throw UsersErrors.NOT_FOUND();
    return user;
  }

  async create(dto: CreateUserDto): Promise<UserEntity> {
    const created = await this.users.createUnlessTaken({ username: dto.username, role: dto.role, passwordHash: await hashPassword(dto.password) });
    if (!created) throw UsersErrors.USERNAME_TAKEN(`The username "${dto.username}" is already taken`);
    return created;
  }

  async update(id: string, dto: UpdateUserDto): Promise<UserEntity> {
    const updated = await this.users.inAdminLock(async (users) => {
      const user = await users.findById(id);
      if (!user) throw UsersErrors.NOT_FOUND();
      const staysEnabledAdmin = (dto.role ?? user.role) === 'admin' && !(dto.disabled ?? user.disabled);
      if (isEnabledAdmin(user) && !staysEnabledAdmin && (await users.countEnabledAdmins()) <= 1) throw UsersErrors.LAST_ADMIN();
      await users.update(id, { ...(dto.role !== undefined && { role: dto.role }), ...(dto.disabled !== undefined && { disabled: dto.disabled }) });
      return (await users.findById(id))!;
    });
    if (updated.disabled) await this.sessions.endAllForUser(id);
    return updated;
  }

  /** Sets a new password and ends the user's sessions, all of them or all but `keepSessionId` (the one that changed it). */
  async resetPassword(id: string, password: string, keepSessionId?: string): Promise<void> {
    await this.get(id);
    await this.users.update(id, { passwordHash: await hashPassword(password) });
    if (keepSessionId) await this.sessions.endOthersOfUser(id, keepSessionId);
    else await this.sessions.endAllForUser(id);
  }

  async delete(id: string): Promise<void> {
    await this.users.inAdminLock(async (users) => {
      const user = await users.findById(id);
      if (!user) throw UsersErrors.NOT_FOUND();
      if (isEnabledAdmin(user) && (await users.countEnabledAdmins()) <= 1) throw UsersErrors.LAST_ADMIN('The last enabled admin cannot be deleted');
      await users.delete(id);
    });
    // The foreign key already removed the sessions; this is for clarity should it ever change.
    await this.sessions.endAllForUser(id);
  }

  /** The user when the password is right and the user is enabled, else null. Takes as long either way. */
  async verifyCredentials(username: string, password: string): Promise<UserEntity | null> {
    const user = await this.users.findByUsername(username.trim().toLowerCase());
    // Verify against a dummy hash for unknown users so timing does not tell which usernames exist.
    const ok = await verifyPassword(user?.passwordHash ?? (await this.dummy()), password);
    return user && ok && !user.disabled ? user : null;
  }

  async recordLogin(user: UserEntity): Promise<void> {
    user.lastLoginAt = new Date();
    await this.users.recordLogin(user.id, user.lastLoginAt);
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }
}

function isEnabledAdmin(u: UserEntity): boolean {
  return u.role === 'admin' && !u.disabled;
}

async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // a malformed stored hash matches nothing
  }
}
