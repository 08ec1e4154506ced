/**
 * The distribution catalogue and the children API's refusals over HTTP against the real server:
 * who may change the catalogue (admins only), that each change is an audit event, that a bad body
 * is refused naming its field, that ?childType= filters; a child create with a bad name is refused
 * before any job is made; and the capacity a host reports for a new VM.
 */
import { ApiClient, login } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { FakeAgent } from '../support/fake-agent';
import { ServerProcess, startServer } from '../support/server';
import { waitFor } from '../support/ports';

interface Distribution { id: string; childType: string; name: string; version: string; enabled: boolean; displayName: string; defaultMemoryMb: number }
interface AuditEvent { actor: string; action: string; targetType: string | null; targetId: string | null; outcome: string; details: Record<string, unknown> | null }

const GIB = 1024 ** 3;
const PASSWORD = 'a-long-enough-password-1';

const body = (over: Record<string, unknown> = {}) => ({
  childType: 'kvm', name: 'e2e-debian', version: '12', displayName: 'E2E Debian 12', installIdentifier: 'debian12',
  imageUrl: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2',
  checksumUrl: 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS',
  defaultVcpus: 2, defaultMemoryMb: 2048, defaultDiskGb: 20,
  installCommands: ["curl -fsSL '{{serverUrl}}/agent/sysfleet-agent.cjs' -o /tmp/agent.cjs"], appliance: false, ...over,
});

