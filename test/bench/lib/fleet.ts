import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { AgentEventMsg, AgentSpec, FromWorker, isFromWorker, ToWorker } from './ipc';

export interface FleetOptions {
  /** Folder of the bundled load-agent.cjs. */
  distDir: string;
  workers: number;
  url: string;
  localAddresses: string[];
  /** Connection attempts each worker keeps in flight during a storm. */
  connectWindow: number;
}

export interface AgentState {
  hostId?: string;
  status?: string;
  /** Connected, said hello, and approved: commands reach it. */
  ready: boolean;
  /** Last handshake/hello refusal, cleared by the next answered hello. */
  refusal?: string;
  helloMs?: number;
  helloAt?: number;
}

export interface ResultRecord {
  at: number;
  ok: boolean;
  /** Times the agent saw the server acknowledge this job's result (more than 1 = re-sent after a lost ack). */
  acks: number;
  error?: string;
}

/**
 * The coordinator's side of the load generator: forks the workers, spreads agents over them
 * (agent i always lives in worker i % K, so its journal survives reconnects), and keeps what the
 * workers report: each agent's state, commands received and results acknowledged.
 */
export class Fleet {
  readonly agents = new Map<number, AgentState>();
  readonly results = new Map<string, ResultRecord>();
  /** Commands received per job id (a redelivery counts again). */
  readonly commands = new Map<string, number>();
  readonly refusals = new Map<string, number>();
  readonly invalid: string[] = [];
  readonly errors: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly resultWaiters = new Map<string, () => void>();
  private rawRttWaiter: { resolve: (s: number[]) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly opts: FleetOptions) {}

  static async start(opts: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(opts);
    await Promise.all(Array.from({ length: opts.workers }, (_, w) => fleet.spawn(w)));
    return fleet;
  }

  private spawn(w: number): Promise<void> {
    const proc = fork(path.join(this.opts.distDir, 'load-agent.cjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--max-old-space-size=2048'],
    });
    this.procs[w] = proc;
    return new Promise((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`load-agent worker ${w} exited with ${code} before it was ready`)));
      proc.on('message', (msg: unknown) => {
        if (!isFromWorker(msg)) return this.errors.push(`worker ${w} sent an unknown message`);
        if (msg.type === 'ready') {
          proc.removeAllListeners('exit');
          proc.once('exit', (code, signal) => code !== 0 && this.errors.push(`load-agent worker ${w} exited (${code ?? signal})`));
          resolve();
        } else {
          this.onMessage(msg);
        }
      });
      this.send(w, { type: 'init', url: this.opts.url, localAddresses: this.opts.localAddresses, connectWindow: this.opts.connectWindow });
    });
  }

  private send(w: number, msg: ToWorker): void {
    this.procs[w].send(msg);
  }

  private broadcast(msg: ToWorker): void {
    for (let w = 0; w < this.procs.length; w++) this.send(w, msg);
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'events') for (const e of msg.events) this.onEvent(e);
    else if (msg.type === 'raw-rtt') this.rawRttWaiter?.resolve(msg.samplesMs);
    else if (msg.type === 'error') {
      this.errors.push(msg.message);
      this.rawRttWaiter?.reject(new Error(msg.message));
    }
  }

  private state(i: number): AgentState {
    let s = this.agents.get(i);
    if (!s) this.agents.set(i, (s = { ready: false }));
    return s;
  }

  private onEvent(e: AgentEventMsg): void {
    switch (e.k) {
      case 'hello': {
        const s = this.state(e.i);
        Object.assign(s, { hostId: e.hostId, status: e.status, ready: e.status === 'approved', helloMs: e.ms, helloAt: Date.now(), refusal: undefined });
        return;
      }
      case 'approved':
        Object.assign(this.state(e.i), { hostId: e.hostId, status: 'approved', ready: true });
        return;
      case 'refused':
        this.state(e.i).refusal = e.code;
        this.refusals.set(e.code, (this.refusals.get(e.code) ?? 0) + 1);
        return;
      case 'disconnect':
        this.state(e.i).ready = false;
        return;
      case 'command':
        this.commands.set(e.jobId, (this.commands.get(e.jobId) ?? 0) + 1);
        return;
      case 'result': {
        const prev = this.results.get(e.jobId);
        this.results.set(e.jobId, { at: prev?.at ?? e.at, ok: e.ok, acks: (prev?.acks ?? 0) + 1, ...(e.error && { error: e.error }) });
        this.resultWaiters.get(e.jobId)?.();
        return;
      }
      case 'invalid':
        this.invalid.push(`agent ${e.i}: ${e.what}: ${e.error}`);
        return;
    }
  }

  /** Connects these agents (spread over the workers); they enrol with `enrollmentToken` if they have no host id. */
  connect(specs: AgentSpec[], enrollmentToken?: string): void {
    const perWorker: AgentSpec[][] = this.procs.map(() => []);
    for (const spec of specs) {
      const s = this.state(spec.index);
      s.ready = false;
      s.refusal = undefined;
      s.helloAt = undefined;
      perWorker[spec.index % this.procs.length].push(spec);
    }
    perWorker.forEach((agents, w) => agents.length && this.send(w, { type: 'connect', agents, ...(enrollmentToken && { enrollmentToken }) }));
  }

  disconnectAll(): void {
    this.broadcast({ type: 'disconnect-all' });
    for (const s of this.agents.values()) s.ready = false;
  }

  hold(on: boolean): void {
    this.broadcast({ type: 'hold', on });
  }

  countReady(indices: readonly number[]): number {
    return indices.reduce((n, i) => n + (this.agents.get(i)?.ready ? 1 : 0), 0);
  }

  /** Resolves when the server acknowledged the job's result to its agent. */
  waitResult(jobId: string, timeoutMs: number): Promise<ResultRecord> {
    const done = this.results.get(jobId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.resultWaiters.delete(jobId);
        reject(new Error(`no result acknowledged for job ${jobId} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.resultWaiters.set(jobId, () => {
        clearTimeout(timer);
        this.resultWaiters.delete(jobId);
        resolve(this.results.get(jobId)!);
      });
    });
  }

  /** Sequential emit-with-ack round trips from worker 0 to a bare socket.io server, in ms. */
  rawRoundTrips(url: string, count: number, warmup: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.rawRttWaiter = { resolve, reject };
      this.send(0, { type: 'raw-rtt', url, count, warmup });
    }).finally(() => (this.rawRttWaiter = null)) as Promise<number[]>;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
            p.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            try {
              p.send({ type: 'exit' } satisfies ToWorker);
            } catch {
              p.kill('SIGKILL');
            }
          }),
      ),
    );
  }
}
