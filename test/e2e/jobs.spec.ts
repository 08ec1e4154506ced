/**
 * The job pipeline end to end: real server processes on real Postgres and Redis, real agent
 * processes. Commands are never lost, duplicated or stuck — across agent kills, server kills,
 * a Redis restart, offline hosts and a second replica.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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
  createdAt: string;
  dispatchedAt: string | null;
  finishedAt: string | null;
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

async function hostOffline(api: ApiClient, hostId: string): Promise<void> {
  await waitFor('host offline', async () => !((await api.get(`/api/hosts/${hostId}`)).body as { online: boolean }).online);
}

/** Which of `jobIds` the agent accepted, in the order it accepted them, from its own log. */
const acceptedOrder = (agent: AgentProcess, jobIds: string[]) =>
  agent.logs().split('\n').filter((l) => l.includes('job accepted')).map((l) => jobIds.find((id) => l.includes(id))).filter(Boolean);

/** Results the agent holds in its outbox (on disk, in its state dir) until the server acknowledges them. */
const outboxResults = (agent: AgentProcess) => {
  const dir = path.join(agent.stateDir, 'outbox');
  return readdirSync(dir).filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as { event: string; payload: { jobId: string; status: string } })
    .filter((e) => e.event === 'job.result').map((e) => e.payload);
};

