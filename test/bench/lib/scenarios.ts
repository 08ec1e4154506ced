import type Redis from 'ioredis';
import type { Client } from 'pg';
import { waitFor } from '../../support/ports';
import type { ServerProcess } from '../../support/server';
import type { BenchApi } from './api';
import type { Fleet } from './fleet';
import type { AgentSpec } from './ipc';
import { cpuPercentOver, listenOverflows, parseRedisRss, rssBytes } from './proc';
import { Check, figure, Figure } from './report';
import type { BenchSize } from './sizes';
import { nowMs, round, Summary, summarize } from './stats';

export interface BenchContext {
  size: BenchSize;
  /** Replaced by the reconnect storm's restart. */
  server: ServerProcess;
  api: BenchApi;
  pg: Client;
  redis: Redis;
  fleet: Fleet;
  keys: string[];
  log: (msg: string) => void;
  /** Agents of the approved, connected fleet (set by the enrolment storm). */
  fleetIndices: number[];
  /** The server's socket.io ping interval in this run (SOCKET_PING_INTERVAL_MS). */
  pingIntervalMs: number;
  /** Server RSS with no agent connected, measured before the enrolment storm. */
  rssIdle0?: number;
  rawRtt?: Summary;
}

export interface ScenarioOutput {
  figures: Figure[];
  checks: Check[];
}

const FINAL = `('succeeded', 'failed', 'cancelled', 'expired')`;
/** Handshake refusals the load agent retries; anything else ends the agent's attempt. */
const RETRIED = new Set(['SERVER_UNAVAILABLE', 'NONCE_REUSED', 'STALE_TIMESTAMP']);

const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function specsOf(ctx: BenchContext, indices: number[]): AgentSpec[] {
  return indices.map((index) => {
    const hostId = ctx.fleet.agents.get(index)?.hostId;
    return { index, privateKeyPem: ctx.keys[index], ...(hostId && { hostId }) };
  });
}

function hostIdsOf(ctx: BenchContext, indices: number[]): string[] {
  return indices.map((i) => {
    const id = ctx.fleet.agents.get(i)?.hostId;
    if (!id) throw new Error(`agent ${i} has no host id`);
    return id;
  });
}

const refusalCount = (fleet: Fleet) => [...fleet.refusals.values()].reduce((a, b) => a + b, 0);

/** Waits until every agent got an answer to its hello (or was refused for good); returns when the last answer came. */
async function waitHellos(ctx: BenchContext, indices: number[], status: string, timeoutMs: number): Promise<{ lastAt: number; answered: number; failed: number[] }> {
  await waitFor(`${indices.length} agents to say hello (${status})`, () =>
    indices.every((i) => {
      const s = ctx.fleet.agents.get(i);
      return s && (s.status === status && s.helloAt !== undefined ? true : s.refusal !== undefined && !RETRIED.has(s.refusal));
    }), timeoutMs, 100).catch((e: Error) => ctx.log(e.message));
  let lastAt = 0;
  const failed: number[] = [];
  for (const i of indices) {
    const s = ctx.fleet.agents.get(i);
    if (s?.status === status && s.helloAt !== undefined) lastAt = Math.max(lastAt, s.helloAt);
    else failed.push(i);
  }
  return { lastAt, answered: indices.length - failed.length, failed };
}

/** Runs `fn` over `items` with at most `concurrency` at once. */
async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, k: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const k = next++;
      await fn(items[k], k);
    }
  }));
}

interface Created {
  jobId: string;
  hostId: string;
  /** When the API request was sent (epoch ms). */
  t0: number;
}

