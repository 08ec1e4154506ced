/**
 * The benchmark coordinator: starts a real server on its own database and Redis prefix, forks the
 * load-generator workers and a bare socket.io server for the baseline, runs the six scenarios of
 * issue #8, prints a table and writes JSON under test/bench/results/.
 * Run it with `npm run bench` (full size) or `BENCH_SIZE=smoke npm run bench` (correctness only).
 */
import { ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { EnvironmentVariables } from '../../apps/server/src/config/config';
import { createTestDatabase, TEST_REDIS_URL, uniqueRedisPrefix } from '../support/db';
import { ADMIN_PASSWORD, startServer } from '../support/server';
import { BenchApi } from './lib/api';
import { Fleet } from './lib/fleet';
import { isRawServerReady } from './lib/ipc';
import { loadOrCreateKeys } from './lib/keys';
import { rssBytes } from './lib/proc';
import { judge, renderTable, ScenarioResult } from './lib/report';
import { BenchContext, enrolmentStorm, fanOut, idleCapacity, rawBaseline, reconnectStorm, ScenarioOutput, singleCommand, sustainedJobs } from './lib/scenarios';
import { BenchSize, SIZES, sizeFromEnv } from './lib/sizes';

export interface BenchOptions {
  size: BenchSize;
  /** Folder of the bundled workers (load-agent.cjs, raw-server.cjs). */
  distDir: string;
  /** Where the JSON goes; nothing is written when null. */
  resultsDir: string | null;
  /** Folder of the cached agent keys. */
  keysDir: string;
  /** Scenario ids to run (the baseline and the enrolment storm always run: the fleet and the ratios need them); all when absent. */
  only?: number[];
  /** Writes a V8 CPU profile of each server process into this folder (node --cpu-prof). */
  cpuProfileDir?: string;
  log?: (msg: string) => void;
}

export interface BenchReport {
  startedAt: string;
  size: BenchSize;
  machine: { nproc: number; memoryGiB: number; cpuModel: string; node: string; kernel: string; loadAverageAtStart: number[] };
  serverEnv: Record<string, string>;
  scenarios: ScenarioResult[];
  /** Every correctness check passed and no scenario broke off. */
  ok: boolean;
  table: string;
  file?: string;
}

/** Server settings for the run, all documented environment variables (apps/server/src/config/config.ts). */
export const BENCH_SERVER_ENV: Record<string, string> = {
  // pino-http logs every request at info: at thousands of requests per second that is the benchmark.
  LOG_LEVEL: 'warn',
  JOB_WORKER_CONCURRENCY: '500',
};

/** BENCH_SERVER_ENV="NAME=value,NAME=value": settings to try on top of BENCH_SERVER_ENV (the run is then a custom one). */
function serverEnvOverrides(): Record<string, string> {
  const spec = process.env.BENCH_SERVER_ENV ?? '';
  const pairs = spec.split(',').map((p) => p.trim()).filter(Boolean).map((p) => {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(p);
    if (!m) throw new Error(`BENCH_SERVER_ENV: "${p}" is not NAME=value`);
    return [m[1], m[2]] as const;
  });
  return Object.fromEntries(pairs);
}

/** Loopback source addresses for the agents' connections (each has its own ephemeral port range). */
const LOCAL_ADDRESSES = Array.from({ length: 16 }, (_, k) => `127.0.0.${10 + k}`);

function startRawServer(distDir: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = fork(path.join(distDir, 'raw-server.cjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw socket.io server did not start')), 15_000);
    proc.once('exit', (code) => reject(new Error(`raw socket.io server exited with ${code}`)));
    proc.on('message', (msg: unknown) => {
      if (!isRawServerReady(msg)) return;
      clearTimeout(timer);
      resolve({ proc, url: `http://127.0.0.1:${msg.port}` });
    });
  });
}

