import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { Manager } from 'socket.io-client';
import { AgentProcess, startAgent } from '../support/agent';
import { ApiClient, login } from '../support/api';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { waitFor } from '../support/ports';
import { ServerProcess, startServer } from '../support/server';

interface HostBody { id: string; status: string; fingerprint: string; online: boolean; parentHostId: string | null; fqdn: string; facts?: { fqdn: string } }

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
  const host = async (id: string) => (await api.get<HostBody>(`/api/hosts/${id}`)).body;

  /** Starts a real agent; a short reconnect cap keeps refusal and revoke tests from waiting a minute. */
  function agentProcess(env: Record<string, string> = {}): AgentProcess {
    const agent = startAgent({ serverUrl: server.url, logLevel: 'info', env: { SYSFLEET_AGENT_BACKOFF_MAX_MS: '500', ...env } });
    agents.push(agent);
    return agent;
  }

  /** The host id and fingerprint the agent logs while it waits for approval. */
  async function waitingHost(agent: AgentProcess, timeoutMs = 30_000): Promise<{ hostId: string; fingerprint: string }> {
    return waitFor('the agent to log that it waits for approval', () => {
      const m = /waiting for an operator to approve this host.* hostId=(\S+) fingerprint=(\S+)/.exec(agent.logs());
      return m && { hostId: m[1], fingerprint: m[2] };
    }, timeoutMs);
  }

  /** An approved, online agent process. */
  async function onlineAgent(env: Record<string, string> = {}): Promise<{ agent: AgentProcess; hostId: string }> {
    const agent = agentProcess(env);
    const { hostId } = await waitingHost(agent);
    expect((await api.post(`/api/hosts/${hostId}/approve`)).status).toBe(200);
    await waitFor('the approved host to be online', async () => (await host(hostId)).online, 30_000);
    return { agent, hostId };
  }

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

  it('20 agent processes wait pending; one bulk approve brings them all online', async () => {
    // Started together: on two cores 20 Node processes take a while to boot, hence the long waits.
    const many = Array.from({ length: 20 }, () => startAgent({ serverUrl: server.url, logLevel: 'info' }));
    try {
      const waiting = await Promise.all(many.map((a) => waitingHost(a, 120_000)));
      const pending = (await hosts({ status: 'pending' })).items;
      const mine = pending.filter((h) => waiting.some((w) => w.hostId === h.id));
      expect(mine.map((h) => h.fingerprint).sort()).toEqual(waiting.map((w) => w.fingerprint).sort());
      expect(mine).toHaveLength(20);

      const res = await api.post<{ changed: number; results: { id: string; ok: boolean }[] }>('/api/hosts/approve', { ids: mine.map((h) => h.id) });
      expect(res.status).toBe(200);
      expect(res.body.changed).toBe(20);
      expect(res.body.results.every((r) => r.ok)).toBe(true);
      await waitFor('all 20 online', async () => {
        const online = (await hosts({ status: 'approved', online: 'true' })).items;
        return waiting.every((w) => online.some((h) => h.id === w.hostId));
      }, 120_000, 500);
      // Every agent heard the approval on its open connection (no reconnect needed).
      for (const a of many) expect(a.logs()).toContain('host approved');
    } finally {
      await Promise.all(many.map((a) => a.cleanup()));
    }
  }, 300_000);

  it('a rejected agent is disconnected and then refused at every reconnect, with the reason in its log', async () => {
    const agent = agentProcess();
    const { hostId } = await waitingHost(agent);
    expect((await api.post(`/api/hosts/${hostId}/reject`)).status).toBe(200);
    await waitFor('the agent to log the rejection', () => agent.logs().includes(`host rejected hostId=${hostId}`));
    const refusals = () => agent.logs().match(/server refused the connection .*code=HOST_REJECTED advice="an operator rejected this host/g)?.length ?? 0;
    await waitFor('two refused reconnects', () => refusals() >= 2, 20_000);
    expect(agent.proc.exitCode).toBeNull(); // it keeps retrying slowly, in case it is approved again
    expect(await host(hostId)).toMatchObject({ status: 'rejected', online: false });
  });

  it('a revoked agent is disconnected within a second and refused after', async () => {
    const { agent, hostId } = await onlineAgent();
    const before = agent.logs().length;
    const revokedAt = Date.now();
    expect((await api.post(`/api/hosts/${hostId}/revoke`)).status).toBe(200);
    await waitFor('the agent to be disconnected', () => agent.logs().slice(before).includes('disconnected reason="io server disconnect"'), 1000, 10);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(agent.logs().slice(before)).toContain(`host revoked hostId=${hostId}`);
    await waitFor('the reconnect refused', () => /server refused the connection .*code=HOST_REVOKED/.test(agent.logs().slice(before)), 20_000);
    expect(await host(hostId)).toMatchObject({ status: 'revoked', online: false });
  });

  it('facts that change are sent by the agent on its own, without an inventory job', async () => {
    // The agent takes the FQDN from `hostname -f`; a `hostname` first on its PATH that prints a file
    // lets the test rename the host while the agent runs.
    const shimDir = mkdtempSync(path.join(os.tmpdir(), 'sysfleet-hostname-'));
    try {
      const fqdnFile = path.join(shimDir, 'fqdn');
      writeFileSync(fqdnFile, 'before.facts.test\n');
      writeFileSync(path.join(shimDir, 'hostname'), `#!/bin/sh\ncat '${fqdnFile}'\n`);
      chmodSync(path.join(shimDir, 'hostname'), 0o755);
      const { agent, hostId } = await onlineAgent({ PATH: `${shimDir}${path.delimiter}${process.env.PATH ?? ''}`, SYSFLEET_AGENT_FACTS_INTERVAL_MS: '300' });
      expect(await host(hostId)).toMatchObject({ fqdn: 'before.facts.test', facts: expect.objectContaining({ fqdn: 'before.facts.test' }) });

      writeFileSync(fqdnFile, 'after.facts.test\n');
      await waitFor('the changed FQDN to reach the server', async () => (await host(hostId)).fqdn === 'after.facts.test', 15_000);
      expect((await host(hostId)).facts).toMatchObject({ fqdn: 'after.facts.test' });
      expect((await api.get<{ total: number }>('/api/jobs', { hostId })).body.total).toBe(0);
      // Sent on the open connection, not as the hello of a new one.
      expect(agent.logs().match(/ INFO {2}connected /g)).toHaveLength(1);
    } finally {
      rmSync(shimDir, { recursive: true, force: true });
    }
  });

  it('a host whose agent goes quiet (SIGSTOP) is marked offline, and online again after SIGCONT', async () => {
    // Its own server, with pings short enough to notice a frozen agent in seconds.
    const quietDb = await createTestDatabase('enrol_quiet');
    const quiet = await startServer({
      databaseUrl: quietDb.url, redisPrefix: uniqueRedisPrefix('quiet'), env: { SOCKET_PING_INTERVAL_MS: '1000', SOCKET_PING_TIMEOUT_MS: '1500' },
    });
    const agent = startAgent({ serverUrl: quiet.url, logLevel: 'info', env: { SYSFLEET_AGENT_BACKOFF_MAX_MS: '500' } });
    try {
      const quietApi = await login(quiet.url);
      const quietHost = async (id: string) => (await quietApi.get<HostBody>(`/api/hosts/${id}`)).body;
      const { hostId } = await waitingHost(agent);
      expect((await quietApi.post(`/api/hosts/${hostId}/approve`)).status).toBe(200);
      await waitFor('online', async () => (await quietHost(hostId)).online, 30_000);

      const stoppedAt = Date.now();
      agent.proc.kill('SIGSTOP');
      await waitFor('the silent host to be marked offline', async () => !(await quietHost(hostId)).online, 15_000, 200);
      // Dropped by the ping timeout (interval + timeout = 2.5 s), not by anything else.
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(2000);
      expect(quiet.logs()).toContain(`host ${hostId} disconnected: ping timeout`);
      // Handled once per dropped connection (not again by Nest's own disconnect hook, without a reason).
      expect(quiet.logs().match(new RegExp(`host ${hostId} disconnected: `, 'g'))).toHaveLength(1);

      agent.proc.kill('SIGCONT');
      await waitFor('online again after SIGCONT', async () => (await quietHost(hostId)).online, 30_000, 200);
      expect(await quietHost(hostId)).toMatchObject({ status: 'approved', online: true });
    } finally {
      agent.proc.kill('SIGCONT');
      await agent.cleanup();
      await quiet.stop();
      await quietDb.drop();
    }
  }, 120_000);

  interface OwnServer { server: ServerProcess; agent: AgentProcess; hostId: string; online: () => Promise<boolean | undefined> }

  /**
   * A server of its own (these tests stop it) with one approved, online agent; `body` may replace
   * `server` (a restart), and whichever it ends with is stopped afterwards.
   */
  async function withOwnServer(name: string, body: (own: OwnServer) => Promise<void>): Promise<void> {
    const ownDb = await createTestDatabase(`enrol_${name}`);
    const server = await startServer({ databaseUrl: ownDb.url, redisPrefix: uniqueRedisPrefix(name) });
    const agent = startAgent({ serverUrl: server.url, logLevel: 'info', env: { SYSFLEET_AGENT_BACKOFF_MAX_MS: '500' } });
    const pg = new Client({ connectionString: ownDb.url });
    await pg.connect();
    const own: OwnServer = { server, agent, hostId: '', online: async () => (await pg.query<{ online: boolean }>('SELECT online FROM hosts WHERE id = $1', [own.hostId])).rows[0]?.online };
    try {
      const ownApi = await login(server.url);
      own.hostId = (await waitingHost(agent)).hostId;
      expect((await ownApi.post(`/api/hosts/${own.hostId}/approve`)).status).toBe(200);
      await waitFor('online', async () => (await own.online()) === true, 30_000);
      await body(own);
    } finally {
      await pg.end();
      await agent.cleanup();
      await own.server.stop();
      await ownDb.drop();
    }
  }

  it('a server and its agent stopped together (Ctrl-C of the demo) both end cleanly, the host offline', () => withOwnServer('ctrlc', async (own) => {
    const ownApi = await login(own.server.url);
    // Live UI updates still on their way when the stop begins (a job's states, then the host going offline).
    expect((await ownApi.post(`/api/hosts/${own.hostId}/inventory/refresh`)).status).toBe(202);
    await Promise.all([own.agent.kill('SIGINT'), own.server.stop('SIGINT')]);
    // Nest re-raises the signal after a clean close; a crash during the stop exits with a code.
    expect({ exitCode: own.server.proc.exitCode, signal: own.server.proc.signalCode }).toEqual({ exitCode: null, signal: 'SIGINT' });
    expect(own.server.logs()).not.toContain('Error:');
    expect(await own.online()).toBe(false);
  }), 120_000);

  it('a server that is stopped marks its hosts offline first, closes its WebSocket connections with a close frame, and its hosts are online again when it is back', () => withOwnServer('stop', async (own) => {
    // A bare engine.io connection: the close code says whether the server sent a close frame (1005)
    // or the TCP connection just ended (1006).
    const manager = new Manager(own.server.url, { transports: ['websocket'], reconnection: false, autoConnect: false });
    await new Promise<void>((resolve, reject) => manager.open((err) => (err ? reject(err) : resolve())));
    const closed = new Promise<unknown>((resolve) => manager.engine.on('close', (_reason: string, details: unknown) => resolve(details)));

    await own.server.stop('SIGTERM');
    expect(((await closed) as { context?: { code?: number } }).context?.code).toBe(1005);
    // A clean stop ends by the signal (Nest re-raises it after closing), not by a crash's exit code.
    expect({ exitCode: own.server.proc.exitCode, signal: own.server.proc.signalCode }).toEqual({ exitCode: null, signal: 'SIGTERM' });
    // Read straight from Postgres: nothing else answers while the server is down.
    expect(await own.online()).toBe(false);
    expect(own.server.logs()).toContain('shutting down: 1 host(s) marked offline');

    own.server = await own.server.restart();
    await waitFor('online again after the restart', async () => (await own.online()) === true, 30_000, 200);
  }), 120_000);
});
