import { verify } from 'argon2';
import type { SessionsService } from '../auth/sessions.service';
import { AppError } from '../common/errors';
import type { EnvironmentVariables } from '../config/config';
import { UserEntity } from './users.entity';
import type { NewUser, UserChanges, UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/** An in-memory stand-in for UsersRepository with the same behaviour (unique usernames). */
class FakeUsers {
  rows = new Map<string, UserEntity>();
  private next = 1;
  findById = async (id: string) => this.rows.get(id) ?? null;
  findByUsername = async (username: string) => [...this.rows.values()].find((u) => u.username === username) ?? null;
  listByUsername = async () => [...this.rows.values()].sort((a, b) => a.username.localeCompare(b.username));
  count = async () => this.rows.size;
  countEnabledAdmins = async () => [...this.rows.values()].filter((u) => u.role === 'admin' && !u.disabled).length;
  createUnlessTaken = async (u: NewUser) => {
    if (await this.findByUsername(u.username)) return null;
    const now = new Date();
    const row = Object.assign(new UserEntity(), { ...u, id: `00000000-0000-4000-8000-${String(this.next++).padStart(12, '0')}`, disabled: false, createdAt: now, updatedAt: now, lastLoginAt: null });
    this.rows.set(row.id, row);
    return row;
  };
  update = async (id: string, changes: UserChanges) => {
    const row = this.rows.get(id);
    if (row) Object.assign(row, changes);
  };
  recordLogin = async (id: string, at: Date) => {
    const row = this.rows.get(id);
    if (row) row.lastLoginAt = at;
  };
  delete = async (id: string) => this.rows.delete(id);
  inAdminLock = <T>(fn: (users: UsersRepository) => Promise<T>) => fn(this as unknown as UsersRepository);
}

function setup(env: Partial<EnvironmentVariables> = {}) {
  const users = new FakeUsers();
  const sessions = { endAllForUser: jest.fn(async () => 0) };
  const service = new UsersService(users as unknown as UsersRepository, sessions as unknown as SessionsService, env as EnvironmentVariables);
  return { users, sessions, service };
}

describe('UsersService', () => {
  it('creates the first admin from SYSFLEET_ADMIN_PASSWORD when there are no users, and only then', async () => {
    const { users, service } = setup({ SYSFLEET_ADMIN_PASSWORD: 'first-admin-password' });
    await service.ensureInitialAdmin();
    const admin = await users.findByUsername('admin');
    expect(admin?.role).toBe('admin');
    expect(admin!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verify(admin!.passwordHash, 'first-admin-password')).toBe(true);
    await service.ensureInitialAdmin();
    expect(users.rows.size).toBe(1);
  });

  it('logs a random first admin password once when none is configured, and that password works', async () => {
    const { service } = setup();
    const warn = jest.spyOn((service as unknown as { logger: { warn: (m: string) => void } }).logger, 'warn').mockImplementation(() => undefined);
    await service.ensureInitialAdmin();
    expect(warn).toHaveBeenCalledTimes(1);
    const password = /password: (\S+)/.exec(warn.mock.calls[0][0])![1];
    expect(password.length).toBeGreaterThanOrEqual(20);
    expect(await service.verifyCredentials('ADMIN', password)).not.toBeNull();
  });

  it('checks credentials: right password, wrong password, unknown user, disabled user', async () => {
    const { service } = setup();
    const alice = await service.create({ username: 'alice', password: 'alice-password-1', role: 'operator' });
    expect((await service.verifyCredentials(' Alice ', 'alice-password-1'))?.id).toBe(alice.id);
    expect(await service.verifyCredentials('alice', 'wrong-password-1')).toBeNull();
    expect(await service.verifyCredentials('nobody', 'alice-password-1')).toBeNull();
    await service.update(alice.id, { disabled: true });
    expect(await service.verifyCredentials('alice', 'alice-password-1')).toBeNull();
  });

  it('refuses a taken username with USERS_USERNAME_TAKEN', async () => {
    const { service } = setup();
    await service.create({ username: 'bob', password: 'bob-password-12', role: 'viewer' });
    await expect(service.create({ username: 'bob', password: 'other-password', role: 'admin' })).rejects.toMatchObject({ code: 'USERS_USERNAME_TAKEN', status: 409 });
  });

  it('never removes the last enabled admin: not by demotion, disabling or deletion', async () => {
    const { service, users } = setup({ SYSFLEET_ADMIN_PASSWORD: 'first-admin-password' });
    await service.ensureInitialAdmin();
    const admin = (await users.findByUsername('admin'))!;
    for (const attempt of [() => service.update(admin.id, { role: 'operator' }), () => service.update(admin.id, { disabled: true }), () => service.delete(admin.id)]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'USERS_LAST_ADMIN', status: 409 });
    }
    expect(users.rows.get(admin.id)).toMatchObject({ role: 'admin', disabled: false });

    // With a second admin, the first may go.
    await service.create({ username: 'second', password: 'second-admin-pw', role: 'admin' });
    await service.update(admin.id, { role: 'viewer' });
    expect(users.rows.get(admin.id)?.role).toBe('viewer');
  });

  it('ends the sessions of a user who is disabled, has the password reset, or is deleted', async () => {
    const { service, sessions } = setup();
    const u = await service.create({ username: 'carol', password: 'carol-password-1', role: 'operator' });
    await service.update(u.id, { role: 'viewer' });
    expect(sessions.endAllForUser).not.toHaveBeenCalled();
    await service.update(u.id, { disabled: true });
    await service.resetPassword(u.id, 'carol-new-password');
    expect(await service.verifyCredentials('carol', 'carol-new-password')).toBeNull(); // still disabled
    await service.update(u.id, { disabled: false });
    expect(await service.verifyCredentials('carol', 'carol-new-password')).not.toBeNull();
    await service.delete(u.id);
    expect(sessions.endAllForUser.mock.calls).toEqual([[u.id], [u.id], [u.id]]);
  });

  it('answers USERS_NOT_FOUND for a missing id', async () => {
    const { service } = setup();
    const id = '00000000-0000-4000-8000-999999999999';
    await expect(service.get(id)).rejects.toMatchObject({ code: 'USERS_NOT_FOUND', status: 404 });
    await expect(service.update(id, { role: 'viewer' })).rejects.toMatchObject({ code: 'USERS_NOT_FOUND' });
    await expect(service.delete(id)).rejects.toMatchObject({ code: 'USERS_NOT_FOUND' });
    await expect(service.resetPassword(id, 'some-password-1')).rejects.toMatchObject({ code: 'USERS_NOT_FOUND' });
  });
});
