import { AgentProcess, startAgent } from '../support/agent';
import { ApiClient, login } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { waitFor } from '../support/ports';
import { ServerProcess, startServer } from '../support/server';

interface HostBody { id: string; status: string; fingerprint: string; online: boolean; parentHostId: string | null }

describe('enrolment with real agent processes', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let api: ApiClient;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('enrol');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('enrol') });
    api = await login(server.url);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.cleanup()));
    await server?.stop();
    await db?.drop();
  });

  const hosts = async (query: Record<string, string> = {}) => (await api.get<{ items: HostBody[]; total: number }>('/api/hosts', { limit: 500, ...query })).body;

  it('a new agent waits pending with the fingerprint it prints; once approved it is online, and a restart is the same host', async () => {
    const agent = startAgent({ serverUrl: server.url });
    agents.push(agent);
    const pendingHosts = await waitFor('the agent to enrol', async () => {
      const { items } = await hosts({ status: 'pending' });
      return items.length > 0 && items;
    }, 30_000);
    expect(pendingHosts).toHaveLength(1);
    const [pending] = pendingHosts;
    expect(pending.fingerprint).toBe(await agent.fingerprint());

    expect((await api.post(`/api/hosts/${pending.id}/approve`)).status).toBe(200);
    await waitFor('the approved host to be online', async () => (await api.get<HostBody>(`/api/hosts/${pending.id}`)).body.online, 30_000);

    await agent.restart();
    await waitFor('online after the restart', async () => (await api.get<HostBody>(`/api/hosts/${pending.id}`)).body.online, 30_000);
    const all = await hosts();
    expect(all.total).toBe(1);
    expect(all.items[0]).toMatchObject({ id: pending.id, status: 'approved', fingerprint: pending.fingerprint });
  });

  it('an agent started with an auto-approving token arrives approved and online', async () => {
    const token = await api.post<{ secret: string }>('/api/enrollment-tokens', { uses: 1, expiresInSeconds: 600, autoApprove: true });
    expect(token.status).toBe(201);
    const agent = startAgent({ serverUrl: server.url, enrollmentToken: token.body.secret });
    agents.push(agent);
    const before = (await hosts()).total;
    await waitFor('the token agent to enrol', async () => (await hosts()).total > before, 30_000);
    const fingerprint = await agent.fingerprint();
    const [arrived] = (await hosts({ q: fingerprint })).items;
    expect(arrived).toMatchObject({ fingerprint, status: 'approved' });
    await waitFor('the token host to be online', async () => (await api.get<HostBody>(`/api/hosts/${arrived.id}`)).body.online, 30_000);
  });
});
