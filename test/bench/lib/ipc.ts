/**
 * Messages between the coordinator (run.ts) and its forked processes (load-agent.ts, raw-server.ts).
 * Both ends are our own code in the same run, but the shapes are still checked on receipt
 * (isToWorker / isFromWorker), so a stray message fails loudly instead of corrupting a figure.
 */

/** One simulated agent: its index in the run (names its facts and source address) and its key. */
export interface AgentSpec {
  index: number;
  /** Ed25519 private key, PKCS#8 PEM. */
  privateKeyPem: string;
  /** Set once enrolled: the agent then signs its handshakes with it. */
  hostId?: string;
}

export type ToWorker =
  | { type: 'init'; url: string; localAddresses: string[]; connectWindow: number }
  /** Connects these agents; enrollmentToken (if any) goes with the hello of agents that have no host id yet. */
  | { type: 'connect'; agents: AgentSpec[]; enrollmentToken?: string }
  /** Closes every connection of this worker for good (no reconnect). */
  | { type: 'disconnect-all' }
  /** While on, accepted commands are acknowledged but their progress and result wait (an agent busy across a restart). */
  | { type: 'hold'; on: boolean }
  /** Baseline: sequential emit-with-ack round trips to a bare socket.io server. */
  | { type: 'raw-rtt'; url: string; count: number; warmup: number }
  | { type: 'exit' };

/** Things that happened to simulated agents, sent in batches. */
export type AgentEventMsg =
  /** The hello was answered: `ms` from the start of the connection attempt. */
  | { k: 'hello'; i: number; hostId: string; status: string; ms: number }
  /** A pending host was approved while connected (host.status). */
  | { k: 'approved'; i: number; hostId: string }
  | { k: 'refused'; i: number; code: string; message: string }
  | { k: 'disconnect'; i: number; reason: string }
  | { k: 'command'; i: number; jobId: string; duplicate: boolean }
  /** The server acknowledged the job's result: `at` is the epoch time in ms (sub-ms precision). */
  | { k: 'result'; i: number; jobId: string; ok: boolean; at: number; error?: string }
  | { k: 'invalid'; i: number; what: string; error: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'events'; events: AgentEventMsg[] }
  | { type: 'raw-rtt'; samplesMs: number[] }
  | { type: 'error'; message: string };

/** The raw baseline server process's one message: where it listens. */
export interface RawServerReady {
  type: 'listening';
  port: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isToWorker(v: unknown): v is ToWorker {
  return isObject(v) && typeof v.type === 'string' && ['init', 'connect', 'disconnect-all', 'hold', 'raw-rtt', 'exit'].includes(v.type);
}

export function isFromWorker(v: unknown): v is FromWorker {
  return isObject(v) && typeof v.type === 'string' && ['ready', 'events', 'raw-rtt', 'error'].includes(v.type);
}

export function isRawServerReady(v: unknown): v is RawServerReady {
  return isObject(v) && v.type === 'listening' && typeof v.port === 'number';
}
