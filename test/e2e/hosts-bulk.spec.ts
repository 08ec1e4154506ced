import { randomUUID } from 'node:crypto';
import { ApiClient, login } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { FakeAgent } from '../support/fake-agent';
import { waitFor } from '../support/ports';
import { ServerProcess, startServer } from '../support/server';

interface HostBody { id: string; status: string; online: boolean; statusReason: string | null }
interface BulkBody { changed: number; results: { id: string; ok: boolean; status?: string; code?: string; message?: string }[] }
interface AuditBody { items: { actor: string; action: string; targetType: string | null; targetId: string | null; outcome: string; details: Record<string, unknown> | null }[]; total: number }

describe('bulk host rejection: POST /api/hosts/reject (fake agents, real server)', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let admin: ApiClient;
  const agents: FakeAgent[] = [];

  /** A connected agent that said hello: pending, or approved and online when asked. */
  async function enrolled(hostname: string, opts: { approve?: boolean } = {}): Promise<FakeAgent> {
    const a = new FakeAgent(server.url);
    agents.push(a);
    await a.connect();
    expect((await a.hello({ facts: { hostname } })).status).toBe('pending');
    if (opts.approve) {
      expect((await admin.post(`/api/hosts/${a.hostId}/approve`)).status).toBe(200);
      await waitFor('approval pushed', () => a.statuses.some((s) => s.status === 'approved'));
      await waitFor('approved host online', async () => (await admin.get<HostBody>(`/api/hosts/${a.hostId}`)).body.online);
    }
    return a;
  }

  const host = async (id: string) => (await admin.get<HostBody>(`/api/hosts/${id}`)).body;

  beforeAll(async () => {
    db = await createTestDatabase('hostsbulk');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('hb') });
    admin = await login(server.url);
  });

  afterAll(async () => {
    for (const a of agents) a.disconnect();
    await server?.stop();
    await db?.drop();
  });

  it('rejects every pending host in one request, audits each, reports the approved and unknown ones per id and leaves them alone', async () => {
    const pending = await Promise.all(['rj-1', 'rj-2', 'rj-3', 'rj-4'].map((name) => enrolled(name)));
    const approved = await enrolled('rj-keep', { approve: true });
    const unknown = randomUUID();
    const pendingIds = pending.map((a) => a.hostId!);
    const gone = pending.map((a) => a.disconnected());
    const statusesBefore = approved.statuses.length;

    const res = await admin.post<BulkBody>('/api/hosts/reject', { ids: [...pendingIds, approved.hostId, unknown] });
    expect(res.status).toBe(200);
    expect(res.body.changed).toBe(4);
    // One result per id, in the order asked.
    expect(res.body.results.map((r) => r.id)).toEqual([...pendingIds, approved.hostId, unknown]);
    for (const id of pendingIds) expect(res.body.results.find((r) => r.id === id)).toEqual({ id, ok: true, status: 'rejected' });
    expect(res.body.results.find((r) => r.id === approved.hostId)).toMatchObject({
      ok: false, status: 'approved', code: 'HOST_INVALID_TRANSITION', message: expect.stringContaining('revoke an approved host instead'),
    });
    expect(res.body.results.find((r) => r.id === unknown)).toMatchObject({ ok: false, code: 'HOST_NOT_FOUND' });

    // Each pending host is rejected, its agent is told and disconnected.
    for (const id of pendingIds) expect(await host(id)).toMatchObject({ status: 'rejected', online: false });
    await Promise.all(gone);
    for (const a of pending) expect(a.statuses).toContainEqual(expect.objectContaining({ hostId: a.hostId, status: 'rejected' }));

    // The approved host is as it was: approved, online, still connected, told nothing new.
    expect(await host(approved.hostId!)).toMatchObject({ status: 'approved', online: true, statusReason: null });
    expect(approved.connected).toBe(true);
    expect(approved.statuses).toHaveLength(statusesBefore);

    // One audit event per host, by the operator, with its outcome; plus the request itself.
    for (const id of pendingIds) {
      const events = await admin.get<AuditBody>('/api/audit-events', { targetType: 'host', targetId: id, action: 'host.reject' });
      expect(events.body.items).toEqual([
        expect.objectContaining({ actor: 'admin', action: 'host.reject', targetType: 'host', targetId: id, outcome: 'success', details: expect.objectContaining({ bulk: true, status: 'rejected' }) }),
      ]);
    }
    const refused = await admin.get<AuditBody>('/api/audit-events', { targetId: approved.hostId, action: 'host.reject' });
    expect(refused.body.items).toEqual([
      expect.objectContaining({ actor: 'admin', action: 'host.reject', outcome: 'failure', details: expect.objectContaining({ code: 'HOST_INVALID_TRANSITION' }) }),
    ]);
    expect((await admin.get<AuditBody>('/api/audit-events', { targetId: unknown })).body.items).toEqual([
      expect.objectContaining({ action: 'host.reject', outcome: 'failure', details: expect.objectContaining({ code: 'HOST_NOT_FOUND' }) }),
    ]);
    // The request's own event is written once its response has gone out.
    await waitFor('the bulk request audited', async () => (await admin.get<AuditBody>('/api/audit-events', { action: 'host.reject-many' })).body.total === 1);
    expect((await admin.get<AuditBody>('/api/audit-events', { action: 'host.reject-many' })).body.items[0]).toMatchObject({ actor: 'admin', outcome: 'success' });

    // A rejected agent is refused at its next handshake, with the reason code.
    for (const a of pending) {
      expect(await a.refusal()).toEqual({ code: 'HOST_REJECTED', message: expect.stringContaining('rejected by an operator') });
    }
    // The approved agent still reconnects and is the same approved host.
    approved.disconnect();
    await approved.connect();
    expect(await approved.hello({ facts: { hostname: 'rj-keep' } })).toEqual({ hostId: approved.hostId, status: 'approved' });
  });

  it('counts an already rejected host as done and changes nothing on a repeat', async () => {
    const a = await enrolled('rj-again');
    expect((await admin.post<BulkBody>('/api/hosts/reject', { ids: [a.hostId] })).body).toEqual({ changed: 1, results: [{ id: a.hostId, ok: true, status: 'rejected' }] });
    const repeat = await admin.post<BulkBody>('/api/hosts/reject', { ids: [a.hostId, a.hostId] });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual({ changed: 0, results: [{ id: a.hostId, ok: true, status: 'rejected' }] });
    expect((await host(a.hostId!)).status).toBe('rejected');
  });

  it('refuses a malformed request before touching any host', async () => {
    const a = await enrolled('rj-bad');
    expect(await admin.post('/api/hosts/reject', { ids: [] })).toMatchObject({ status: 400, body: { code: 'COMMON_VALIDATION' } });
    expect(await admin.post('/api/hosts/reject', { ids: [a.hostId, 'not-a-uuid'] })).toMatchObject({ status: 400, body: { code: 'COMMON_VALIDATION' } });
    expect(await admin.post('/api/hosts/reject', { ids: [a.hostId], reason: 'nope' })).toMatchObject({ status: 400, body: { code: 'COMMON_VALIDATION' } });
    expect((await host(a.hostId!)).status).toBe('pending');
    expect(a.connected).toBe(true);
  });
});
