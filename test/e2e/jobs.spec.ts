/**
 * The job pipeline end to end: real server processes on real Postgres and Redis, real agent
 * processes. Commands are never lost, duplicated or stuck — across agent kills, server kills,
 * a Redis restart, offline hosts and a second replica.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { Client } from 'pg';
import { login, ApiClient } from '../support/api';
import { startAgent, AgentProcess } from '../support/agent';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { freePort, waitFor } from '../support/ports';
import { startServer, ServerProcess } from '../support/server';

interface Job {
  id: string;
  status: string;
  hostId: string;
  error: string | null;
  dispatchCount: number;
  events: { seq: number | null; source: string; step: string; message: string }[];
}

const FINAL = ['succeeded', 'failed', 'cancelled', 'expired'];

async function autoApproveToken(api: ApiClient, uses = 1): Promise<string> {
  const res = await api.post('/api/enrollment-tokens', { uses, expiresInSeconds: 3600, autoApprove: true, note: 'jobs e2e' });
  expect(res.status).toBe(201);
  return (res.body as { secret: string }).secret;
}

async function approvedAgent(server: ServerProcess, api: ApiClient, env: Record<string, string> = {}): Promise<{ agent: AgentProcess; hostId: string }> {
  const agent = startAgent({ serverUrl: server.url, enrollmentToken: await autoApproveToken(api), env });
  const fingerprint = await agent.fingerprint();
  const host = await waitFor('the agent to enrol approved and come online', async () => {
    const res = await api.get('/api/hosts', { q: fingerprint });
    const h = (res.body as { items: { id: string; status: string; online: boolean }[] }).items[0];
    return h && h.status === 'approved' && h.online ? h : null;
  }, 20_000);
  return { agent, hostId: host.id };
}

async function refresh(api: ApiClient, hostId: string, headers: Record<string, string> = {}): Promise<Job> {
  const res = await api.post(`/api/hosts/${hostId}/inventory/refresh`, undefined, headers);
  expect(res.status).toBe(202);
  return res.body as Job;
}

async function finished(api: ApiClient, id: string, timeoutMs = 30_000): Promise<Job> {
  return waitFor(`job ${id} to finish`, async () => {
    const res = await api.get(`/api/jobs/${id}`);
    const job = res.body as Job;
    return FINAL.includes(job.status) ? job : null;
  }, timeoutMs, 150);
}

/** Agent-side steps of a job, in stored order. */
const agentSteps = (job: Job) => job.events.filter((e) => e.source === 'agent');
/** How often the agent started carrying out a job, from its own log. */
const runsOf = (agent: AgentProcess, jobId: string) => agent.logs().split('\n').filter((l) => l.includes(jobId) && /(running|resuming) job/.test(l)).length;

