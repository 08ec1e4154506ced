import { UI_NAMESPACE } from '@sysfleet/protocol';
import { io, Socket } from 'socket.io-client';
import { apiRequest, login } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { waitFor } from '../support/ports';
import { ServerProcess, startServer } from '../support/server';

/** Operator sessions end everywhere at once: the API refuses them and their live /ui sockets close. */
describe('sessions: own password change, logout and live connections', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let replicaB: ServerProcess;
  const sockets: Socket[] = [];
  const OLD = 'carol-first-password';
  const NEW = 'carol-second-password';

  /** Logs in with a cookie, as a browser does: the cookie, the CSRF token and the bearer token. */
  async function browserLogin(baseUrl: string, password: string) {
    const res = await apiRequest<{ token: string; csrfToken: string }>(baseUrl, 'POST', '/api/auth/login', { username: 'carol', password });
    expect(res.status).toBe(200);
    return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0], csrf: res.body.csrfToken, token: res.body.token };
  }

  function ui(baseUrl: string, cookie: string): Promise<Socket> {
    const s = io(baseUrl + UI_NAMESPACE, { transports: ['websocket'], extraHeaders: { cookie, origin: server.url }, reconnection: false, forceNew: true });
    sockets.push(s);
    return new Promise((resolve, reject) => {
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
  }
  const closed = (s: Socket) => new Promise<void>((resolve) => (s.connected ? s.once('disconnect', () => resolve()) : resolve()));

  beforeAll(async () => {
    db = await createTestDatabase('sessions');
    const redisPrefix = uniqueRedisPrefix();
    // B allows the browser origin of A (one site, two replicas); both check their sockets' sessions every second.
    server = await startServer({ databaseUrl: db.url, redisPrefix, env: { UI_SESSION_CHECK_SECONDS: '1' } });
    replicaB = await startServer({ databaseUrl: db.url, redisPrefix, env: { UI_SESSION_CHECK_SECONDS: '1', PUBLIC_URL: server.url } });
    const admin = await login(server.url);
    expect((await admin.post('/api/users', { username: 'carol', password: OLD, role: 'operator' })).status).toBe(201);
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await replicaB?.stop();
    await server?.stop();
    await db?.drop();
  });

  it('logging out closes that session\'s live socket on another replica at once, and only that one', async () => {
    const a = await browserLogin(server.url, OLD);
    const b = await browserLogin(server.url, OLD);
    const socketA = await ui(replicaB.url, a.cookie);
    const socketB = await ui(replicaB.url, b.cookie);
    const started = Date.now();
    const out = await apiRequest(server.url, 'POST', '/api/auth/logout', undefined, { cookie: a.cookie, 'x-csrf-token': a.csrf, origin: server.url });
    expect(out.status).toBe(204);
    await closed(socketA);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(socketB.connected).toBe(true);
    expect((await apiRequest(server.url, 'GET', '/api/auth/me', undefined, { cookie: a.cookie })).status).toBe(401);
  });

  it('changes the own password only with the current one, and ends every other session of the user', async () => {
    const keep = await login(server.url, 'carol', OLD);
    const other = await browserLogin(server.url, OLD);
    const otherSocket = await ui(replicaB.url, other.cookie);

    const wrong = await keep.post('/api/auth/password', { currentPassword: 'not-the-password', newPassword: NEW });
    expect(wrong).toMatchObject({ status: 400, body: { code: 'AUTH_WRONG_PASSWORD' } });
    const short = await keep.post('/api/auth/password', { currentPassword: OLD, newPassword: 'short' });
    expect(short.status).toBe(400);
    expect(JSON.stringify(short.body)).toContain('newPassword');
    expect(otherSocket.connected).toBe(true);

    expect((await keep.post('/api/auth/password', { currentPassword: OLD, newPassword: NEW })).status).toBe(204);
    // The session that changed it goes on; the other one is refused and its socket closed by the sweep.
    expect((await keep.get('/api/auth/me')).status).toBe(200);
    expect((await apiRequest(server.url, 'GET', '/api/auth/me', undefined, { cookie: other.cookie })).status).toBe(401);
    await waitFor('the other session\'s socket closed', () => !otherSocket.connected, 5000);
    expect((await apiRequest(server.url, 'POST', '/api/auth/login', { username: 'carol', password: OLD })).status).toBe(401);
    await login(server.url, 'carol', NEW);

    const admin = await login(server.url);
    const audit = await admin.get<{ items: { action: string; outcome: string; targetId: string }[] }>('/api/audit-events', { action: 'auth.password' });
    expect(audit.body.items.map((e) => e.outcome).sort()).toEqual(['failure', 'failure', 'success']);
    expect(audit.body.items.find((e) => e.outcome === 'success')?.targetId).toBe(keep.user.id);
    // No password in the audit log or the server's output.
    for (const secret of [OLD, NEW, 'not-the-password']) {
      expect(JSON.stringify(audit.body)).not.toContain(secret);
      expect(server.logs()).not.toContain(secret);
    }
  });
});
