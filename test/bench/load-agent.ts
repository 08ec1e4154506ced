/**
 * A load-generator worker: runs many simulated agents in one process. Each is a real socket.io
 * client on /agent (websocket only, no deflate) with its own Ed25519 key, speaking the real
 * protocol: signed handshake, agent.hello, job.command -> ack -> job.progress -> job.result,
 * results re-sent after a reconnect until the server acknowledges them, duplicates answered from a
 * journal. Driven by the coordinator over IPC; reports what happened in batches.
 */
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, sign } from 'node:crypto';
import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import {
  AGENT_NAMESPACE, AgentEvent, CommandAck, fingerprintOf, HandshakeAuth, handshakeMessage, HostFacts, HostStatusPayload, JobCommandPayload,
  parsePayload, PROTOCOL_VERSION, ServerAck, ServerEvent,
} from '@sysfleet/protocol';
import { simulatedFacts, simulatedVirtualizationReport } from './lib/facts';
import { AgentEventMsg, AgentSpec, FromWorker, isToWorker, ToWorker } from './lib/ipc';
import { nowMs } from './lib/stats';

const ACK_TIMEOUT_MS = 30_000;
/** ws takes `false` to not even offer permessage-deflate; engine.io-client's type only knows the object form. */
const NO_DEFLATE = false as unknown as { threshold: number };
/** A refused handshake the server says is worth retrying (it could not check it). */
const RETRYABLE = new Set(['SERVER_UNAVAILABLE', 'NONCE_REUSED', 'STALE_TIMESTAMP']);

interface PendingResult {
  jobId: string;
  /** Sent once the agent is ready again (or the hold is lifted). */
  sent: boolean;
}

class SimAgent {
  readonly key: KeyObject;
  readonly publicKeyPem: string;
  readonly fingerprint: string;
  readonly facts: HostFacts;
  socket: Socket | null = null;
  hostId: string | undefined;
  ready = false;
  closing = false;
  attemptStartedAt = 0;
  /** Jobs this agent has seen: running until the server acknowledged the result, then done. */
  readonly journal = new Map<string, 'running' | 'done'>();
  readonly outbox: PendingResult[] = [];

  constructor(readonly index: number, spec: AgentSpec) {
    this.key = createPrivateKey(spec.privateKeyPem);
    this.publicKeyPem = createPublicKey(this.key).export({ format: 'pem', type: 'spki' }).toString();
    this.fingerprint = fingerprintOf(this.publicKeyPem);
    this.facts = simulatedFacts(index);
    this.hostId = spec.hostId;
  }

  /** The socket.io `auth` of one attempt: a fresh timestamp and nonce, signed. */
  signHandshake(): HandshakeAuth {
    const timestamp = Date.now();
    const nonce = randomBytes(18).toString('base64url');
    const signature = sign(null, handshakeMessage(this.hostId, this.fingerprint, timestamp, nonce), this.key).toString('base64');
    return { protocolVersion: PROTOCOL_VERSION, publicKey: this.publicKeyPem, timestamp, nonce, signature, ...(this.hostId && { hostId: this.hostId }) };
  }
}

