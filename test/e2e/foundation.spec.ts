import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { ApiClient, apiRequest, login } from '../support/api';
import { createTestDatabase, TEST_REDIS_URL, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { FakeAgent } from '../support/fake-agent';
import { waitFor } from '../support/ports';
import { ADMIN_PASSWORD, ROOT, ServerProcess, startServer, TEST_SECRET } from '../support/server';

interface AuditEvent {
  actor: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  sourceIp: string | null;
  details: Record<string, unknown> | null;
}

describe('server foundation: operators, auth, audit, docs, metrics, static files', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let admin: ApiClient;
  let redisPrefix: string;
  const files = mkdtempSync(path.join(os.tmpdir(), 'sysfleet-foundation-'));
  const webDist = path.join(files, 'web');
  const agentBundle = path.join(files, 'sysfleet-agent.cjs');
  const bundleText = 'console.log("agent");\n';
  const viewer = { username: 'vera-viewer', password: 'viewer-password-1' };
  const operator = { username: 'otto-operator', password: 'operator-password-1' };
  let viewerId = '';
  let operatorId = '';

  const audit = async (query: Record<string, string>) =>
    (await admin.get<{ items: AuditEvent[]; total: number }>('/api/audit-events', { limit: 500, ...query })).body;

  beforeAll(async () => {
    mkdirSync(path.join(webDist, 'assets'), { recursive: true });
    writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><title>Sysfleet test UI</title>');
    writeFileSync(path.join(webDist, 'assets', 'app-1234.js'), 'export {};\n');
    writeFileSync(agentBundle, bundleText);
    db = await createTestDatabase('foundation');
    redisPrefix = uniqueRedisPrefix('foundation');
    server = await startServer({ databaseUrl: db.url, redisPrefix, env: { WEB_DIST: webDist, AGENT_BUNDLE: agentBundle } });
    admin = await login(server.url);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${redisPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    rmSync(files, { recursive: true, force: true });
  });

  it('logs in with a cookie (httpOnly, SameSite=Lax) and with a bearer token; /api/auth/me answers both', async () => {
    const res = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'Admin', password: ADMIN_PASSWORD }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; csrfToken: string; user: { username: string; role: string } };
    expect(body.user).toMatchObject({ username: 'admin', role: 'admin' });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toContain(`sysfleet_session=${body.token}`);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/i); // PUBLIC_URL is http here

    const byCookie = await apiRequest(server.url, 'GET', '/api/auth/me', undefined, { cookie: `sysfleet_session=${body.token}` });
    expect(byCookie.status).toBe(200);
    expect(byCookie.body).toEqual({ user: expect.objectContaining({ username: 'admin' }), csrfToken: body.csrfToken });
    const byBearer = await admin.get('/api/auth/me');
    expect(byBearer.status).toBe(200);
    expect(byBearer.body.user.username).toBe('admin');

    const anonymous = await apiRequest(server.url, 'GET', '/api/auth/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('AUTH_UNAUTHENTICATED');
    const badToken = await apiRequest(server.url, 'GET', '/api/users', undefined, { authorization: 'Bearer not-a-real-token' });
    expect(badToken.status).toBe(401);
  });

  it('refuses a cookie-authenticated change without the X-CSRF-Token header, and accepts it with the header', async () => {
    const cookie = `sysfleet_session=${admin.token}`;
    const refused = await apiRequest(server.url, 'POST', '/api/users', { ...viewer, role: 'viewer' }, { cookie });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('AUTH_CSRF');
    const wrong = await apiRequest(server.url, 'POST', '/api/users', { ...viewer, role: 'viewer' }, { cookie, 'x-csrf-token': 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    expect((await admin.get<{ username: string }[]>('/api/users')).body.map((u) => u.username)).toEqual(['admin']);

    const created = await apiRequest(server.url, 'POST', '/api/users', { ...viewer, role: 'viewer' }, { cookie, 'x-csrf-token': admin.csrfToken });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ username: viewer.username, role: 'viewer', disabled: false });
    expect(created.body).not.toHaveProperty('passwordHash');
    viewerId = created.body.id;
  });

  it('lets the admin create an operator; refuses a taken username', async () => {
    const created = await admin.post('/api/users', { ...operator, role: 'operator' });
    expect(created.status).toBe(201);
    operatorId = created.body.id;
    const again = await admin.post('/api/users', { username: operator.username.toUpperCase(), password: 'another-password', role: 'viewer' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('USERS_USERNAME_TAKEN');
    const list = await admin.get<{ username: string; role: string }[]>('/api/users');
    expect(list.body.map((u) => [u.username, u.role])).toEqual([['admin', 'admin'], [operator.username, 'operator'], [viewer.username, 'viewer']]);
  });

  it('names the bad fields in a validation error and writes nothing', async () => {
    const res = await admin.post('/api/users', { username: 'bad name!', password: 'short', role: 'boss', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('COMMON_VALIDATION');
    for (const field of ['username', 'password', 'role', 'extra']) expect(res.body.message).toContain(`${field}: `);
    expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['extra', 'password', 'role', 'username']);
    expect((await admin.get('/api/users')).body).toHaveLength(3);
    const tooBig = await admin.post('/api/users', { username: 'big', password: 'x'.repeat(1_100_000), role: 'viewer' });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe('COMMON_PAYLOAD_TOO_LARGE');
    const noBody = await apiRequest(server.url, 'POST', '/api/auth/login');
    expect(noBody.status).toBe(400);
    expect(noBody.body.message).toContain('username: ');
    const malformed = await fetch(`${server.url}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` }, body: '{"username": ' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe('COMMON_VALIDATION');
    const badQuery = await admin.get('/api/audit-events', { limit: 501 });
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.message).toMatch(/^limit: /);
  });

  it('lets a viewer read but not change; an operator cannot manage users', async () => {
    const v = await login(server.url, viewer.username, viewer.password);
    expect((await v.get('/api/auth/me')).body.user.role).toBe('viewer');
    expect((await v.get('/api/audit-events')).status).toBe(200);
    const vCreate = await v.post('/api/users', { username: 'sneaky', password: 'sneaky-password', role: 'admin' });
    expect(vCreate.status).toBe(403);
    expect(vCreate.body.code).toBe('AUTH_FORBIDDEN');
    expect((await v.get('/api/users')).status).toBe(403);

    const o = await login(server.url, operator.username, operator.password);
    expect((await o.get('/api/users')).status).toBe(403);
    const oPatch = await o.patch(`/api/users/${viewerId}`, { role: 'admin' });
    expect(oPatch.status).toBe(403);
    expect(oPatch.body.code).toBe('AUTH_FORBIDDEN');
    expect((await o.delete(`/api/users/${viewerId}`)).status).toBe(403);
    expect((await admin.get(`/api/users/${viewerId}`)).body.role).toBe('viewer');

    // A viewer may log out; the token is dead afterwards.
    expect((await v.post('/api/auth/logout')).status).toBe(204);
    expect((await v.get('/api/auth/me')).status).toBe(401);
  });

  it('refuses a viewer an operator action on a host that an operator may do; refuses an operator admin-only changes; audits each refusal', async () => {
    const agent = new FakeAgent(server.url);
    await agent.connect();
    const { hostId } = await agent.hello();
    agent.disconnect();
    expect((await admin.get(`/api/hosts/${hostId}`)).body.status).toBe('pending');

    const v = await login(server.url, viewer.username, viewer.password);
    const vApprove = await v.post(`/api/hosts/${hostId}/approve`);
    expect(vApprove.status).toBe(403);
    expect(vApprove.body.code).toBe('AUTH_FORBIDDEN');
    expect((await admin.get(`/api/hosts/${hostId}`)).body.status).toBe('pending');

    const o = await login(server.url, operator.username, operator.password);
    const oApprove = await o.post(`/api/hosts/${hostId}/approve`);
    expect(oApprove.status).toBe(200);
    expect(oApprove.body).toMatchObject({ id: hostId, status: 'approved' });
    expect((await admin.get(`/api/hosts/${hostId}`)).body.status).toBe('approved');

    const oToken = await o.post('/api/enrollment-tokens', { expiresInSeconds: 3600, note: 'operator token' });
    expect(oToken.status).toBe(403);
    expect(oToken.body.code).toBe('AUTH_FORBIDDEN');
    const oUser = await o.post('/api/users', { username: 'operator-made', password: 'operator-made-password', role: 'viewer' });
    expect(oUser.status).toBe(403);
    expect(oUser.body.code).toBe('AUTH_FORBIDDEN');
    expect((await admin.get<{ username: string }[]>('/api/users')).body.map((u) => u.username)).not.toContain('operator-made');
    expect((await admin.get('/api/enrollment-tokens')).body.total).toBe(0);

    // Events are written once each response is done: wait for the last one.
    await waitFor('the refused user.create in the audit log', async () => (await audit({ action: 'user.create', actor: operator.username })).total === 1);
    const approvals = (await audit({ action: 'host.approve' })).items.map((e) => [e.actor, e.targetId, e.outcome, e.details?.code ?? null]);
    expect(approvals).toEqual(expect.arrayContaining([[viewer.username, hostId, 'failure', 'AUTH_FORBIDDEN'], [operator.username, hostId, 'success', null]]));
    const byOperator = (await audit({ actor: operator.username, outcome: 'failure' })).items.map((e) => [e.action, e.details?.status, e.details?.code]);
    expect(byOperator).toEqual(expect.arrayContaining([['enrollment-token.create', 403, 'AUTH_FORBIDDEN'], ['user.create', 403, 'AUTH_FORBIDDEN']]));
  });

  it('never removes the last admin, and ends the sessions of a disabled user or a reset password', async () => {
    const demote = await admin.patch(`/api/users/${admin.user.id}`, { role: 'operator' });
    expect(demote.status).toBe(409);
    expect(demote.body.code).toBe('USERS_LAST_ADMIN');
    expect((await admin.delete(`/api/users/${admin.user.id}`)).body.code).toBe('USERS_LAST_ADMIN');

    const o = await login(server.url, operator.username, operator.password);
    expect((await admin.patch(`/api/users/${operatorId}`, { disabled: true })).body.disabled).toBe(true);
    expect((await o.get('/api/auth/me')).status).toBe(401);
    await expect(login(server.url, operator.username, operator.password)).rejects.toThrow(/401/);
    await admin.patch(`/api/users/${operatorId}`, { disabled: false });

    const o2 = await login(server.url, operator.username, operator.password);
    expect((await admin.post(`/api/users/${operatorId}/password`, { password: 'operator-password-2' })).status).toBe(204);
    expect((await o2.get('/api/auth/me')).status).toBe(401);
    const o3 = await login(server.url, operator.username, 'operator-password-2');
    expect(o3.user.role).toBe('operator');
  });

  it('answers a wrong password with 401 and then rate-limits the username with 429', async () => {
    const attempt = () => apiRequest(server.url, 'POST', '/api/auth/login', { username: 'rate-limit-target', password: 'guess-password' });
    for (let i = 0; i < 10; i++) {
      const res = await attempt();
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('AUTH_INVALID_CREDENTIALS');
    }
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('AUTH_RATE_LIMITED');
    expect(limited.body.details.retryAfterSeconds).toBeGreaterThan(0);
    // Other usernames from the same address still get in.
    expect((await login(server.url)).user.username).toBe('admin');
  });

  it('records every change, refused ones included, with actor, action, target, outcome and source IP', async () => {
    const created = await waitFor('user.create events', async () => {
      const page = await audit({ action: 'user.create' });
      return page.items.length >= 6 && page;
    });
    const byActorOutcome = created.items.map((e) => `${e.actor} ${e.outcome} ${e.details?.code ?? ''}`.trim());
    expect(byActorOutcome).toEqual(
      expect.arrayContaining([
        'admin failure AUTH_CSRF',
        'admin success',
        'admin failure USERS_USERNAME_TAKEN',
        'admin failure COMMON_VALIDATION',
        'vera-viewer failure AUTH_FORBIDDEN',
      ]),
    );
    const ok = created.items.find((e) => e.outcome === 'success' && e.targetId === viewerId)!;
    expect(ok).toMatchObject({ actor: 'admin', actorId: admin.user.id, action: 'user.create', targetType: 'user', sourceIp: '127.0.0.1' });

    const refusedPatch = await audit({ action: 'user.update', actor: operator.username });
    expect(refusedPatch.items[0]).toMatchObject({ outcome: 'failure', targetId: viewerId, details: expect.objectContaining({ status: 403, code: 'AUTH_FORBIDDEN' }) });

    const failedLogins = await audit({ action: 'auth.login', outcome: 'failure' });
    const guessed = failedLogins.items.filter((e) => e.details?.username === 'rate-limit-target');
    expect(guessed).toHaveLength(11);
    expect(guessed.every((e) => e.actor === 'anonymous' && e.sourceIp === '127.0.0.1')).toBe(true);
    expect(JSON.stringify(failedLogins)).not.toContain('guess-password');
    const logins = await audit({ action: 'auth.login', outcome: 'success', actor: 'admin' });
    expect(logins.items[0]).toMatchObject({ targetType: 'user', targetId: admin.user.id, actorId: admin.user.id });

    const page = await audit({ limit: '2', offset: '1' });
    expect(page.items).toHaveLength(2);
    expect(page.total).toBeGreaterThan(20);
  });

  it('reports postgres and redis up on /health', async () => {
    const res = await apiRequest(server.url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body.info).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });

  it('serves Prometheus metrics with the HTTP duration histogram by route pattern', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/api\/auth\/login",status="429"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="PATCH",route="\/api\/users\/:id",status="403"\} \d+/);
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('logs JSON lines with level and msg; login lines carry neither the password nor the tokens', async () => {
    const lines = server.logs().split('\n').filter((l) => l.trim());
    const entries = lines.map((line) => {
      try {
        return JSON.parse(line) as { level: unknown; msg: unknown; req?: { url?: string; headers?: Record<string, string> }; res?: { statusCode?: number } };
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
    expect(entries.length).toBeGreaterThan(20);
    for (const e of entries) {
      expect(typeof e.level).toBe('number');
      expect(typeof e.msg).toBe('string');
    }
    const loginLines = lines.filter((_, i) => entries[i].req?.url === '/api/auth/login');
    const completed = entries.filter((e) => e.req?.url === '/api/auth/login' && e.msg === 'request completed');
    expect(completed.map((e) => e.res?.statusCode)).toEqual(expect.arrayContaining([200, 401, 429]));
    for (const secret of [ADMIN_PASSWORD, 'guess-password', viewer.password, operator.password]) expect(loginLines.join('\n')).not.toContain(secret);
    // Tokens and cookies are redacted from every request line.
    expect(server.logs()).not.toContain(admin.token);
    expect(entries.some((e) => e.req?.headers?.authorization === '[Redacted]')).toBe(true);
    expect(entries.some((e) => e.req?.headers?.cookie === '[Redacted]')).toBe(true);
  });

  it('publishes the OpenAPI document with both auth schemes, and the Swagger UI', async () => {
    const doc = (await apiRequest(server.url, 'GET', '/api/openapi.json')).body;
    for (const p of ['/api/auth/login', '/api/auth/logout', '/api/auth/me', '/api/users', '/api/users/{id}', '/api/users/{id}/password', '/api/audit-events']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'cookie']);
    expect(doc.components.schemas.CreateUserDto.required).toEqual(expect.arrayContaining(['username', 'password', 'role']));
    const ui = await fetch(`${server.url}/api/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger-ui');
  });

  it('sets security headers and serves the web UI with a fallback to index.html, but not for API paths', async () => {
    const res = await fetch(`${server.url}/hosts/some-host`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Sysfleet test UI');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-powered-by')).toBeNull();
    const asset = await fetch(`${server.url}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const api404 = await apiRequest(server.url, 'GET', '/api/no-such-thing', undefined, { authorization: `Bearer ${admin.token}` });
    expect(api404.status).toBe(404);
    expect(api404.body.code).toBe('COMMON_NOT_FOUND');
  });

  it('serves the agent bundle and its SHA-256 without login', async () => {
    const bundle = await fetch(`${server.url}/agent/sysfleet-agent.cjs`);
    expect(bundle.status).toBe(200);
    expect(await bundle.text()).toBe(bundleText);
    const sum = await (await fetch(`${server.url}/agent/sysfleet-agent.cjs.sha256`)).text();
    expect(sum.split(/\s+/)[0]).toBe(createHash('sha256').update(bundleText).digest('hex'));
  });

  /** Starts the built server with the running one's env changed by `changes`, and waits for it to exit. */
  const exitOf = (changes: Record<string, string>) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'apps/server/dist/main.js')], { env: { ...server.env, ...changes }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    return new Promise<{ code: number | null; out: string }>((resolve) => proc.once('exit', (code) => resolve({ code, out })));
  };

  it('refuses to start with a bad DATABASE_URL, naming the variable', async () => {
    const { code, out } = await exitOf({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere', PORT: '1' });
    expect(code).toBe(69);
    expect(out).toContain('DATABASE_URL');
    expect(out).toContain('127.0.0.1:1/nowhere');
    expect(out).not.toContain(TEST_SECRET);
  });

  it('refuses to start with a bad setting (exit 78) or an unreachable Redis (exit 69), naming the variable', async () => {
    const badPort = await exitOf({ PORT: 'abc' });
    expect(badPort.code).toBe(78);
    expect(badPort.out).toMatch(/^sysfleet-server: Invalid configuration:\n {2}PORT: .*must be an integer number\n$/);
    expect(badPort.out).not.toMatch(/DATABASE_URL|REDIS_URL|SYSFLEET_SECRET/);
    // The server checks Redis before it starts, so /health never gets to answer 503 for a Redis that was down from the start.
    const noRedis = await exitOf({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(noRedis.code).toBe(69);
    expect(noRedis.out).toContain('cannot use Redis at REDIS_URL (127.0.0.1:1');
  });

  it('shuts down on SIGTERM without being killed', async () => {
    await server.stop('SIGTERM');
    expect(server.proc.signalCode === 'SIGTERM' || server.proc.exitCode === 0).toBe(true);
  });
});