/** The server's own steps of a job, in stored order. */
const serverSteps = (job: Job) => job.events.filter((e) => e.source === 'server').map((e) => e.step);

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
    // The agent's replica runs no delivery worker: a job created through B can only reach the agent by
    // B's worker emitting through the socket.io Redis adapter.
    server = await startServer({ databaseUrl: db.url, redisPrefix: prefix, env: { JOB_WORKER_CONCURRENCY: '0' } });
    const replicaB = await startServer({ databaseUrl: db.url, redisPrefix: prefix });
    others.push(replicaB);
    expect(server.logs()).toContain('this replica runs no delivery worker');
    const apiA = await login(server.url);
    const apiB = await login(replicaB.url);
    const { agent, hostId } = await approvedAgent(server, apiA);
    agents.push(agent);

    const inOrder = (job: Job) => {
      expect(job.status).toBe('succeeded');
      const seqs = agentSteps(job).map((e) => e.seq);
      expect(seqs.length).toBeGreaterThanOrEqual(2);
      expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!));
      expect(serverSteps(job)).toEqual(['queued', 'dispatched', 'succeeded']);
      const steps = job.events.map((e) => e.step);
      expect(steps.indexOf('dispatched')).toBeLessThan(steps.indexOf(agentSteps(job)[0].step));
      expect(steps[steps.length - 1]).toBe('succeeded');
      expect(job.dispatchCount).toBe(1);
    };
    inOrder(await finished(apiA, (await refresh(apiA, hostId)).id));

    // Created on replica B while the agent is connected to replica A; visible through both.
    const viaB = await finished(apiB, (await refresh(apiB, hostId)).id);
    inOrder(viaB);
    const seenFromA = (await apiA.get(`/api/jobs/${viaB.id}`)).body as Job;
    expect(seenFromA).toMatchObject({ status: 'succeeded', hostId, dispatchedAt: viaB.dispatchedAt, finishedAt: viaB.finishedAt });
    expect(seenFromA.events).toEqual(viaB.events);
    expect(runsOf(agent, viaB.id)).toBe(1);
  });

  it('delivers the jobs queued for an offline host in creation order when it connects, and lists them by status and page', async () => {
    // Short re-delivery and room for all at once: the worker's own attempts (every second for each job)
    // race the reconnect delivery, and no host limit holds any job back.
    const n = 16;
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs'), env: { JOB_REDELIVER_SECONDS: '1', JOB_HOST_CONCURRENCY: String(n) } });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api);
    agents.push(agent);
    await agent.kill('SIGTERM');
    await hostOffline(api, hostId);

    const queued: Job[] = [];
    for (let i = 0; i < n; i++) queued.push(await refresh(api, hostId));
    await new Promise((r) => setTimeout(r, 1500));
    const listed = (q: Record<string, string | number>) => api.get('/api/jobs', { hostId, ...q }).then((r) => r.body as { items: Job[]; total: number });
    expect((await listed({ status: 'queued' })).total).toBe(n);
    expect((await listed({ status: 'succeeded' })).total).toBe(0);

    await agent.restart();
    const done: Job[] = [];
    for (const j of queued) done.push(await finished(api, j.id));
    expect(done.map((j) => j.status)).toEqual(Array(n).fill('succeeded'));
    const ids = queued.map((j) => j.id);
    const byDispatch = [...done].sort((a, b) => Date.parse(a.dispatchedAt!) - Date.parse(b.dispatchedAt!)).map((j) => j.id);
    expect(byDispatch).toEqual(ids);
    expect(acceptedOrder(agent, ids)).toEqual(ids);

    // Newest first, paged; the status filter sees them all succeeded now.
    expect((await listed({ status: 'queued' })).total).toBe(0);
    const pages = [await listed({ status: 'succeeded', limit: 10, offset: 0 }), await listed({ status: 'succeeded', limit: 10, offset: 10 })];
    expect(pages.map((p) => p.total)).toEqual([n, n]);
    expect(pages.map((p) => p.items.length)).toEqual([10, n - 10]);
    expect(pages.flatMap((p) => p.items.map((j) => j.id))).toEqual([...ids].reverse());
    expect((await listed({ status: 'failed' })).items).toEqual([]);
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
    // While the server is down, the agent finishes and holds the result in its outbox on disk.
    await waitFor('the result in the agent\'s outbox', () => outboxResults(agent).some((r) => r.jobId === inFlight.id && r.status === 'succeeded'), 15_000);
    await agent.kill('SIGTERM');
    expect(outboxResults(agent).map((r) => r.jobId)).toEqual([inFlight.id]);

    server = await server.restart();
    const api2 = await login(server.url);
    // The result has not reached the server: the job is still running there.
    expect(((await api2.get(`/api/jobs/${inFlight.id}`)).body as Job).status).toBe('running');
    // The agent is stopped, so these cannot be delivered: they stay queued.
    const queued = [await refresh(api2, hostId), await refresh(api2, hostId), await refresh(api2, hostId)];
    await new Promise((r) => setTimeout(r, 1000));
    for (const j of queued) expect(((await api2.get(`/api/jobs/${j.id}`)).body as Job).status).toBe('queued');
    await server.stop('SIGKILL');

    server = await server.restart();
    await agent.restart();
    const api3 = await login(server.url);
    for (const j of [inFlight, ...queued]) {
      const done = await finished(api3, j.id, 60_000);
      expect(done.status).toBe('succeeded');
      expect(done.events.filter((e) => e.step === 'succeeded')).toHaveLength(1);
      expect(runsOf(agent, j.id)).toBe(1);
    }
    await waitFor('the outbox to drain', () => outboxResults(agent).length === 0);
  });

  it('runs one job at a time on a host with JOB_HOST_CONCURRENCY=1: the second waits until the first finishes', async () => {
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs'), env: { JOB_HOST_CONCURRENCY: '1' } });
    const api = await login(server.url);
    const { agent, hostId } = await approvedAgent(server, api, { SYSFLEET_AGENT_STEP_DELAY_MS: '500' });
    agents.push(agent);
    const first = await refresh(api, hostId);
    const second = await refresh(api, hostId);
    await waitFor('the first job to run', async () => ((await api.get(`/api/jobs/${first.id}`)).body as Job).status === 'running');
    expect(((await api.get(`/api/jobs/${second.id}`)).body as Job).status).toBe('queued');
    const [a, b] = [await finished(api, first.id), await finished(api, second.id)];
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
    expect(Date.parse(b.dispatchedAt!)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt!));
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
    await hostOffline(api, hostId);
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

  it('refuses to start when JOB_DEADLINES names a job type it does not know', async () => {
    await expect(startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('jobs'), env: { JOB_DEADLINES: 'inventory.refresh=60,inventory.refrsh=60' } }))
      .rejects.toThrow('JOB_DEADLINES: unknown job type "inventory.refrsh"');
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