describe('job pipeline', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  const agents: AgentProcess[] = [];
  const others: { stop(): Promise<void> }[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('jobs');
  });

  afterEach(async () => {
    for (const a of agents.splice(0)) await a.cleanup();
    for (const o of others.splice(0)) await o.stop();
    await server?.stop();
    server = undefined;
    await db.drop();
  });

  it('runs a job on an online agent with its progress in order, through either replica', async () => {
    const prefix = uniqueRedisPrefix('jobs');
    server = await startServer({ databaseUrl: db.url, redisPrefix: prefix });
    const replicaB = await startServer({ databaseUrl: db.url, redisPrefix: prefix });
    others.push(replicaB);
    const apiA = await login(server.url);
    const apiB = await login(replicaB.url);
    const { agent, hostId } = await approvedAgent(server, apiA);
    agents.push(agent);

    const viaA = await finished(apiA, (await refresh(apiA, hostId)).id);
    expect(viaA.status).toBe('succeeded');
    const seqs = agentSteps(viaA).map((e) => e.seq);
    expect(seqs.length).toBeGreaterThanOrEqual(2);
    expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!));
    expect(viaA.events.map((e) => e.step)).toEqual(expect.arrayContaining(['queued', 'dispatched', 'succeeded']));

    // Created on replica B while the agent is connected to replica A; visible through both.
    const viaB = await finished(apiB, (await refresh(apiB, hostId)).id);
    expect(viaB.status).toBe('succeeded');
    expect(((await apiA.get(`/api/jobs/${viaB.id}`)).body as Job).status).toBe('succeeded');
  });

  it('finishes a job once when the agent is killed while running it', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs') });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api, { SYSFLEET_AGENT_STEP_DELAY_MS: '1500' });
    const job = await refresh(api, hostId);
    await waitFor('the job to run', async () => ((await api.get(`/api/jobs/${job.id}`)).body as Job).status === 'running');
    await agent.kill('SIGKILL');
    await agent.restart();
    agents.push(agent);
    const done = await finished(api, job.id);
    expect(done.status).toBe('succeeded');
    expect(done.events.filter((e) => e.step === 'succeeded')).toHaveLength(1);
    const seqs = agentSteps(done).map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('loses no job and runs none twice when the server is killed with jobs queued and results in flight', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs') });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api, { SYSFLEET_AGENT_STEP_DELAY_MS: '700' });
    agents.push(agent);
    const inFlight = await refresh(api, hostId);
    await waitFor('the job to run', async () => ((await api.get(`/api/jobs/${inFlight.id}`)).body as Job).status === 'running');
    await server.stop('SIGKILL');
    // While the server is down, the agent finishes and keeps its result in the outbox.
    await new Promise((r) => setTimeout(r, 3000));
    server = await server.restart();
    const api2 = await login(server.url);
    const queued = [await refresh(api2, hostId), await refresh(api2, hostId), await refresh(api2, hostId)];
    await server.stop('SIGKILL');
    server = await server.restart();
    const api3 = await login(server.url);
    for (const j of [inFlight, ...queued]) {
      const done = await finished(api3, j.id, 60_000);
      expect(done.status).toBe('succeeded');
      expect(runsOf(agent, j.id)).toBe(1);
    }
  });

  it('completes queued jobs after Redis restarts', async () => {
    const port = await freePort();
    const startRedis = () => {
      const p: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      return p;
    };
    let redis = startRedis();
    const stopRedis = async () => {
      redis.kill('SIGKILL');
      await new Promise((r) => redis.once('exit', r));
    };
    others.push({ stop: stopRedis });
    await waitFor('private redis', async () => {
      const { Socket } = await import('node:net');
      return new Promise<boolean>((res) => {
        const s = new Socket().once('connect', () => (s.destroy(), res(true))).once('error', () => res(false));
        s.connect(port, '127.0.0.1');
      });
    });
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs'), env: { REDIS_URL: `redis://127.0.0.1:${port}`, JOB_RECONCILE_SECONDS: '2' } });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api);
    agents.push(agent);
    await agent.kill('SIGTERM');
    await waitFor('host offline', async () => !((await api.get(`/api/hosts/${hostId}`)).body as { online: boolean }).online);
    const queued = [await refresh(api, hostId), await refresh(api, hostId)];
    // Redis without persistence comes back empty: the queue must be rebuilt from Postgres.
    await stopRedis();
    redis = startRedis();
    await agent.restart();
    agents.push(agent);
    for (const j of queued) expect((await finished(api, j.id, 60_000)).status).toBe('succeeded');
  });

  it('keeps a job for an offline host queued until it connects, and expires it past its deadline', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs'), env: { JOB_DEADLINES: 'inventory.refresh=4' } });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api);
    agents.push(agent);
    await agent.kill('SIGTERM');
    await waitFor('host offline', async () => !((await api.get(`/api/hosts/${hostId}`)).body as { online: boolean }).online);

    const waits = await refresh(api, hostId);
    await new Promise((r) => setTimeout(r, 1000));
    expect(((await api.get(`/api/jobs/${waits.id}`)).body as Job).status).toBe('queued');
    await agent.restart();
    const back = agent;
    agents.push(back);
    expect((await finished(api, waits.id)).status).toBe('succeeded');

    await back.kill('SIGTERM');
    await waitFor('host offline', async () => !((await api.get(`/api/hosts/${hostId}`)).body as { online: boolean }).online);
    const expires = await finished(api, (await refresh(api, hostId)).id, 20_000);
    expect(expires.status).toBe('expired');
    expect(expires.error).toMatch(/deadline/);
  });

  it('returns one job for two POSTs with the same Idempotency-Key, and cancels a running job', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs') });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api, { SYSFLEET_AGENT_STEP_DELAY_MS: '2000' });
    agents.push(agent);
    const first = await refresh(api, hostId, { 'Idempotency-Key': 'refresh-42' });
    const second = await refresh(api, hostId, { 'Idempotency-Key': 'refresh-42' });
    expect(second.id).toBe(first.id);
    const list = (await api.get(`/api/jobs?hostId=${hostId}`)).body as { total: number };
    expect(list.total).toBe(1);

    await waitFor('the job to run', async () => ((await api.get(`/api/jobs/${first.id}`)).body as Job).status === 'running');
    expect((await api.post(`/api/jobs/${first.id}/cancel`)).status).toBe(202);
    const done = await finished(api, first.id);
    expect(done.status).toBe('cancelled');
    expect((await api.post(`/api/jobs/${first.id}/cancel`)).status).toBe(409);
  });

  it('fans one inventory refresh out to many hosts in one request, once per Idempotency-Key, skipping hosts it may not run on', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs') });
    const api = await login(server.url);
    const one = await approvedAgent(server, api);
    const two = await approvedAgent(server, api);
    agents.push(one.agent, two.agent);
    const { FakeAgent } = await import('../support/fake-agent');
    const pending = new FakeAgent(server.url);
    others.push({ stop: async () => pending.disconnect() });
    await pending.connect();
    const hello = await pending.hello({});
    expect(hello.status).toBe('pending');
    const unknown = '0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b';

    const ids = [one.hostId, two.hostId, hello.hostId, unknown];
    const res = await api.post('/api/hosts/inventory/refresh', { ids }, { 'Idempotency-Key': 'fleet-refresh-1' });
    expect(res.status).toBe(202);
    const report = res.body as { created: number; results: { hostId: string; ok: boolean; jobId?: string; code?: string }[] };
    expect(report.created).toBe(2);
    expect(report.results.map((r) => [r.hostId, r.ok, r.code ?? null])).toEqual([
      [one.hostId, true, null], [two.hostId, true, null], [hello.hostId, false, 'JOB_HOST_NOT_APPROVED'], [unknown, false, 'JOB_HOST_NOT_FOUND'],
    ]);
    const jobIds = report.results.slice(0, 2).map((r) => r.jobId!);
    for (const [k, id] of jobIds.entries()) {
      const job = await finished(api, id);
      expect(job).toMatchObject({ status: 'succeeded', hostId: ids[k] });
    }

    // The same key again: the same jobs, nothing new started.
    const again = (await api.post('/api/hosts/inventory/refresh', { ids }, { 'Idempotency-Key': 'fleet-refresh-1' })).body as typeof report;
    expect(again.created).toBe(0);
    expect(again.results.slice(0, 2).map((r) => r.jobId)).toEqual(jobIds);
    expect(((await api.get('/api/jobs', { type: 'inventory.refresh' })).body as { total: number }).total).toBe(2);

    const bad = await api.post('/api/hosts/inventory/refresh', { ids: ['not-a-uuid'] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('ids');
  });

  it('refuses an invalid result from the agent and records the job as failed', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs') });
    const api = await login(server.url);
    const { FakeAgent } = await import('../support/fake-agent');
    const fake = new FakeAgent(server.url);
    others.push({ stop: async () => fake.disconnect() });
    const token = await autoApproveToken(api);
    await fake.connect();
    const hello = await fake.hello({ enrollmentToken: token });
    expect(hello.status).toBe('approved');
    const commands: { jobId: string }[] = [];
    fake.socket!.on('job.command', (cmd: { jobId: string }, ack: (a: { state: string }) => void) => {
      commands.push(cmd);
      ack({ state: 'accepted' });
    });
    const job = await refresh(api, hello.hostId);
    await waitFor('the command to arrive', () => commands.length > 0);
    const ack = await fake.request('job.result', { jobId: job.id, status: 'succeeded', result: { facts: { hostname: 42 } }, finishedAt: new Date().toISOString() });
    expect(ack).toMatchObject({ ok: false, error: expect.stringMatching(/invalid result/) });
    const done = await finished(api, job.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/invalid result/);
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const { rows } = await pg.query(`SELECT facts->>'hostname' AS h FROM hosts WHERE id = $1`, [hello.hostId]);
    await pg.end();
    expect(rows[0].h).not.toBe('42');
  });
});
