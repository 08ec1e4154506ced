import { createHash } from 'node:crypto';
import type { EnvironmentVariables } from '../config/config';
import type { UserEntity } from '../users/users.entity';
import { SessionEntity } from './sessions.entity';
import type { NewSession, SessionsRepository } from './sessions.repository';
import { SESSION_COOKIE, SessionsService } from './sessions.service';

class FakeSessions {
  rows: SessionEntity[] = [];
  users = new Map<string, UserEntity>();
  create = async (s: NewSession) => {
    const row = Object.assign(new SessionEntity(), { ...s, id: `s${this.rows.length + 1}`, createdAt: new Date(), lastSeenAt: new Date() });
    this.rows.push(row);
    return row;
  };
  findLive = async (tokenHash: string) => {
    const row = this.rows.find((r) => r.tokenHash === tokenHash && r.expiresAt > new Date());
    const user = row && this.users.get(row.userId);
    return row && user ? { ...row, user } : null;
  };
  extend = jest.fn(async (id: string, lastSeenAt: Date, expiresAt: Date) => {
    Object.assign(this.rows.find((r) => r.id === id)!, { lastSeenAt, expiresAt });
  });
  deleteById = async (id: string) => void (this.rows = this.rows.filter((r) => r.id !== id));
  deleteForUser = async (userId: string) => {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.userId !== userId);
    return before - this.rows.length;
  };
  deleteForUserExcept = async (userId: string, keepId: string) => {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.userId !== userId || r.id === keepId);
    return before - this.rows.length;
  };
  findLiveIds = async (ids: string[], now: Date) =>
    this.rows.filter((r) => ids.includes(r.id) && r.expiresAt > now && !this.users.get(r.userId)?.disabled).map((r) => r.id);
  deleteExpired = async (now: Date) => {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.expiresAt > now);
    return before - this.rows.length;
  };
}

const config = { SESSION_TTL_HOURS: 12, SYSFLEET_SECRET: 's'.repeat(40) } as EnvironmentVariables;

function setup() {
  const repo = new FakeSessions();
  repo.users.set('u1', { id: 'u1', username: 'alice', role: 'operator', disabled: false } as UserEntity);
  const sessions = new SessionsService(repo as unknown as SessionsRepository, config);
  return { repo, sessions };
}

describe('SessionsService', () => {
  it('stores only the SHA-256 of a random token and finds the actor by bearer or cookie', async () => {
    const { repo, sessions } = setup();
    const s = await sessions.start('u1', { sourceIp: '10.0.0.1' });
    expect(Buffer.from(s.token, 'base64url')).toHaveLength(32);
    expect(repo.rows[0].tokenHash).toBe(createHash('sha256').update(s.token).digest('hex'));
    expect(JSON.stringify(repo.rows)).not.toContain(s.token);
    const actor = { userId: 'u1', username: 'alice', role: 'operator' };
    expect(await sessions.fromRequest({ headers: { authorization: `Bearer ${s.token}` } })).toEqual({ sessionId: s.sessionId, actor, via: 'bearer' });
    expect(await sessions.fromRequest({ headers: { cookie: `a=b; ${SESSION_COOKIE}=${s.token}` } })).toEqual({ sessionId: s.sessionId, actor, via: 'cookie' });
    expect(await sessions.fromCookieHeader(`${SESSION_COOKIE}=${s.token}`)).toEqual({ sessionId: s.sessionId, actor });
  });

  it('rejects unknown, expired, ended and disabled-user sessions', async () => {
    const { repo, sessions } = setup();
    const s = await sessions.start('u1');
    expect(await sessions.fromRequest({ headers: { authorization: 'Bearer not-a-token' } })).toBeNull();
    // A bad Authorization header does not fall back to the cookie.
    expect(await sessions.fromRequest({ headers: { authorization: 'Basic abc', cookie: `${SESSION_COOKIE}=${s.token}` } })).toBeNull();
    expect(await sessions.fromCookieHeader(undefined)).toBeNull();
    repo.users.get('u1')!.disabled = true;
    expect(await sessions.fromCookieHeader(`${SESSION_COOKIE}=${s.token}`)).toBeNull();
    repo.users.get('u1')!.disabled = false;
    repo.rows[0].expiresAt = new Date(Date.now() - 1000);
    expect(await sessions.fromCookieHeader(`${SESSION_COOKIE}=${s.token}`)).toBeNull();
    const s2 = await sessions.start('u1');
    await sessions.end(s2.sessionId);
    expect(await sessions.fromCookieHeader(`${SESSION_COOKIE}=${s2.token}`)).toBeNull();
  });

  it('tells which sessions are still live, and ends all of a user\'s sessions but one', async () => {
    const { repo, sessions } = setup();
    repo.users.set('u2', { id: 'u2', username: 'bob', role: 'viewer', disabled: false } as UserEntity);
    const [a, b, c] = [await sessions.start('u1'), await sessions.start('u1'), await sessions.start('u2')];
    expect(await sessions.liveIds([a.sessionId, b.sessionId, c.sessionId, 'unknown'])).toEqual([a.sessionId, b.sessionId, c.sessionId]);
    expect(await sessions.endOthersOfUser('u1', b.sessionId)).toBe(1);
    repo.users.get('u2')!.disabled = true;
    expect(await sessions.liveIds([a.sessionId, b.sessionId, c.sessionId])).toEqual([b.sessionId]);
  });

  it('slides the expiry forward when the session is used after a while', async () => {
    const { repo, sessions } = setup();
    const s = await sessions.start('u1');
    await sessions.fromToken(s.token);
    expect(repo.extend).not.toHaveBeenCalled();
    repo.rows[0].lastSeenAt = new Date(Date.now() - 5 * 60_000);
    repo.rows[0].expiresAt = new Date(Date.now() + 60_000);
    await sessions.fromToken(s.token);
    expect(repo.extend).toHaveBeenCalledTimes(1);
    expect(repo.rows[0].expiresAt.getTime()).toBeGreaterThan(Date.now() + 11 * 3_600_000);
  });

  it('derives a CSRF token per session that only matches that session', async () => {
    const { sessions } = setup();
    const a = await sessions.start('u1');
    const b = await sessions.start('u1');
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(sessions.csrfMatches(a.sessionId, a.csrfToken)).toBe(true);
    expect(sessions.csrfMatches(a.sessionId, b.csrfToken)).toBe(false);
    expect(sessions.csrfMatches(a.sessionId, undefined)).toBe(false);
    expect(sessions.csrfMatches(a.sessionId, 'short')).toBe(false);
  });
});
