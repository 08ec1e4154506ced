import 'reflect-metadata';
import { DataSource, QueryFailedError } from 'typeorm';
import { SessionEntity } from '../../apps/server/src/auth/sessions.entity';
import { SessionsRepository } from '../../apps/server/src/auth/sessions.repository';
import { UserEntity } from '../../apps/server/src/users/users.entity';
import { UsersRepository } from '../../apps/server/src/users/users.repository';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, TestDatabase } from '../support/db';

describe('users and sessions repositories on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let users: UsersRepository;
  let sessions: SessionsRepository;

  beforeAll(async () => {
    db = await createTestDatabase('users');
    ds = await migratedDataSource(db.url, [UserEntity, SessionEntity]);
    users = new UsersRepository(ds.getRepository(UserEntity));
    sessions = new SessionsRepository(ds.getRepository(SessionEntity));
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  beforeEach(async () => {
    await ds.query('TRUNCATE users CASCADE');
  });

  const add = (username: string, role: UserEntity['role'] = 'operator') => users.createUnlessTaken({ username, role, passwordHash: '$argon2id$fake' });

  it('creates users with generated id and timestamps, and refuses a taken username with null', async () => {
    const alice = await add('alice');
    expect(alice).toMatchObject({ username: 'alice', role: 'operator', disabled: false, lastLoginAt: null });
    expect(alice!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(alice!.createdAt).toBeInstanceOf(Date);
    expect(await add('alice', 'admin')).toBeNull();
    expect(await users.count()).toBe(1);
    expect((await users.findByUsername('alice'))?.id).toBe(alice!.id);
    expect((await users.findById(alice!.id))?.username).toBe('alice');
  });

  it('only stores lowercase usernames and known roles (the database checks)', async () => {
    await expect(add('Alice')).rejects.toBeInstanceOf(QueryFailedError);
    await expect(add('bob', 'root' as UserEntity['role'])).rejects.toBeInstanceOf(QueryFailedError);
    expect(await users.count()).toBe(0);
  });

  it('lists by username and counts only enabled admins', async () => {
    await add('zed', 'admin');
    await add('amy', 'admin');
    const off = await add('mia', 'admin');
    await add('bob', 'viewer');
    await users.update(off!.id, { disabled: true });
    expect((await users.listByUsername()).map((u) => u.username)).toEqual(['amy', 'bob', 'mia', 'zed']);
    expect(await users.countEnabledAdmins()).toBe(2);
  });

  it('records a login without touching updatedAt; an admin change does touch it', async () => {
    const u = (await add('carl'))!;
    const at = new Date(Date.now() + 1000);
    await users.recordLogin(u.id, at);
    const afterLogin = (await users.findById(u.id))!;
    expect(afterLogin.lastLoginAt?.getTime()).toBe(at.getTime());
    expect(afterLogin.updatedAt.getTime()).toBe(u.updatedAt.getTime());
    await users.update(u.id, { role: 'viewer' });
    expect((await users.findById(u.id))!.updatedAt.getTime()).toBeGreaterThan(u.updatedAt.getTime());
  });

  it('serialises admin changes: two concurrent demotions leave one admin', async () => {
    const a = (await add('admin-a', 'admin'))!;
    const b = (await add('admin-b', 'admin'))!;
    const demoteIfNotLast = (id: string) =>
      users.inAdminLock(async (tx) => {
        const admins = await tx.countEnabledAdmins();
        // Give the other transaction time to reach its own count while this one holds the lock.
        await new Promise((r) => setTimeout(r, 100));
        if (admins <= 1) return false;
        await tx.update(id, { role: 'operator' });
        return true;
      });
    const results = await Promise.all([demoteIfNotLast(a.id), demoteIfNotLast(b.id)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await users.countEnabledAdmins()).toBe(1);
  });

  it('deletes a user and, by foreign key, their sessions', async () => {
    const u = (await add('dora'))!;
    const other = (await add('eve'))!;
    const future = new Date(Date.now() + 3_600_000);
    await sessions.create({ userId: u.id, tokenHash: 'h1', expiresAt: future, sourceIp: '10.0.0.1', userAgent: null });
    await sessions.create({ userId: other.id, tokenHash: 'h2', expiresAt: future, sourceIp: null, userAgent: null });
    expect(await users.delete(u.id)).toBe(true);
    expect(await users.delete(u.id)).toBe(false);
    expect(await sessions.findLive('h1')).toBeNull();
    expect((await sessions.findLive('h2'))?.user.username).toBe('eve');
  });

  it('finds only unexpired sessions, extends them, and deletes expired ones and all of a user', async () => {
    const u = (await add('fred'))!;
    const now = new Date();
    const live = await sessions.create({ userId: u.id, tokenHash: 'live', expiresAt: new Date(now.getTime() + 60_000), sourceIp: null, userAgent: 'ua' });
    await sessions.create({ userId: u.id, tokenHash: 'old', expiresAt: new Date(now.getTime() - 1000), sourceIp: null, userAgent: null });
    expect(await sessions.findLive('old')).toBeNull();
    expect((await sessions.findLive('live'))?.user.id).toBe(u.id);
    // Lookups made together share a statement; each gets the answer for its own token.
    const together = await Promise.all(['live', 'old', 'live', 'nope'].map((h) => sessions.findLive(h)));
    expect(together.map((s) => s?.id)).toEqual([live.id, undefined, live.id, undefined]);
    const later = new Date(now.getTime() + 3_600_000);
    await sessions.extend(live.id, now, later);
    expect((await sessions.findLive('live'))?.expiresAt.getTime()).toBe(later.getTime());
    expect(await sessions.deleteExpired(now)).toBe(1);
    expect(await sessions.deleteForUser(u.id)).toBe(1);
    expect(await sessions.findLive('live')).toBeNull();
  });
});