describe('distributions and child requests over HTTP', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let admin: ApiClient;
  let operator: ApiClient;
  let viewer: ApiClient;
  const agents: FakeAgent[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('distributions');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('distributions') });
    admin = await login(server.url);
    for (const role of ['operator', 'viewer']) {
      expect((await admin.post('/api/users', { username: `e2e-${role}`, password: PASSWORD, role })).status).toBe(201);
    }
    operator = await login(server.url, 'e2e-operator', PASSWORD);
    viewer = await login(server.url, 'e2e-viewer', PASSWORD);
  });

  afterAll(async () => {
    for (const a of agents) a.disconnect();
    await server?.stop();
    await db?.drop();
  });

  /** The audit events of `action` on `targetId`, oldest first. */
  async function audits(action: string, targetId?: string): Promise<AuditEvent[]> {
    const res = await admin.get<{ items: AuditEvent[] }>('/api/audit-events', { action, ...(targetId && { targetId }), limit: 100 });
    expect(res.status).toBe(200);
    return res.body.items.filter((e) => e.action === action).reverse();
  }

  /** An approved, connected host with the facts given (a protocol-speaking stand-in for the agent). */
  async function approvedHost(facts: NonNullable<Parameters<FakeAgent['hello']>[0]>['facts']): Promise<string> {
    const token = (await admin.post('/api/enrollment-tokens', { uses: 1, expiresInSeconds: 600, autoApprove: true })).body.secret as string;
    const agent = new FakeAgent(server.url);
    agents.push(agent);
    await agent.connect();
    const hello = await agent.hello({ facts, enrollmentToken: token });
    expect(hello.status).toBe('approved');
    return hello.hostId;
  }

  it('an operator can read the catalogue but not change it; each refusal is audited as a failure', async () => {
    const seeded = (await admin.get<Distribution[]>('/api/distributions')).body;
    const target = seeded.find((d) => d.childType === 'kvm')!;
    expect((await operator.get('/api/distributions')).status).toBe(200);
    expect((await operator.get(`/api/distributions/${target.id}`)).status).toBe(200);

    const attempts: [string, () => Promise<{ status: number; body: { code?: string } }>][] = [
      ['distribution.create', () => operator.post('/api/distributions', body({ name: 'operator-made' }))],
      ['distribution.update', () => operator.patch(`/api/distributions/${target.id}`, { displayName: 'hijacked' })],
      ['distribution.enable', () => operator.post(`/api/distributions/${target.id}/enable`)],
      ['distribution.disable', () => operator.post(`/api/distributions/${target.id}/disable`)],
      ['distribution.delete', () => operator.delete(`/api/distributions/${target.id}`)],
    ];
    for (const [action, attempt] of attempts) {
      const res = await attempt();
      expect({ action, status: res.status, code: res.body?.code }).toEqual({ action, status: 403, code: 'AUTH_FORBIDDEN' });
      // A refusal is audited when its response has gone out: it may land a moment after the 403.
      const last = await waitFor(`${action} refusal audited`, async () => (await audits(action)).find((e) => e.outcome === 'failure'));
      expect(last).toMatchObject({ actor: 'e2e-operator', outcome: 'failure' });
    }
    // Nothing changed.
    expect((await admin.get<Distribution>(`/api/distributions/${target.id}`)).body).toEqual(target);
    expect((await admin.get<Distribution[]>('/api/distributions')).body.map((d) => d.name)).not.toContain('operator-made');
  });

  it('an admin creates, updates, disables, enables and deletes an entry; each step is an audit event on it', async () => {
    const created = await admin.post<Distribution>('/api/distributions', body());
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({ childType: 'kvm', name: 'e2e-debian', version: '12', enabled: true });

    const updated = await admin.patch<Distribution>(`/api/distributions/${id}`, { displayName: 'E2E Debian bookworm', defaultMemoryMb: 1024 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ displayName: 'E2E Debian bookworm', defaultMemoryMb: 1024 });
    expect((await admin.post<Distribution>(`/api/distributions/${id}/disable`)).body.enabled).toBe(false);
    expect((await admin.get<Distribution[]>('/api/distributions', { childType: 'kvm', enabled: true })).body.map((d) => d.id)).not.toContain(id);
    expect((await admin.post<Distribution>(`/api/distributions/${id}/enable`)).body.enabled).toBe(true);
    expect((await admin.delete(`/api/distributions/${id}`)).status).toBe(204);
    expect((await admin.get(`/api/distributions/${id}`)).status).toBe(404);

    for (const action of ['distribution.create', 'distribution.update', 'distribution.disable', 'distribution.enable', 'distribution.delete']) {
      expect({ action, events: (await audits(action, id)).map((e) => [e.actor, e.targetType, e.outcome]) }).toEqual({ action, events: [['admin', 'distribution', 'success']] });
    }
  });

  it('refuses an invalid body with 400 naming the field, and stores nothing', async () => {
    const before = (await admin.get<Distribution[]>('/api/distributions')).body.length;
    const cases: [Record<string, unknown>, string][] = [
      [body({ name: 'bad name!' }), 'name'],
      [body({ sha256: 'ABC' }), 'sha256'],
      [body({ defaultMemoryMb: 64 }), 'defaultMemoryMb'],
      [body({ installCommands: ['echo {{password}}'] }), 'installCommands'],
      [body({ childType: 'xen' }), 'childType'],
      [body({ imageUrl: 'ftp://example.org/x.img' }), 'imageUrl'],
    ];
    for (const [payload, field] of cases) {
      const res = await admin.post('/api/distributions', payload);
      expect({ field, status: res.status, code: res.body.code }).toEqual({ field, status: 400, code: 'COMMON_VALIDATION' });
      expect((res.body.details as { field: string }[]).map((d) => d.field)).toContain(field);
      expect(res.body.message).toContain(field);
    }
    const seeded = (await admin.get<Distribution[]>('/api/distributions')).body[0];
    const patch = await admin.patch(`/api/distributions/${seeded.id}`, { defaultVcpus: 0 });
    expect(patch.status).toBe(400);
    expect((patch.body.details as { field: string }[]).map((d) => d.field)).toContain('defaultVcpus');
    expect((await admin.get<Distribution[]>('/api/distributions')).body).toHaveLength(before);
    expect((await admin.get<Distribution>(`/api/distributions/${seeded.id}`)).body).toEqual(seeded);
  });

  it('?childType= lists only that type', async () => {
    const all = (await operator.get<Distribution[]>('/api/distributions')).body;
    for (const type of ['kvm', 'vmm', 'wsl']) {
      const listed = (await operator.get<Distribution[]>('/api/distributions', { childType: type })).body;
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.every((d) => d.childType === type)).toBe(true);
      expect(listed.map((d) => d.id).sort()).toEqual(all.filter((d) => d.childType === type).map((d) => d.id).sort());
    }
    expect((await operator.get('/api/distributions', { childType: 'xen' })).status).toBe(400);
  });

  it('a child create with an invalid name is refused with 400 naming the field, and no job or child is made', async () => {
    const hostId = await approvedHost({});
    const distribution = (await admin.get<Distribution[]>('/api/distributions', { childType: 'kvm', enabled: true })).body[0];
    const request = { childType: 'kvm', distributionId: distribution.id, hostname: 'web1', vcpus: 1, memoryMb: 512, diskGb: 5, username: 'ops' };
    for (const name of ['bad name', '-dash-first', 'a'.repeat(64), '../etc']) {
      const res = await operator.post(`/api/hosts/${hostId}/children`, { ...request, name });
      expect({ name, status: res.status, code: res.body.code }).toEqual({ name, status: 400, code: 'COMMON_VALIDATION' });
      expect((res.body.details as { field: string }[]).map((d) => d.field)).toEqual(['name']);
    }
    expect((await admin.get('/api/jobs', { hostId })).body.total).toBe(0);
    expect((await admin.get(`/api/hosts/${hostId}/children`)).body).toEqual([]);
  });

  it('reports the capacity for a new VM to viewers and operators: free minus the reserve, on the disk the VM store is on', async () => {
    const hostId = await approvedHost({
      memoryFreeBytes: 8 * GIB,
      disks: [{ mount: '/', sizeBytes: 40 * GIB, freeBytes: 30 * GIB }, { mount: '/var/lib/libvirt', sizeBytes: 500 * GIB, freeBytes: 200 * GIB }, { mount: '/srv', sizeBytes: 900 * GIB, freeBytes: 800 * GIB }],
    });
    for (const client of [viewer, operator]) {
      const res = await client.get(`/api/hosts/${hostId}/children/capacity`, { childType: 'kvm' });
      expect(res.status).toBe(200);
      // Defaults: CHILD_RESERVE_MEMORY_MB 1024, CHILD_RESERVE_DISK_GB 10; nothing is being created.
      expect(res.body).toEqual({ childType: 'kvm', availableMemoryMb: 8192 - 1024, availableDiskGb: 200 - 10, reserveMemoryMb: 1024, reserveDiskGb: 10 });
    }
    // vmd has no known VM store here: the largest disk counts.
    expect((await viewer.get(`/api/hosts/${hostId}/children/capacity`, { childType: 'vmm' })).body.availableDiskGb).toBe(800 - 10);
    expect((await viewer.get(`/api/hosts/${hostId}/children/capacity`, { childType: 'xen' })).status).toBe(400);
    expect((await viewer.get(`/api/hosts/${hostId}/children/capacity`)).status).toBe(400);
    expect((await viewer.get('/api/hosts/0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b/children/capacity', { childType: 'kvm' })).status).toBe(404);
  });
});