class Worker {
  private url = '';
  private localAddresses: string[] = ['127.0.0.1'];
  private connectWindow = 100;
  private readonly agents = new Map<number, SimAgent>();
  private events: AgentEventMsg[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private hold = false;
  /** Connection attempts in flight, bounded by connectWindow so the server's accept backlog is not flooded. */
  private inFlight = 0;
  private readonly waiting: SimAgent[] = [];
  private enrollmentToken: string | undefined;

  handle(msg: ToWorker): void {
    switch (msg.type) {
      case 'init':
        this.url = msg.url;
        this.localAddresses = msg.localAddresses.length ? msg.localAddresses : ['127.0.0.1'];
        this.connectWindow = msg.connectWindow;
        send({ type: 'ready' });
        return;
      case 'connect':
        this.enrollmentToken = msg.enrollmentToken;
        for (const spec of msg.agents) {
          let agent = this.agents.get(spec.index);
          if (!agent) this.agents.set(spec.index, (agent = new SimAgent(spec.index, spec)));
          if (spec.hostId) agent.hostId = spec.hostId;
          agent.closing = false;
          this.waiting.push(agent);
        }
        this.pump();
        return;
      case 'disconnect-all':
        this.waiting.length = 0;
        for (const agent of this.agents.values()) {
          agent.closing = true;
          agent.ready = false;
          agent.socket?.disconnect();
          agent.socket?.removeAllListeners();
          agent.socket = null;
        }
        this.inFlight = 0;
        return;
      case 'hold':
        this.hold = msg.on;
        if (!msg.on) for (const agent of this.agents.values()) this.flushOutbox(agent);
        return;
      case 'raw-rtt':
        void this.rawRoundTrips(msg.url, msg.count, msg.warmup);
        return;
      case 'exit':
        this.flush();
        for (const agent of this.agents.values()) agent.socket?.disconnect();
        setTimeout(() => process.exit(0), 50);
        return;
    }
  }

  emit(event: AgentEventMsg): void {
    this.events.push(event);
    if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), 50);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.events.length === 0) return;
    const events = this.events;
    this.events = [];
    send({ type: 'events', events });
  }

  private pump(): void {
    while (this.inFlight < this.connectWindow && this.waiting.length > 0) {
      const agent = this.waiting.shift()!;
      if (agent.closing) continue;
      this.inFlight++;
      this.open(agent);
    }
  }

  /** The attempt of a first connect is over (answered, refused or failed): let the next one start. */
  private settle(agent: SimAgent, counted: { done: boolean }): void {
    if (counted.done) return;
    counted.done = true;
    if (agent.closing) return;
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.pump();
  }

  private open(agent: SimAgent): void {
    const counted = { done: false };
    agent.attemptStartedAt = nowMs();
    // engine.io-client hands localAddress to ws (its type does not list it): each agent's source address.
    const options: Partial<ManagerOptions & SocketOptions> & { localAddress: string } = {
      transports: ['websocket'],
      forceNew: true,
      perMessageDeflate: NO_DEFLATE,
      localAddress: this.localAddresses[agent.index % this.localAddresses.length],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 60_000,
      auth: (cb) => cb({ ...agent.signHandshake() }),
    };
    const socket = io(`${this.url}${AGENT_NAMESPACE}`, options);
    agent.socket = socket;
    socket.on('connect', () => void this.hello(agent).finally(() => this.settle(agent, counted)));
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      const code = err.data?.code;
      if (!code) return; // transport-level (server down): socket.io-client retries by itself
      this.emit({ k: 'refused', i: agent.index, code, message: err.message });
      if (RETRYABLE.has(code) && !agent.closing) {
        // A refused handshake is not retried by socket.io-client: do it, with jitter.
        setTimeout(() => !agent.closing && socket.connect(), 500 + Math.random() * 1500);
      } else {
        this.settle(agent, counted);
      }
    });
    socket.on('disconnect', (reason) => {
      agent.ready = false;
      this.emit({ k: 'disconnect', i: agent.index, reason });
      for (const p of agent.outbox) p.sent = false;
      // The server closed the connection on purpose (shutting down): come back like a real agent would.
      if (reason === 'io server disconnect' && !agent.closing) setTimeout(() => !agent.closing && socket.connect(), 500 + Math.random() * 1500);
    });
    socket.io.on('reconnect_attempt', () => (agent.attemptStartedAt = nowMs()));
    socket.on(ServerEvent.HostStatus, (raw: unknown) => {
      const parsed = parsePayload(HostStatusPayload, raw);
      if (!parsed.ok) return this.emit({ k: 'invalid', i: agent.index, what: ServerEvent.HostStatus, error: parsed.error });
      if (parsed.value.status === 'approved' && !agent.ready) {
        agent.hostId = parsed.value.hostId;
        agent.ready = true;
        this.emit({ k: 'approved', i: agent.index, hostId: parsed.value.hostId });
        this.onReady(agent);
      }
    });
    socket.on(ServerEvent.JobCommand, (raw: unknown, ack: unknown) => this.onCommand(agent, raw, ack));
  }

  private async hello(agent: SimAgent): Promise<void> {
    const socket = agent.socket;
    if (!socket) return;
    const token = agent.hostId ? undefined : this.enrollmentToken;
    let raw: unknown;
    try {
      raw = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(AgentEvent.Hello, { facts: agent.facts, ...(token && { enrollmentToken: token }) });
    } catch (e) {
      this.emit({ k: 'refused', i: agent.index, code: 'HELLO_TIMEOUT', message: (e as Error).message });
      return;
    }
    const status = parsePayload(HostStatusPayload, raw);
    if (!status.ok) {
      const refusal = parsePayload(ServerAck, raw);
      this.emit({ k: 'refused', i: agent.index, code: 'HELLO_REFUSED', message: refusal.ok ? refusal.value.error ?? 'refused' : status.error });
      return;
    }
    agent.hostId = status.value.hostId;
    agent.ready = status.value.status === 'approved';
    this.emit({ k: 'hello', i: agent.index, hostId: status.value.hostId, status: status.value.status, ms: nowMs() - agent.attemptStartedAt });
    if (agent.ready) this.onReady(agent);
  }

  /** As the real agent on every approved connect: results still unacknowledged go out, and a hypervisor report. */
  private onReady(agent: SimAgent): void {
    this.flushOutbox(agent);
    void this.reportVirtualization(agent);
  }

  private async reportVirtualization(agent: SimAgent): Promise<void> {
    const socket = agent.socket;
    if (!socket) return;
    let raw: unknown;
    try {
      raw = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(AgentEvent.Virtualization, simulatedVirtualizationReport());
    } catch {
      return; // disconnected or no answer in time: the next connect reports again, as the real agent does
    }
    const ack = parsePayload(ServerAck, raw);
    if (!ack.ok || !ack.value.ok) this.emit({ k: 'invalid', i: agent.index, what: AgentEvent.Virtualization, error: ack.ok ? ack.value.error ?? 'refused' : ack.error });
  }

  private onCommand(agent: SimAgent, raw: unknown, ack: unknown): void {
    if (typeof ack !== 'function') return this.emit({ k: 'invalid', i: agent.index, what: ServerEvent.JobCommand, error: 'no ack callback' });
    const reply = ack as (a: CommandAck) => void;
    const parsed = parsePayload(JobCommandPayload, raw);
    if (!parsed.ok) {
      this.emit({ k: 'invalid', i: agent.index, what: ServerEvent.JobCommand, error: parsed.error });
      return reply({ state: 'refused', reason: parsed.error.slice(0, 1000) });
    }
    const { jobId, type } = parsed.value;
    if (type !== 'inventory.refresh') return reply({ state: 'refused', reason: `the bench agent only runs inventory.refresh, not ${type}` });
    const known = agent.journal.get(jobId);
    this.emit({ k: 'command', i: agent.index, jobId, duplicate: known !== undefined });
    if (known) {
      reply({ state: 'duplicate' });
      // A redelivered command whose result is not acknowledged yet: send it again now.
      const pending = agent.outbox.find((p) => p.jobId === jobId);
      if (pending) pending.sent = false;
      this.flushOutbox(agent);
      return;
    }
    agent.journal.set(jobId, 'running');
    agent.outbox.push({ jobId, sent: false });
    reply({ state: 'accepted' });
    this.flushOutbox(agent);
  }

  /** Sends the progress and result of every unsent finished job, in order, while connected and approved. */
  private flushOutbox(agent: SimAgent): void {
    if (this.hold || !agent.ready) return;
    for (const pending of agent.outbox) {
      if (pending.sent) continue;
      pending.sent = true;
      void this.deliverResult(agent, pending);
    }
  }

  private async deliverResult(agent: SimAgent, pending: PendingResult): Promise<void> {
    const socket = agent.socket;
    if (!socket) return;
    const timed = socket.timeout(ACK_TIMEOUT_MS);
    try {
      const at = new Date().toISOString();
      const progressAck = parsePayload(ServerAck, await timed.emitWithAck(AgentEvent.JobProgress, { jobId: pending.jobId, seq: 0, step: 'collect', message: 'collecting facts', percent: 50, at }));
      if (!progressAck.ok || !progressAck.value.ok) throw new Error(`progress not stored: ${progressAck.ok ? progressAck.value.error : progressAck.error}`);
      const raw = await timed.emitWithAck(AgentEvent.JobResult, { jobId: pending.jobId, status: 'succeeded', result: { facts: agent.facts }, finishedAt: new Date().toISOString() });
      const ack = parsePayload(ServerAck, raw);
      const ok = ack.ok && ack.value.ok;
      const at2 = nowMs();
      const index = agent.outbox.indexOf(pending);
      if (index >= 0) agent.outbox.splice(index, 1);
      agent.journal.set(pending.jobId, 'done');
      this.emit({ k: 'result', i: agent.index, jobId: pending.jobId, ok, at: at2, ...(!ok && { error: ack.ok ? ack.value.error ?? 'refused' : ack.error }) });
    } catch {
      // Not acknowledged (disconnected or timed out): stays in the outbox and goes again when ready.
      pending.sent = false;
    }
  }

  private async rawRoundTrips(url: string, count: number, warmup: number): Promise<void> {
    const socket = io(url, { transports: ['websocket'], forceNew: true, perMessageDeflate: NO_DEFLATE, reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const samplesMs: number[] = [];
      const payload = { jobId: '00000000-0000-4000-8000-000000000000', seq: 0 };
      for (let i = 0; i < warmup + count; i++) {
        const t0 = nowMs();
        await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('ping', payload);
        if (i >= warmup) samplesMs.push(nowMs() - t0);
      }
      send({ type: 'raw-rtt', samplesMs });
    } catch (e) {
      send({ type: 'error', message: `raw round trips failed: ${(e as Error).message}` });
    } finally {
      socket.disconnect();
    }
  }
}

function send(msg: FromWorker): void {
  process.send?.(msg);
}

if (!process.send) {
  process.stderr.write('load-agent is started by the bench coordinator (test/bench/run.ts) over IPC\n');
  process.exit(2);
}
const worker = new Worker();
process.on('message', (msg: unknown) => {
  if (!isToWorker(msg)) return send({ type: 'error', message: `unknown message ${JSON.stringify(msg).slice(0, 200)}` });
  worker.handle(msg);
});
process.on('disconnect', () => process.exit(0));