/** POSTs an inventory refresh per host (with `concurrency` requests in flight). */
async function createJobs(ctx: BenchContext, hostIds: string[], concurrency: number): Promise<{ created: Created[]; failures: string[] }> {
  const created: Created[] = [];
  const failures: string[] = [];
  await pool(hostIds, concurrency, async (hostId) => {
    const t0 = nowMs();
    const res = await ctx.api.post(`/api/hosts/${hostId}/inventory/refresh`).catch((e: Error) => ({ status: 0, body: e.message }));
    const jobId = (res.body as { id?: unknown } | null)?.id;
    if (res.status === 202 && typeof jobId === 'string') created.push({ jobId, hostId, t0 });
    else failures.push(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
  });
  return { created, failures };
}

/** One fan-out request (`POST /api/hosts/inventory/refresh`) for all of `hostIds`; every job's t0 is when it was sent. */
async function createJobsInOneRequest(ctx: BenchContext, hostIds: string[]): Promise<{ created: Created[]; failures: string[] }> {
  const t0 = nowMs();
  const res = await ctx.api.post('/api/hosts/inventory/refresh', { ids: hostIds }).catch((e: Error) => ({ status: 0, body: e.message }));
  if (res.status !== 202) return { created: [], failures: [`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`] };
  const created: Created[] = [];
  const failures: string[] = [];
  for (const r of (res.body as { results: { hostId: string; ok: boolean; jobId?: string; message?: string }[] }).results) {
    if (r.ok && r.jobId) created.push({ jobId: r.jobId, hostId: r.hostId, t0 });
    else failures.push(`${r.hostId}: ${r.message ?? 'no job'}`);
  }
  return { created, failures };
}

const CHUNK = 5000;

/**
 * Where a batch's time went, from the timestamps the server stores on each job (p50, ms):
 * request -> row created, created -> delivered (agent acked the command), delivered -> first progress
 * stored, first progress -> result stored.
 */
async function phaseFigures(pg: Client, created: Created[]): Promise<Figure[]> {
  const t0 = new Map(created.map((c) => [c.jobId, c.t0]));
  const phases: Record<string, number[]> = { 'request -> job row': [], 'job row -> delivered': [], 'delivered -> progress stored': [], 'progress -> result stored': [] };
  const ids = created.map((c) => c.jobId);
  for (let k = 0; k < ids.length; k += CHUNK) {
    const { rows } = await pg.query<{ id: string; c: string; d: string | null; s: string | null; f: string | null }>(
      `SELECT id, extract(epoch FROM "createdAt") * 1000 AS c, extract(epoch FROM "dispatchedAt") * 1000 AS d,
              extract(epoch FROM "startedAt") * 1000 AS s, extract(epoch FROM "finishedAt") * 1000 AS f
         FROM jobs WHERE id = ANY($1::uuid[])`, [ids.slice(k, k + CHUNK)]);
    for (const r of rows) {
      if (r.d === null || r.s === null || r.f === null) continue;
      phases['request -> job row'].push(Number(r.c) - t0.get(r.id)!);
      phases['job row -> delivered'].push(Number(r.d) - Number(r.c));
      phases['delivered -> progress stored'].push(Number(r.s) - Number(r.d));
      phases['progress -> result stored'].push(Number(r.f) - Number(r.s));
    }
  }
  return Object.entries(phases).map(([label, v]) => figure(`  phase p50: ${label}`, summarize(v).p50, 'ms'));
}

/** Status and stored time (epoch ms, µs precision) of each job. */
async function jobRows(pg: Client, ids: string[]): Promise<Map<string, { status: string; finishedMs: number | null }>> {
  const out = new Map<string, { status: string; finishedMs: number | null }>();
  for (let k = 0; k < ids.length; k += CHUNK) {
    const { rows } = await pg.query<{ id: string; status: string; f: string | null }>(
      `SELECT id, status, extract(epoch FROM "finishedAt") * 1000 AS f FROM jobs WHERE id = ANY($1::uuid[])`, [ids.slice(k, k + CHUNK)]);
    for (const r of rows) out.set(r.id, { status: r.status, finishedMs: r.f === null ? null : Number(r.f) });
  }
  return out;
}

async function countFinal(pg: Client, ids: string[]): Promise<number> {
  let n = 0;
  for (let k = 0; k < ids.length; k += CHUNK) {
    const { rows } = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status IN ${FINAL}`, [ids.slice(k, k + CHUNK)]);
    n += Number(rows[0].n);
  }
  return n;
}

async function waitJobsFinal(ctx: BenchContext, ids: string[], timeoutMs: number): Promise<boolean> {
  try {
    await waitFor(`${ids.length} jobs to finish`, async () => (await countFinal(ctx.pg, ids)) === ids.length, timeoutMs, 250);
    return true;
  } catch (e) {
    ctx.log((e as Error).message);
    return false;
  }
}

/**
 * What a user checks after a batch: every job succeeded, its result is stored, and it was stored
 * exactly once (one agent progress event, one "succeeded" event), and the agent heard it acknowledged.
 */
async function exactlyOnce(ctx: BenchContext, ids: string[], label: string): Promise<Check[]> {
  // The agent hears the ack only after the server wrote the row and its events: wait for the acks
  // first, so a row caught between its UPDATE and its event INSERT is not taken for a missing event.
  await waitFor(`results of ${ids.length} jobs acknowledged to their agents`, () => ids.every((id) => ctx.fleet.results.has(id)), 30_000, 100)
    .catch((e: Error) => ctx.log(e.message));
  let notSucceeded = 0;
  let noResult = 0;
  let wrongEvents = 0;
  const examples: string[] = [];
  for (let k = 0; k < ids.length; k += CHUNK) {
    const { rows } = await ctx.pg.query<{ id: string; status: string; has_result: boolean; done: string; progress: string }>(
      `SELECT j.id, j.status, j.result IS NOT NULL AND j.result ? 'facts' AS has_result,
              (SELECT count(*) FROM job_events e WHERE e."jobId" = j.id AND e.source = 'server' AND e.step = 'succeeded') AS done,
              (SELECT count(*) FROM job_events e WHERE e."jobId" = j.id AND e.source = 'agent') AS progress
         FROM jobs j WHERE j.id = ANY($1::uuid[])`, [ids.slice(k, k + CHUNK)]);
    for (const r of rows) {
      if (r.status !== 'succeeded') {
        notSucceeded++;
        if (examples.length < 3) examples.push(`${r.id} is ${r.status}`);
      } else if (!r.has_result) noResult++;
      else if (Number(r.done) !== 1 || Number(r.progress) !== 1) {
        wrongEvents++;
        if (examples.length < 3) examples.push(`${r.id}: ${r.done} succeeded events, ${r.progress} progress events`);
      }
    }
    notSucceeded += ids.slice(k, k + CHUNK).length - rows.length;
  }
  const unacked = ids.filter((id) => !ctx.fleet.results.get(id)?.ok).length;
  return [
    { label: `${label}: all ${ids.length} jobs succeeded with their result stored exactly once`, ok: ids.length > 0 && notSucceeded + noResult + wrongEvents === 0,
      detail: notSucceeded + noResult + wrongEvents ? `${notSucceeded} not succeeded, ${noResult} without result, ${wrongEvents} with duplicate/missing events; ${examples.join('; ')}` : undefined },
    { label: `${label}: every agent got its result acknowledged`, ok: ids.length > 0 && unacked === 0, detail: unacked ? `${unacked} unacknowledged` : undefined },
  ];
}

/** Baseline: emit-with-ack round trips against a bare socket.io server, same process kinds. */
export async function rawBaseline(ctx: BenchContext, rawUrl: string): Promise<ScenarioOutput> {
  const samples = await ctx.fleet.rawRoundTrips(rawUrl, ctx.size.rawRoundTrips, Math.min(200, ctx.size.rawRoundTrips));
  const s = summarize(samples);
  ctx.rawRtt = s;
  return {
    figures: [figure('emit-with-ack round trip p50', s.p50, 'ms'), figure('emit-with-ack round trip p99', s.p99, 'ms')],
    checks: [{ label: `${s.count} raw round trips measured`, ok: s.count === ctx.size.rawRoundTrips }],
  };
}

/** Scenario 2: N agents enrol with one N-use auto-approving token; N more enrol pending, are approved in bulk and reconnect signed. */
export async function enrolmentStorm(ctx: BenchContext): Promise<ScenarioOutput> {
  const n = ctx.size.agents;
  // Correctness is that every agent enrols; the rate is the figure, so wait long.
  const timeoutMs = Math.max(120_000, n * 60);
  const figures: Figure[] = [];
  const checks: Check[] = [];

  // (a) auto-approving token
  const token = (await ctx.api.postExpect('/api/enrollment-tokens', { uses: n, expiresInSeconds: 3600, autoApprove: true, note: 'bench enrolment storm' }, 201)) as { id: string; secret: string };
  const a = range(0, n);
  const overflowsBefore = listenOverflows();
  let refusedBefore = refusalCount(ctx.fleet);
  let t0 = Date.now();
  ctx.fleet.connect(specsOf(ctx, a), token.secret);
  const enrolA = await waitHellos(ctx, a, 'approved', timeoutMs);
  const secondsA = (enrolA.lastAt - t0) / 1000;
  const stored = await ctx.pg.query<{ n: string }>(`SELECT count(*) AS n FROM hosts WHERE "enrollmentTokenId" = $1 AND status = 'approved'`, [token.id]);
  figures.push(figure('token enrolments per second', enrolA.answered / secondsA, '/s', { op: '>=', value: 1000 }));
  figures.push(figure('token enrolment: refused attempts (retried)', refusalCount(ctx.fleet) - refusedBefore, ''));
  checks.push({ label: `token path: ${n} agents enrolled approved, zero failures`, ok: enrolA.failed.length === 0 && Number(stored.rows[0].n) === n,
    detail: `${enrolA.failed.length} failed, ${stored.rows[0].n} approved hosts stored` });
  ctx.fleet.disconnectAll();

  // (b) pending -> bulk approve (batches of 1000) -> reconnect authenticated
  const b = range(n, n);
  refusedBefore = refusalCount(ctx.fleet);
  t0 = Date.now();
  ctx.fleet.connect(specsOf(ctx, b));
  const enrolB = await waitHellos(ctx, b, 'pending', timeoutMs);
  const secondsB = (enrolB.lastAt - t0) / 1000;
  figures.push(figure('pending enrolments per second', enrolB.answered / secondsB, '/s', { op: '>=', value: 1000 }));

  const ids = hostIdsOf(ctx, b.filter((i) => ctx.fleet.agents.get(i)?.hostId));
  const tApprove = Date.now();
  let changed = 0;
  for (let k = 0; k < ids.length; k += 1000) {
    const res = (await ctx.api.postExpect('/api/hosts/approve', { ids: ids.slice(k, k + 1000) }, 200)) as { changed: number };
    changed += res.changed;
  }
  const approveSeconds = (Date.now() - tApprove) / 1000;
  figures.push(figure('bulk approval (batches of 1000)', changed / approveSeconds, 'hosts/s'));
  // Connected pending agents hear host.status and become ready without reconnecting.
  await waitFor('approved agents to become ready', () => ctx.fleet.countReady(b) === b.length, timeoutMs, 100).catch((e: Error) => ctx.log(e.message));
  const pushedReady = ctx.fleet.countReady(b);

  ctx.fleet.disconnectAll();
  await sleep(1000);
  const tReconnect = Date.now();
  ctx.fleet.connect(specsOf(ctx, b));
  const back = await waitHellos(ctx, b, 'approved', timeoutMs);
  const reconnectSeconds = (back.lastAt - tReconnect) / 1000;
  figures.push(figure('authenticated reconnects per second', back.answered / reconnectSeconds, '/s'));
  figures.push(figure('pending path end to end (enrol + approve + reconnect)', n / (secondsB + approveSeconds + reconnectSeconds), 'hosts/s'));
  figures.push(figure('bulk path: refused attempts (retried)', refusalCount(ctx.fleet) - refusedBefore, ''));
  figures.push(figure('listen queue overflows during the storms (kernel)', listenOverflows() - overflowsBefore, ''));
  checks.push({ label: `bulk path: ${n} agents enrolled pending, zero failures`, ok: enrolB.failed.length === 0, detail: `${enrolB.failed.length} failed` });
  checks.push({ label: `bulk path: ${n} approved in batches of 1000`, ok: changed === n, detail: `${changed} changed` });
  checks.push({ label: 'bulk path: connected agents heard their approval', ok: pushedReady === n, detail: `${pushedReady} of ${n}` });
  checks.push({ label: `bulk path: ${n} agents reconnected signed with their host id, approved`, ok: back.failed.length === 0, detail: `${back.failed.length} failed` });
  ctx.fleetIndices = b;
  return { figures, checks };
}

/** Scenario 1: memory per connected agent and idle CPU of the server with the fleet connected. */
export async function idleCapacity(ctx: BenchContext): Promise<ScenarioOutput> {
  const n = ctx.fleetIndices.length;
  const online = await ctx.pg.query<{ n: string }>(`SELECT count(*) AS n FROM hosts WHERE online AND status = 'approved'`);
  const reported = await ctx.pg.query<{ n: string }>(
    `SELECT count(*) AS n FROM hosts h JOIN host_virtualization v ON v."hostId" = h.id WHERE h.online AND h.status = 'approved'`);
  // Let the reconnect burst's garbage and timers settle before measuring.
  await sleep(ctx.size.name === 'full' ? 5000 : 1000);
  const pid = ctx.server.proc.pid!;
  const rss = rssBytes(pid);
  // Each connection is pinged once per interval, at a time set by when it connected: a shorter
  // window right after the storm sees the pings of only some of them (or none, at a long interval).
  const cpuSeconds = ctx.size.name === 'full' ? Math.max(ctx.size.idleCpuSeconds, Math.ceil(ctx.pingIntervalMs / 1000)) : ctx.size.idleCpuSeconds;
  const cpu = await cpuPercentOver(pid, cpuSeconds);
  const perAgentKb = (rss - (ctx.rssIdle0 ?? rss)) / n / 1024;
  return {
    figures: [
      figure('server RSS with 0 agents', (ctx.rssIdle0 ?? Number.NaN) / 1024 ** 2, 'MB'),
      figure(`server RSS with ${n} agents`, rss / 1024 ** 2, 'MB'),
      figure('server RSS per connected agent', perAgentKb, 'KB', { op: '<=', value: 20 }),
      figure(`idle server CPU over ${cpuSeconds} s`, cpu, '%', { op: '<', value: 5 }, 'a whole ping interval at full size: every connection pinged once'),
    ],
    checks: [
      { label: `${n} agents connected and ready`, ok: ctx.fleet.countReady(ctx.fleetIndices) === n, detail: `${ctx.fleet.countReady(ctx.fleetIndices)} ready` },
      { label: `${n} hosts online in Postgres`, ok: Number(online.rows[0].n) === n, detail: `${online.rows[0].n} online` },
      { label: `${n} hypervisor reports stored (each agent sends one on connect)`, ok: Number(reported.rows[0].n) === n, detail: `${reported.rows[0].n} stored` },
    ],
  };
}

/** Transactions Postgres counted for this database so far (every statement outside BEGIN is one). */
async function pgTransactions(ctx: BenchContext): Promise<number> {
  // Backends flush their statistics about once a second when idle.
  await sleep(1500);
  const { rows } = await ctx.pg.query<{ n: string }>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`);
  return Number(rows[0].n);
}

async function redisCommands(ctx: BenchContext): Promise<number> {
  const m = /^total_commands_processed:(\d+)\r?$/m.exec(await ctx.redis.info('stats'));
  return m ? Number(m[1]) : Number.NaN;
}

/** Scenario 5: one job at a time, API request to stored result, against the raw round trip. */
export async function singleCommand(ctx: BenchContext): Promise<ScenarioOutput> {
  const [hostId] = hostIdsOf(ctx, ctx.fleetIndices.slice(0, 1));
  const xact0 = await pgTransactions(ctx);
  const redis0 = await redisCommands(ctx);
  const created: Created[] = [];
  const acked: number[] = [];
  for (let k = 0; k < ctx.size.singleJobs; k++) {
    const t0 = nowMs();
    const job = (await ctx.api.postExpect(`/api/hosts/${hostId}/inventory/refresh`, undefined, 202)) as { id: string };
    created.push({ jobId: job.id, hostId, t0 });
    const r = await ctx.fleet.waitResult(job.id, 30_000);
    acked.push(r.at - t0);
  }
  const redisPerJob = ((await redisCommands(ctx)) - redis0) / created.length;
  const xactPerJob = ((await pgTransactions(ctx)) - xact0 - 1) / created.length;
  const ids = created.map((c) => c.jobId);
  const rows = await jobRows(ctx.pg, ids);
  const stored = created.map((c) => (rows.get(c.jobId)?.finishedMs ?? Number.NaN) - c.t0).filter(Number.isFinite);
  const s = summarize(stored);
  const a = summarize(acked);
  const raw = ctx.rawRtt?.p50 ?? Number.NaN;
  return {
    figures: [
      figure('request to stored result p50', s.p50, 'ms', { op: '<=', value: 3 }),
      figure('request to stored result p99', s.p99, 'ms', { op: '<=', value: 10 }),
      figure('request to result acknowledged to agent p50', a.p50, 'ms'),
      figure('p50 / raw socket.io round trip p50', s.p50 / raw, 'x'),
      figure('p99 / raw socket.io round trip p99', s.p99 / (ctx.rawRtt?.p99 ?? Number.NaN), 'x'),
      ...(await phaseFigures(ctx.pg, created)),
      figure('Postgres statements/transactions per job', xactPerJob, '', undefined, 'pg_stat_database xact_commit delta; statements outside a transaction count one each'),
      figure('Redis commands per job', redisPerJob, '', undefined, 'INFO total_commands_processed delta of the whole Redis instance (shared)'),
    ],
    checks: await exactlyOnce(ctx, ids, `single command x${ids.length}`),
  };
}

/** Scenario 4: one inventory.refresh to each of `count` agents in one fan-out request; latency from the request to each stored result. */
export async function fanOut(ctx: BenchContext, count: number): Promise<ScenarioOutput> {
  const hostIds = hostIdsOf(ctx, ctx.fleetIndices.slice(0, count));
  const tStart = nowMs();
  const { created, failures } = await createJobsInOneRequest(ctx, hostIds);
  const requestsDone = nowMs();
  const ids = created.map((c) => c.jobId);
  await waitJobsFinal(ctx, ids, Math.max(120_000, count * 60));
  const rows = await jobRows(ctx.pg, ids);
  const latencies = created.map((c) => (rows.get(c.jobId)?.finishedMs ?? Number.NaN) - c.t0).filter(Number.isFinite);
  const s = summarize(latencies);
  const lastStored = Math.max(...[...rows.values()].map((r) => r.finishedMs ?? 0));
  const target = count >= 10_000 ? 1500 : count >= 1000 ? 500 : undefined;
  return {
    figures: [
      figure('request to stored result p50', s.p50, 'ms'),
      figure('request to stored result p99', s.p99, 'ms', target ? { op: '<=', value: target } : undefined),
      figure('fan-out request answered (202) after', requestsDone - tStart, 'ms'),
      figure('first request to last result stored', lastStored - tStart, 'ms'),
      ...(await phaseFigures(ctx.pg, created)),
    ],
    checks: [
      { label: `${count} jobs accepted (202)`, ok: failures.length === 0, detail: failures.length ? `${failures.length} refused: ${failures[0]}` : undefined },
      ...(await exactlyOnce(ctx, ids, `fan-out to ${count}`)),
    ],
  };
}

async function redisRss(ctx: BenchContext): Promise<number> {
  return parseRedisRss(await ctx.redis.info('memory'));
}

/** Scenario 6: as many jobs per second as the pipeline takes, for a while; memory at start and end. */
export async function sustainedJobs(ctx: BenchContext): Promise<ScenarioOutput> {
  const hostIds = hostIdsOf(ctx, ctx.fleetIndices);
  const pid = ctx.server.proc.pid!;
  const samples: { t: number; serverRss: number; redisRss: number }[] = [];
  const sample = async () => samples.push({ t: Date.now(), serverRss: rssBytes(pid), redisRss: await redisRss(ctx) });
  await sample();
  const created: string[] = [];
  const failures: string[] = [];
  const tStart = nowMs();
  const until = tStart + ctx.size.sustainedSeconds * 1000;
  let next = 0;
  const sampler = setInterval(() => void sample(), Math.max(1000, (ctx.size.sustainedSeconds * 1000) / 6));
  await Promise.all(Array.from({ length: ctx.size.sustainedWindow }, async () => {
    while (nowMs() < until) {
      const hostId = hostIds[next++ % hostIds.length];
      const res = await ctx.api.post(`/api/hosts/${hostId}/inventory/refresh`).catch((e: Error) => ({ status: 0, body: e.message }));
      const id = (res.body as { id?: unknown } | null)?.id;
      if (res.status === 202 && typeof id === 'string') created.push(id);
      else failures.push(`HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
    }
  }));
  const tEnd = nowMs();
  clearInterval(sampler);
  await sample();
  const seconds = (tEnd - tStart) / 1000;
  const { rows } = await ctx.pg.query<{ n: string }>(
    `SELECT count(*) AS n FROM jobs WHERE status = 'succeeded' AND "finishedAt" >= to_timestamp($1 / 1000.0) AND "finishedAt" <= to_timestamp($2 / 1000.0)`, [tStart, tEnd]);
  const completedInWindow = Number(rows[0].n);
  const drained = await waitJobsFinal(ctx, created, 180_000);
  const tDrained = nowMs();
  await sample();
  const first = samples[0];
  const end = samples[samples.length - 1];
  const mb = (b: number) => b / 1024 ** 2;
  return {
    figures: [
      figure('jobs completed per second (during the run)', completedInWindow / seconds, 'jobs/s', { op: '>=', value: 5000 }),
      figure('jobs accepted per second (202)', created.length / seconds, 'jobs/s'),
      figure('backlog drained after the run', (tDrained - tEnd) / 1000, 's'),
      figure('server RSS start -> end', mb(end.serverRss) - mb(first.serverRss), 'MB', undefined, `${round(mb(first.serverRss), 1)} -> ${round(mb(end.serverRss), 1)} MB`),
      figure('Redis RSS start -> end', mb(end.redisRss) - mb(first.redisRss), 'MB', undefined, `${round(mb(first.redisRss), 1)} -> ${round(mb(end.redisRss), 1)} MB (whole Redis instance)`),
    ],
    checks: [
      { label: `sustained ${ctx.size.sustainedSeconds} s: every request accepted`, ok: failures.length === 0, detail: failures.length ? `${failures.length} refused: ${failures[0]}` : `${created.length} jobs` },
      { label: 'sustained: backlog drained', ok: drained },
      ...(await exactlyOnce(ctx, created, `sustained ${created.length}`)),
    ],
  };
}

/** Scenario 3: restart the server with the fleet connected and jobs in flight; all agents back, no job lost. */
export async function reconnectStorm(ctx: BenchContext): Promise<ScenarioOutput> {
  const n = ctx.fleetIndices.length;
  const hostIds = hostIdsOf(ctx, ctx.fleetIndices.slice(0, ctx.size.reconnectJobs));
  // Agents accept these but keep their results until the server is back (busy across the restart).
  ctx.fleet.hold(true);
  const { created, failures } = await createJobs(ctx, hostIds, 64);
  const ids = created.map((c) => c.jobId);
  await waitFor('the held jobs to reach their agents', () => ids.every((id) => ctx.fleet.commands.has(id)), 60_000, 100).catch((e: Error) => ctx.log(e.message));
  const delivered = ids.filter((id) => ctx.fleet.commands.has(id)).length;

  const overflowsBefore = listenOverflows();
  const tStop = Date.now();
  await ctx.server.stop('SIGTERM');
  const tStopped = Date.now();
  // A stopped replica's hosts are offline to the operator until they are back (another replica's
  // sweep would also get there, but only after OFFLINE_AFTER_MS).
  const stillOnline = Number((await ctx.pg.query<{ n: string }>(`SELECT count(*) AS n FROM hosts WHERE online AND id = ANY($1::uuid[])`, [hostIdsOf(ctx, ctx.fleetIndices)])).rows[0].n);
  ctx.server = await ctx.server.restart();
  const tUp = Date.now();
  ctx.fleet.hold(false);
  // Correctness is that they all come back; how fast is the figure, so wait long.
  const timeoutMs = Math.max(120_000, n * 30);
  let allBack = true;
  await waitFor(`${n} agents to come back`, () => ctx.fleet.countReady(ctx.fleetIndices) === n, timeoutMs, 100).catch((e: Error) => {
    allBack = false;
    ctx.log(e.message);
  });
  const tAgentsBack = Date.now();
  const overflows = listenOverflows() - overflowsBefore;
  let online = 0;
  await waitFor(`${n} hosts online in Postgres`, async () => {
    const r = await ctx.pg.query<{ n: string }>(`SELECT count(*) AS n FROM hosts WHERE online AND id = ANY($1::uuid[])`, [hostIdsOf(ctx, ctx.fleetIndices)]);
    online = Number(r.rows[0].n);
    return online === n;
  }, timeoutMs, 250).catch((e: Error) => ctx.log(e.message));
  const tOnline = Date.now();
  const jobsDone = await waitJobsFinal(ctx, ids, timeoutMs);
  const tJobs = Date.now();
  const check = await exactlyOnce(ctx, ids, `${ids.length} jobs in flight across the restart`);
  // A second look at memory per agent: this process never saw the enrolment storm's garbage.
  await sleep(ctx.size.name === 'full' ? 5000 : 1000);
  const rssAfter = rssBytes(ctx.server.proc.pid!);
  return {
    figures: [
      figure('all agents back after the restart began', (tAgentsBack - tStop) / 1000, 's', { op: '<=', value: 30 }),
      figure('all agents back after the server answered', (tAgentsBack - tUp) / 1000, 's'),
      figure('server stop (SIGTERM until exit; SIGKILL after 10 s)', (tStopped - tStop) / 1000, 's'),
      figure('server boot (start until /health answers)', (tUp - tStopped) / 1000, 's'),
      figure('all hosts online in Postgres after the restart began', (tOnline - tStop) / 1000, 's'),
      figure('in-flight jobs all stored after the restart began', (tJobs - tStop) / 1000, 's'),
      figure('listen queue overflows until all were back (kernel)', overflows, ''),
      figure('restarted server RSS per connected agent', (rssAfter - (ctx.rssIdle0 ?? rssAfter)) / n / 1024, 'KB', undefined, 'against the first server\'s RSS before any agent'),
    ],
    checks: [
      { label: `${ids.length} jobs accepted and delivered before the restart`, ok: failures.length === 0 && delivered === ids.length, detail: `${delivered} delivered, ${failures.length} refused` },
      { label: `all ${n} hosts marked offline by the server's stop`, ok: stillOnline === 0, detail: `${stillOnline} still online` },
      { label: `all ${n} agents reconnected`, ok: allBack, detail: `${ctx.fleet.countReady(ctx.fleetIndices)} ready` },
      { label: `all ${n} hosts online again`, ok: online === n, detail: `${online} online` },
      { label: 'no job lost across the restart', ok: ids.length > 0 && jobsDone },
      ...check,
    ],
  };
}
