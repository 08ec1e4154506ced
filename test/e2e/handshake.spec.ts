import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { io, Socket } from 'socket.io-client';
import { HANDSHAKE_MAX_SKEW_MS, MAX_MESSAGE_BYTES, UI_NAMESPACE, UI_UPDATES } from '@sysfleet/protocol';
import { apiRequest } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { FakeAgent, sampleFacts } from '../support/fake-agent';
import { waitFor } from '../support/ports';
import { ADMIN_PASSWORD, ServerProcess, startServer } from '../support/server';

interface HostBody { id: string; status: string; fingerprint: string; online: boolean; hostname: string; parentHostId: string | null; facts?: { hostname: string } }

describe('agent handshake and enrolment (fake agents, real server)', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let replicaB: ServerProcess | undefined;
  const redisPrefix = uniqueRedisPrefix('hs');
  let token: string;
  let sessionCookie: string;
  const agents: FakeAgent[] = [];
  const sockets: Socket[] = [];

  const api = <T = unknown>(method: string, path: string, body?: unknown) =>
    apiRequest<T>(server.url, method, path, body, { authorization: `Bearer ${token}` });

  const host = async (id: string) => (await api<HostBody>('GET', `/api/hosts/${id}`)).body;

  function agent(): FakeAgent {
    const a = new FakeAgent(server.url);
    agents.push(a);
    return a;
  }

  /** A connected agent that said hello (pending unless approved). */
  async function enrolled(opts: { hostname?: string; approve?: boolean } = {}): Promise<FakeAgent> {
    const a = agent();
    await a.connect();
    await a.hello({ facts: { hostname: opts.hostname ?? `h-${randomUUID().slice(0, 8)}` } });
    if (opts.approve) {
      expect((await api('POST', `/api/hosts/${a.hostId}/approve`)).status).toBe(200);
      await waitFor('approval pushed', () => a.statuses.some((s) => s.status === 'approved'));
    }
    return a;
  }

  beforeAll(async () => {
    db = await createTestDatabase('handshake');
    server = await startServer({ databaseUrl: db.url, redisPrefix });
    // Logged in here rather than with login() because the /ui tests need the session cookie it sets.
    const res = await apiRequest<{ token: string }>(server.url, 'POST', '/api/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
    expect(res.status).toBe(200);
    token = res.body.token;
    sessionCookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  });

  afterAll(async () => {
    for (const a of agents) a.disconnect();
    for (const s of sockets) s.disconnect();
    await replicaB?.stop();
    await server?.stop();
    await db?.drop();
  });

  it('stores a new key as a pending host showing its fingerprint, and keeps it connected', async () => {
    const a = agent();
    await a.connect();
    const ack = await a.hello({ facts: { hostname: 'web-1' } });
    expect(ack).toMatchObject({ hostId: expect.any(String), status: 'pending' });
    expect(await host(ack.hostId)).toMatchObject({ status: 'pending', fingerprint: a.fingerprint, hostname: 'web-1', online: false });
    const pending = await api<{ items: HostBody[]; total: number }>('GET', `/api/hosts?status=pending&q=${encodeURIComponent(a.fingerprint)}`);
    expect(pending.body.items.map((h) => h.id)).toEqual([ack.hostId]);
    expect(a.connected).toBe(true);
  });

  it('pushes an approval to the waiting agent at once and marks the host online; a reconnect is the same host', async () => {
    const a = await enrolled({ hostname: 'db-1' });
    expect((await api<HostBody>('POST', `/api/hosts/${a.hostId}/approve`)).body.status).toBe('approved');
    await waitFor('host.status approved', () => a.statuses.find((s) => s.status === 'approved' && s.hostId === a.hostId));
    await waitFor('online', async () => (await host(a.hostId!)).online);

    const before = (await api<{ total: number }>('GET', '/api/hosts?limit=1')).body.total;
    a.disconnect();
    await waitFor('offline after disconnect', async () => !(await host(a.hostId!)).online);
    await a.connect();
    const again = await a.hello({ facts: { hostname: 'db-1' } });
    expect(again).toEqual({ hostId: a.hostId, status: 'approved' });
    expect((await api<{ total: number }>('GET', '/api/hosts?limit=1')).body.total).toBe(before);
    await waitFor('online again', async () => (await host(a.hostId!)).online);
  });

  it('keeps two hosts with one hostname but different keys apart', async () => {
    const a = await enrolled({ hostname: 'twin' });
    const b = await enrolled({ hostname: 'twin' });
    expect(a.hostId).not.toBe(b.hostId);
    const list = await api<{ items: HostBody[] }>('GET', '/api/hosts?q=twin');
    expect(list.body.items.map((h) => h.fingerprint).sort()).toEqual([a.fingerprint, b.fingerprint].sort());
  });

  it('refuses a copied host id presented with another key', async () => {
    const victim = await enrolled({ approve: true });
    const thief = agent();
    expect(await thief.refusal({ overrides: { hostId: victim.hostId } })).toMatchObject({ code: 'HOST_KEY_MISMATCH', message: expect.stringContaining('another key') });
  });

  it('refuses a replayed handshake, a stale timestamp, a bad signature, another protocol version and garbage', async () => {
    const a = agent();
    await a.connect();
    a.disconnect();
    expect(await a.refusal({ auth: a.lastAuth })).toMatchObject({ code: 'NONCE_REUSED' });
    expect(await a.refusal({ overrides: { timestamp: Date.now() - HANDSHAKE_MAX_SKEW_MS - 10_000 } })).toMatchObject({ code: 'STALE_TIMESTAMP' });
    expect(await a.refusal({ overrides: { signature: Buffer.alloc(64).toString('base64') } })).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(await a.refusal({ overrides: { protocolVersion: 999 } })).toMatchObject({ code: 'PROTOCOL_VERSION', message: expect.stringContaining('999') });
    expect(await a.refusal({ auth: { hello: 'world' } })).toMatchObject({ code: 'INVALID_HANDSHAKE' });
    expect(await a.refusal({ overrides: { hostId: randomUUID() } })).toMatchObject({ code: 'HOST_UNKNOWN' });
  });

  it('rejecting a pending host tells and disconnects its agent, and its key is refused after', async () => {
    const a = await enrolled();
    const gone = a.disconnected();
    expect((await api<HostBody>('POST', `/api/hosts/${a.hostId}/reject`, { reason: 'not ours' })).body.status).toBe('rejected');
    await gone;
    expect(a.statuses).toContainEqual({ hostId: a.hostId, status: 'rejected', reason: 'not ours' });
    expect(await a.refusal()).toEqual({ code: 'HOST_REJECTED', message: expect.stringContaining('not ours') });
  });

  it('revoking disconnects the agent within a second; the key stays refused until the host is deleted', async () => {
    const a = await enrolled({ approve: true });
    const gone = a.disconnected();
    const res = await api<HostBody>('POST', `/api/hosts/${a.hostId}/revoke`);
    expect(res.body.status).toBe('revoked');
    const since = Date.now();
    await Promise.race([gone, new Promise((_, reject) => setTimeout(() => reject(new Error('still connected 1 s after revoke')), 1000))]);
    expect(Date.now() - since).toBeLessThan(1000);
    expect(await a.refusal()).toMatchObject({ code: 'HOST_REVOKED' });
    expect((await host(a.hostId!)).online).toBe(false);
    expect(await api('POST', `/api/hosts/${a.hostId}/approve`)).toMatchObject({ status: 409, body: { code: 'HOST_INVALID_TRANSITION' } });

    // Deleting forgets the key: the old id is unknown and the same key enrols again as a new pending host.
    const oldId = a.hostId!;
    expect((await api('DELETE', `/api/hosts/${oldId}`)).status).toBe(204);
    expect(await api('GET', `/api/hosts/${oldId}`)).toMatchObject({ status: 404, body: { code: 'HOST_NOT_FOUND' } });
    expect(await a.refusal()).toMatchObject({ code: 'HOST_UNKNOWN' });
    a.hostId = undefined;
    await a.connect();
    const fresh = await a.hello();
    expect(fresh.status).toBe('pending');
    expect(fresh.hostId).not.toBe(oldId);
  });

  it('deleting an approved host disconnects its agent', async () => {
    const a = await enrolled({ approve: true });
    const gone = a.disconnected();
    expect((await api('DELETE', `/api/hosts/${a.hostId}`)).status).toBe(204);
    await gone;
  });

  it('approves 20 hosts in one request, reports per id, and every agent hears it', async () => {
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => enrolled({ hostname: `bulk-${i}` })));
    const unknown = randomUUID();
    const res = await api<{ changed: number; results: { id: string; ok: boolean; code?: string }[] }>('POST', '/api/hosts/approve', { ids: [...many.map((a) => a.hostId), unknown] });
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(20);
    expect(res.body.results.filter((r) => r.ok)).toHaveLength(20);
    expect(res.body.results.find((r) => r.id === unknown)).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND' });
    await waitFor('all 20 told', () => many.every((a) => a.statuses.some((s) => s.status === 'approved')));
    await waitFor('all 20 online', async () => {
      const list = await api<{ items: HostBody[] }>('GET', '/api/hosts?q=bulk-&status=approved&online=true&limit=100');
      return list.body.items.length === 20;
    });
    expect(await api('POST', '/api/hosts/approve', { ids: ['not-a-uuid'] })).toMatchObject({ status: 400, body: { code: 'COMMON_VALIDATION' } });
  });

  it('enrolment tokens: single-use auto-approve works once, a second use or an expired token leaves the host pending', async () => {
    const created = await api<{ id: string; secret: string; state: string }>('POST', '/api/enrollment-tokens', { uses: 1, expiresInSeconds: 600, autoApprove: true, note: 'e2e' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^sfe_[A-Za-z0-9_-]{43}$/);

    const first = agent();
    await first.connect();
    expect((await first.hello({ enrollmentToken: created.body.secret })).status).toBe('approved');
    await waitFor('token host online', async () => (await host(first.hostId!)).online);

    const second = agent();
    await second.connect();
    expect((await second.hello({ enrollmentToken: created.body.secret })).status).toBe('pending');

    const expiring = await api<{ id: string; secret: string }>('POST', '/api/enrollment-tokens', { uses: 5, expiresInSeconds: 60, autoApprove: true });
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    await pg.query(`UPDATE enrollment_tokens SET "expiresAt" = now() - interval '1 second' WHERE id = $1`, [expiring.body.id]);
    await pg.end();
    const third = agent();
    await third.connect();
    expect((await third.hello({ enrollmentToken: expiring.body.secret })).status).toBe('pending');

    const list = await api<{ items: { id: string; state: string; usesLeft: number }[] }>('GET', '/api/enrollment-tokens');
    expect(JSON.stringify(list.body)).not.toContain(created.body.secret);
    expect(list.body.items.find((t) => t.id === created.body.id)).toMatchObject({ state: 'used-up', usesLeft: 0 });
    expect(list.body.items.find((t) => t.id === expiring.body.id)).toMatchObject({ state: 'expired', usesLeft: 5 });
    expect((await api('DELETE', `/api/enrollment-tokens/${expiring.body.id}`)).body).toMatchObject({ state: 'revoked' });
    expect(await api('POST', '/api/enrollment-tokens', { uses: 0, expiresInSeconds: 10 })).toMatchObject({ status: 400, body: { code: 'COMMON_VALIDATION' } });
  });

  it('drops malformed, oversized and unknown messages without breaking the connection', async () => {
    const pending = await enrolled();
    expect(await pending.request('job.progress', { jobId: randomUUID(), seq: 0, step: 's', message: 'm', at: new Date().toISOString() }))
      .toEqual({ ok: false, error: 'host not approved' });

    const a = await enrolled({ approve: true });
    expect(await a.request('agent.facts', { facts: { hostname: 42 } })).toMatchObject({ ok: false, error: expect.stringContaining('hostname') });
    expect(await a.request('agent.facts', 'not an object')).toMatchObject({ ok: false });
    expect(await a.request('agent.facts', { facts: sampleFacts(), extra: true })).toMatchObject({ ok: false });
    expect(await a.request('no.such.event', {})).toEqual({ ok: false, error: 'unknown event' });
    expect(await a.request('agent.hello', { facts: sampleFacts() }, 'second payload')).toMatchObject({ ok: false });
    const tooLong = { jobId: randomUUID(), seq: 1, step: 'x', message: 'y'.repeat(10_000), at: new Date().toISOString() };
    expect(await a.request('job.progress', tooLong)).toMatchObject({ ok: false, error: expect.stringContaining('message') });
    a.emitRaw('agent.facts', null);
    a.emitRaw('whatever');
    expect(await a.request('agent.facts', { facts: sampleFacts({ hostname: 'renamed' }) })).toEqual({ ok: true });
    expect(a.connected).toBe(true);
    expect(await host(a.hostId!)).toMatchObject({ hostname: 'renamed', status: 'approved', online: true, facts: expect.objectContaining({ hostname: 'renamed' }) });

    // Over MAX_MESSAGE_BYTES: refused with an error ack and logged, the connection stays as it was.
    const oversized = await a.request('agent.facts', { facts: sampleFacts({ hostname: 'too-big', kernel: 'k'.repeat(MAX_MESSAGE_BYTES + 1) }) });
    expect(oversized).toMatchObject({ ok: false, error: expect.stringContaining(`exceeds ${MAX_MESSAGE_BYTES}`) });
    expect(a.connected).toBe(true);
    await waitFor('oversized message logged', () => server.logs().includes(`dropped agent.facts from host ${a.hostId}: FactsPayload: payload of`));
    expect(await a.request('agent.facts', { facts: sampleFacts({ hostname: 'after-oversized' }) })).toEqual({ ok: true });
    expect(await host(a.hostId!)).toMatchObject({ hostname: 'after-oversized', online: true });

    // Beyond the transport bound (4 x MAX_MESSAGE_BYTES) socket.io closes the connection itself,
    // the server logs why, and the agent reconnects and carries on.
    const gone = a.disconnected();
    a.emitRaw('agent.facts', { facts: sampleFacts({ kernel: 'k'.repeat(4 * MAX_MESSAGE_BYTES + 1) }) });
    await gone;
    await waitFor('disconnect reason logged', () => server.logs().includes(`host ${a.hostId} disconnected: transport error`));
    await a.connect();
    expect((await a.hello()).hostId).toBe(a.hostId);
  });

  it('with two replicas, an approval or revoke made on one reaches an agent connected to the other', async () => {
    replicaB = await startServer({ databaseUrl: db.url, redisPrefix });
    const a = new FakeAgent(replicaB.url);
    agents.push(a);
    await a.connect();
    await a.hello({ facts: { hostname: 'on-replica-b' } });
    expect((await api('POST', `/api/hosts/${a.hostId}/approve`)).status).toBe(200);
    await waitFor('approval pushed across replicas', () => a.statuses.some((s) => s.status === 'approved'));
    await waitFor('online through replica B', async () => (await host(a.hostId!)).online);
    // Replica B made the connection ready: job events are accepted past the approval check.
    expect(await a.request('job.progress', { jobId: randomUUID(), seq: 0, step: 's', message: 'm', at: new Date().toISOString() })).not.toEqual({ ok: false, error: 'host not approved' });
    const gone = a.disconnected();
    await api('POST', `/api/hosts/${a.hostId}/revoke`);
    await Promise.race([gone, new Promise((_, reject) => setTimeout(() => reject(new Error('still connected to replica B 1 s after revoke')), 1000))]);
  });

  describe('/ui', () => {
    function ui(headers: Record<string, string>): Promise<Socket> {
      const s = io(server.url + UI_NAMESPACE, { transports: ['websocket'], extraHeaders: headers, reconnection: false, forceNew: true });
      sockets.push(s);
      return new Promise((resolve, reject) => {
        s.once('connect', () => resolve(s));
        s.once('connect_error', (e: Error & { data?: { code?: string } }) => reject(Object.assign(new Error(e.message), { code: e.data?.code })));
      });
    }

    it('pushes host.pending and host.updated live to a logged-in browser', async () => {
      const s = await ui({ cookie: sessionCookie, origin: server.url });
      const events: { event: string; payload: HostBody }[] = [];
      s.on(UI_UPDATES, (batch: [string, HostBody][]) => events.push(...batch.map(([event, payload]) => ({ event, payload }))));
      const a = await enrolled({ hostname: 'live-1' });
      const pendingEvent = await waitFor('host.pending', () => events.find((e) => e.event === 'host.pending' && e.payload.id === a.hostId));
      expect(pendingEvent.payload).toMatchObject({ fingerprint: a.fingerprint, status: 'pending', hostname: 'live-1' });
      await api('POST', `/api/hosts/${a.hostId}/approve`);
      await waitFor('host.updated approved', () => events.find((e) => e.event === 'host.updated' && e.payload.id === a.hostId && e.payload.status === 'approved'));
      await waitFor('host.updated online', () => events.find((e) => e.event === 'host.updated' && e.payload.id === a.hostId && e.payload.online));
      await api('DELETE', `/api/hosts/${a.hostId}`);
      await waitFor('host.removed', () => events.find((e) => e.event === 'host.removed' && e.payload.id === a.hostId));
    });

    it('refuses another origin and a missing session', async () => {
      await expect(ui({ cookie: sessionCookie, origin: 'https://evil.example' })).rejects.toMatchObject({ code: 'BAD_ORIGIN' });
      await expect(ui({ origin: server.url })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      await expect(ui({ cookie: 'sysfleet_session=forged', origin: server.url })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  });
});
