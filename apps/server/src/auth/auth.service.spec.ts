import type Redis from 'ioredis';
import type { EnvironmentVariables } from '../config/config';
import type { UserEntity } from '../users/users.entity';
import type { UsersService } from '../users/users.service';
import type { UiEvents } from '../ui-gateway/ui-events.service';
import { AuthService } from './auth.service';
import type { SessionsService, StartedSession } from './sessions.service';

/** The few Redis commands the login limiter uses, in memory. */
class FakeRedis {
  values = new Map<string, number>();
  ttls = new Map<string, number>();
  mget = async (...keys: string[]) => keys.map((k) => (this.values.has(k) ? String(this.values.get(k)) : null));
  incr = async (k: string) => {
    this.values.set(k, (this.values.get(k) ?? 0) + 1);
    return this.values.get(k)!;
  };
  expire = async (k: string, s: number) => {
    this.ttls.set(k, s);
    return 1;
  };
  ttl = async (k: string) => this.ttls.get(k) ?? -1;
  del = async (k: string) => Number(this.values.delete(k));
}

const config = { REDIS_PREFIX: 'p', LOGIN_MAX_FAILURES_PER_USER: 3, LOGIN_MAX_FAILURES_PER_IP: 5, LOGIN_FAILURE_WINDOW_SECONDS: 300 } as EnvironmentVariables;
const alice = { id: 'u1', username: 'alice', role: 'operator', disabled: false } as UserEntity;

function setup() {
  const redis = new FakeRedis();
  const users = {
    verifyCredentials: jest.fn(async (username: string, password: string) => (username.toLowerCase() === 'alice' && password === 'right-password' ? alice : null)),
    recordLogin: jest.fn(async () => undefined),
    resetPassword: jest.fn(async () => undefined),
  };
  const session: StartedSession = { sessionId: 's1', token: 'tok', csrfToken: 'csrf', expiresAt: new Date() };
  const sessions = { start: jest.fn(async () => session), end: jest.fn(async () => undefined) };
  const ui = { closeSession: jest.fn() };
  const auth = new AuthService(users as unknown as UsersService, sessions as unknown as SessionsService, config, redis as unknown as Redis, ui as unknown as UiEvents);
  return { auth, users, sessions, redis, ui };
}
const from = (ip: string) => ({ sourceIp: ip, userAgent: 'jest' });

describe('AuthService.login', () => {
  it('starts a session and records the login for the right password', async () => {
    const { auth, sessions, users } = setup();
    const { user, session } = await auth.login('alice', 'right-password', from('10.0.0.1'));
    expect(user.id).toBe('u1');
    expect(session.token).toBe('tok');
    expect(sessions.start).toHaveBeenCalledWith('u1', from('10.0.0.1'));
    expect(users.recordLogin).toHaveBeenCalledWith(alice);
  });

  it('answers a wrong password and an unknown user with the same error', async () => {
    const { auth, sessions } = setup();
    const wrong = await auth.login('alice', 'nope', from('10.0.0.1')).catch((e: unknown) => e);
    const unknown = await auth.login('mallory', 'nope', from('10.0.0.1')).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS', status: 401 });
    expect(unknown).toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS', status: 401, message: (wrong as Error).message });
    expect(sessions.start).not.toHaveBeenCalled();
  });

  it('refuses a username after too many failures, even with the right password, from any IP', async () => {
    const { auth, users } = setup();
    for (let i = 0; i < 3; i++) await expect(auth.login('Alice', 'nope', from(`10.0.0.${i}`))).rejects.toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS' });
    const err = await auth.login('alice', 'right-password', from('10.9.9.9')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_RATE_LIMITED', status: 429, details: { retryAfterSeconds: 300 } });
    // A limited attempt does not even get to check the password.
    expect(users.verifyCredentials).toHaveBeenCalledTimes(3);
  });

  it('refuses an IP after too many failures across usernames', async () => {
    const { auth } = setup();
    for (let i = 0; i < 5; i++) await expect(auth.login(`user${i}`, 'nope', from('10.0.0.7'))).rejects.toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS' });
    await expect(auth.login('alice', 'right-password', from('10.0.0.7'))).rejects.toMatchObject({ code: 'AUTH_RATE_LIMITED' });
    await expect(auth.login('alice', 'right-password', from('10.0.0.8'))).resolves.toMatchObject({ user: { id: 'u1' } });
  });

  it('forgives the username after a successful login, but not the IP', async () => {
    const { auth, redis } = setup();
    for (let i = 0; i < 2; i++) await auth.login('alice', 'nope', from('10.0.0.1')).catch(() => undefined);
    await auth.login('alice', 'right-password', from('10.0.0.1'));
    expect(redis.values.get('p:login-failures:user:alice')).toBeUndefined();
    expect(redis.values.get('p:login-failures:ip:10.0.0.1')).toBe(2);
    expect(redis.ttls.get('p:login-failures:ip:10.0.0.1')).toBe(300);
  });
});

describe('AuthService.logout and changePassword', () => {
  const actor = { userId: 'u1', username: 'alice', role: 'operator' as const };

  it('ends the session and closes its live /ui connections', async () => {
    const { auth, sessions, ui } = setup();
    await auth.logout('s1');
    expect(sessions.end).toHaveBeenCalledWith('s1');
    expect(ui.closeSession).toHaveBeenCalledWith('s1');
  });

  it('sets the new password keeping only the session that changed it, when the current one is right', async () => {
    const { auth, users } = setup();
    await auth.changePassword(actor, 's1', 'right-password', 'a-new-long-password', '10.0.0.1');
    expect(users.resetPassword).toHaveBeenCalledWith('u1', 'a-new-long-password', 's1');
  });

  it('refuses a wrong current password, counts it as a failed login, and locks out after the limit', async () => {
    const { auth, users } = setup();
    for (let i = 0; i < 3; i++) {
      await expect(auth.changePassword(actor, 's1', 'guess', 'a-new-long-password', '10.0.0.1')).rejects.toMatchObject({ code: 'AUTH_WRONG_PASSWORD', status: 400 });
    }
    await expect(auth.changePassword(actor, 's1', 'right-password', 'a-new-long-password', '10.0.0.1')).rejects.toMatchObject({ code: 'AUTH_RATE_LIMITED' });
    expect(users.resetPassword).not.toHaveBeenCalled();
  });
});
