import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import type { Role } from '../auth/auth.decorators';
import { UserEntity } from './users.entity';

export interface NewUser {
  username: string;
  role: Role;
  passwordHash: string;
}

export type UserChanges = Partial<Pick<UserEntity, 'role' | 'disabled' | 'passwordHash'>>;

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly repo: Repository<UserEntity>) {}

  findById(id: string): Promise<UserEntity | null> {
    return this.repo.findOneBy({ id });
  }

  findByUsername(username: string): Promise<UserEntity | null> {
    return this.repo.findOneBy({ username });
  }

  listByUsername(): Promise<UserEntity[]> {
    return this.repo.find({ order: { username: 'ASC' } });
  }

  count(): Promise<number> {
    return this.repo.count();
  }

  countEnabledAdmins(): Promise<number> {
    return this.repo.countBy({ role: 'admin', disabled: false });
  }

  /** Inserts the user; null when the username is taken (also under a race with another insert). */
  async createUnlessTaken(user: NewUser): Promise<UserEntity | null> {
    try {
      return await this.repo.save(this.repo.create({ ...user, disabled: false, lastLoginAt: null }));
    } catch (e) {
      if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw e;
    }
  }

  async update(id: string, changes: UserChanges): Promise<void> {
    await this.repo.update({ id }, changes);
  }

  async recordLogin(id: string, at: Date): Promise<void> {
    // A raw update keeps updatedAt meaning "changed by an admin", not "logged in".
    await this.repo.createQueryBuilder().update().set({ lastLoginAt: at, updatedAt: () => '"updatedAt"' }).where('id = :id', { id }).execute();
  }

  /** True when a row was deleted. */
  async delete(id: string): Promise<boolean> {
    const res = await this.repo.delete({ id });
    return (res.affected ?? 0) > 0;
  }

  /**
   * Runs `fn` in a transaction holding one advisory lock that every change able to remove an
   * admin takes, so two concurrent requests cannot together remove the last enabled admin.
   */
  inAdminLock<T>(fn: (users: UsersRepository) => Promise<T>): Promise<T> {
    return this.repo.manager.transaction(async (em) => {
      await em.query(`SELECT pg_advisory_xact_lock(hashtext('sysfleet.users.admins'))`);
      return fn(new UsersRepository(em.getRepository(UserEntity)));
    });
  }
}