async function clearRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`[bench] ${m}\n`));
  const serverEnv = { ...BENCH_SERVER_ENV, ...serverEnvOverrides() };
  const { size } = opts;
  for (const f of ['load-agent.cjs', 'raw-server.cjs']) {
    if (!existsSync(path.join(opts.distDir, f))) throw new Error(`${f} is not built in ${opts.distDir}: run node test/bench/build.mjs first`);
  }
  const startedAt = new Date();
  const machine = {
    nproc: os.availableParallelism(), memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)), cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version, kernel: os.release(), loadAverageAtStart: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  log(`size ${size.name}: ${size.agents} agents in ${size.workers} workers; machine ${machine.nproc} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverageAtStart.join(' ')}`);
  const t = Date.now();
  const keys = loadOrCreateKeys(2 * size.agents, path.join(opts.keysDir, 'keys.json'));
  log(`${keys.length} agent keys ready in ${Date.now() - t} ms`);

  const db = await createTestDatabase(`bench${size.name}`);
  const redisPrefix = uniqueRedisPrefix('bench');
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const pg = new Client({ connectionString: db.url });
  const scenarios: ScenarioResult[] = [];
  let raw: { proc: ChildProcess; url: string } | null = null;
  let fleet: Fleet | null = null;
  let ctx: BenchContext | null = null;
  let api: BenchApi | null = null;
  let serverLogs = '';
  try {
    await redis.connect();
    // --cpu-prof is not allowed in NODE_OPTIONS: a preloaded inspector session does the same.
    const preload = path.join(opts.distDir, 'cpu-profile-preload.cjs');
    const nodeOptions = [opts.cpuProfileDir ? `--require ${preload}` : '', process.env.BENCH_SERVER_NODE_OPTIONS ?? ''].filter(Boolean).join(' ');
    const profiling: Record<string, string> = {
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      ...(opts.cpuProfileDir ? { BENCH_CPU_PROF_DIR: opts.cpuProfileDir } : {}),
    };
    const server = await startServer({ databaseUrl: db.url, redisPrefix, env: { ...serverEnv, ...profiling } });
    await pg.connect();
    api = new BenchApi(server.url, Math.max(64, size.sustainedWindow));
    await api.login('admin', ADMIN_PASSWORD);
    raw = await startRawServer(opts.distDir);
    fleet = await Fleet.start({ distDir: opts.distDir, workers: size.workers, url: server.url, localAddresses: LOCAL_ADDRESSES, connectWindow: size.connectWindow });
    const pingIntervalMs = Number(serverEnv.SOCKET_PING_INTERVAL_MS ?? new EnvironmentVariables().SOCKET_PING_INTERVAL_MS);
    ctx = { size, server, api, pg, redis, fleet, keys, log, pingIntervalMs, fleetIndices: [] };
    // Measured before any agent arrives; settled a moment after boot.
    await new Promise((r) => setTimeout(r, 2000));
    ctx.rssIdle0 = rssBytes(server.proc.pid!);

    const context = ctx;
    const run = async (id: number, name: string, fn: () => Promise<ScenarioOutput>) => {
      if (opts.only && id !== 0 && id !== 2 && !opts.only.includes(id)) return;
      log(`scenario ${id}: ${name}`);
      const t0 = Date.now();
      let result: ScenarioResult;
      try {
        const out = await fn();
        result = { id, name, figures: out.figures.map((f) => (size.name === 'full' ? judge(f) : f)), checks: out.checks, seconds: (Date.now() - t0) / 1000 };
      } catch (e) {
        log(`scenario ${id} broke off: ${(e as Error).stack ?? String(e)}`);
        result = { id, name, figures: [], checks: [], error: (e as Error).message, seconds: (Date.now() - t0) / 1000 };
      }
      scenarios.push(result);
      for (const c of result.checks.filter((c) => !c.ok)) log(`  FAIL ${c.label}${c.detail ? ` (${c.detail})` : ''}`);
      log(`  done in ${result.seconds.toFixed(1)} s`);
    };
    await run(0, 'baseline: raw socket.io', () => rawBaseline(context, raw!.url));
    await run(2, 'enrolment storm', () => enrolmentStorm(context));
    await run(1, 'idle capacity', () => idleCapacity(context));
    await run(5, 'single command, unloaded', () => singleCommand(context));
    await run(4, `fan-out to ${size.fanOut}`, () => fanOut(context, size.fanOut));
    if (size.agents > size.fanOut) await run(4, `fan-out to ${size.agents}`, () => fanOut(context, size.agents));
    await run(6, `sustained jobs, ${size.sustainedSeconds} s`, () => sustainedJobs(context));
    await run(3, 'reconnect storm', () => reconnectStorm(context));
    const workerTrouble = [...fleet.errors, ...fleet.invalid];
    if (workerTrouble.length) scenarios.push({ id: 0, name: 'load generator', figures: [], checks: [{ label: 'load generator saw no invalid message', ok: false, detail: workerTrouble.slice(0, 3).join('; ') }], seconds: 0 });
  } finally {
    serverLogs = ctx?.server.logs() ?? '';
    await fleet?.stop().catch(() => undefined);
    raw?.proc.kill();
    api?.close();
    await ctx?.server.stop().catch(() => undefined);
    await pg.end().catch(() => undefined);
    await db.drop().catch((e: Error) => log(`dropping ${db.name}: ${e.message}`));
    await clearRedisPrefix(redis, redisPrefix).catch((e: Error) => log(`cleaning Redis prefix ${redisPrefix}: ${e.message}`));
    redis.disconnect();
  }

  const ok = scenarios.every((s) => !s.error && s.checks.every((c) => c.ok));
  const table = renderTable(scenarios, size.name === 'full');
  const report: BenchReport = { startedAt: startedAt.toISOString(), size, machine, serverEnv, scenarios, ok, table };
  if (opts.resultsDir) {
    mkdirSync(opts.resultsDir, { recursive: true });
    // Only a standard full run is "the" result: smoke, overridden sizes, some scenarios only, a
    // profiled or otherwise instrumented server get their own names.
    const standard = JSON.stringify(size) === JSON.stringify(SIZES[size.name]) && !opts.only && !opts.cpuProfileDir && !process.env.BENCH_SERVER_NODE_OPTIONS
      && JSON.stringify(serverEnv) === JSON.stringify(BENCH_SERVER_ENV);
    const suffix = size.name === 'full' && standard ? '' : `-${standard ? size.name : 'custom'}`;
    const file = path.join(opts.resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}${suffix}.json`);
    const json = JSON.stringify(report, null, 2) + '\n';
    writeFileSync(file, json);
    writeFileSync(path.join(opts.resultsDir, `latest${suffix}.json`), json);
    // What the (last) server process printed, for looking into a miss; *.log is not committed.
    writeFileSync(file.replace(/\.json$/, '-server.log'), serverLogs);
    report.file = file;
  }
  return report;
}

if (require.main === module) {
  const here = path.resolve(__dirname, '..');
  const only = process.env.BENCH_SCENARIOS ? process.env.BENCH_SCENARIOS.split(',').map(Number).filter(Number.isInteger) : undefined;
  const cpuProfileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  runBench({ size: sizeFromEnv(), only, cpuProfileDir, distDir: path.join(here, 'dist'), resultsDir: path.join(here, 'results'), keysDir: path.join(here, 'results', '.keys') })
    .then((report) => {
      process.stdout.write(`\n${report.table}\n\n${report.file ? `results: ${report.file}\n` : ''}`);
      process.exit(report.ok ? 0 : 1);
    })
    .catch((e: unknown) => {
      process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
}
