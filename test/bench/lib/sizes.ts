/** How big each scenario runs. `full` is the fleet; `smoke` checks correctness quickly (CI). */
export interface BenchSize {
  name: 'full' | 'smoke';
  /** Simulated agents in the fleet (the enrolment storm enrols twice this many: token path + bulk-approve path). */
  agents: number;
  /** Load-generator processes. */
  workers: number;
  /** The smaller fan-out (the larger one goes to every agent). */
  fanOut: number;
  /** Sequential jobs of the unloaded single-command scenario. */
  singleJobs: number;
  sustainedSeconds: number;
  /** HTTP requests kept in flight while sustaining jobs. */
  sustainedWindow: number;
  /** Idle CPU window; at full size at least one of the server's ping intervals (see idleCapacity). */
  idleCpuSeconds: number;
  /** Jobs in flight when the server is restarted. */
  reconnectJobs: number;
  rawRoundTrips: number;
  /** Connection attempts each worker keeps in flight in a storm. */
  connectWindow: number;
}

export const SIZES: Record<BenchSize['name'], BenchSize> = {
  full: {
    name: 'full', agents: 10_000, workers: 4, fanOut: 1000, singleJobs: 200, sustainedSeconds: 60, sustainedWindow: 256,
    idleCpuSeconds: 10, reconnectJobs: 1000, rawRoundTrips: 2000, connectWindow: 100,
  },
  smoke: {
    name: 'smoke', agents: 50, workers: 2, fanOut: 20, singleJobs: 20, sustainedSeconds: 3, sustainedWindow: 16,
    idleCpuSeconds: 2, reconnectJobs: 20, rawRoundTrips: 200, connectWindow: 25,
  },
};

const POSITIVE_INT = /^[1-9]\d*$/;

/**
 * The size named by BENCH_SIZE (default full), with single figures overridable for a quick try:
 * BENCH_AGENTS, BENCH_WORKERS, BENCH_FANOUT, BENCH_SUSTAINED_SECONDS.
 */
export function sizeFromEnv(env: NodeJS.ProcessEnv = process.env): BenchSize {
  const name = env.BENCH_SIZE ?? 'full';
  if (name !== 'full' && name !== 'smoke') throw new Error(`BENCH_SIZE must be full or smoke, not "${name}"`);
  const size = { ...SIZES[name] };
  const overrides: [string, keyof BenchSize][] = [
    ['BENCH_AGENTS', 'agents'], ['BENCH_WORKERS', 'workers'], ['BENCH_FANOUT', 'fanOut'], ['BENCH_SUSTAINED_SECONDS', 'sustainedSeconds'],
  ];
  for (const [variable, field] of overrides) {
    const v = env[variable];
    if (v === undefined || v === '') continue;
    if (!POSITIVE_INT.test(v)) throw new Error(`${variable} must be a positive integer, not "${v}"`);
    (size as Record<string, unknown>)[field] = Number(v);
  }
  if (size.agents > 10_000) throw new Error('BENCH_AGENTS is at most 10000 (an enrolment token has at most 10,000 uses)');
  size.fanOut = Math.min(size.fanOut, size.agents);
  size.reconnectJobs = Math.min(size.reconnectJobs, size.agents);
  return size;
}
