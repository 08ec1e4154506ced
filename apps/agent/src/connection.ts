import { io, Socket } from 'socket.io-client';
import {
  AGENT_NAMESPACE, AgentEvent, AgentToServerEvents, CommandAck, HelloPayload, HostFacts, HostStatusPayload, VirtualizationReport,
  parsePayload, ServerAck, ServerEvent, ServerToAgentEvents,
} from '@sysfleet/protocol';
import { BackoffOptions, backoffDelay, cappedDelay, DEFAULT_BACKOFF } from './backoff';
import type { Identity, StateStore, AgentState } from './identity';
import type { Logger } from './log';
import type { OutboxEvent, OutboxTransport } from './jobs/outbox';

export type AgentSocket = Socket<ServerToAgentEvents, AgentToServerEvents>;

/** Codes a refused handshake carries in connect_error's `err.data.code`. */
export const HANDSHAKE_ERROR_CODES = [
  'HOST_REJECTED', 'HOST_REVOKED', 'BAD_SIGNATURE', 'STALE_TIMESTAMP', 'NONCE_REUSED',
  'HOST_KEY_MISMATCH', 'PROTOCOL_VERSION', 'INVALID_HANDSHAKE', 'HOST_UNKNOWN',
] as const;

export interface ConnectionOptions {
  server: string;
  identity: Identity;
  stateStore: StateStore;
  enrollmentToken?: string;
  log: Logger;
  collectFacts(): Promise<HostFacts>;
  onCommand(raw: unknown): CommandAck;
  onCancel(raw: unknown): CommandAck;
  /** The host is approved and connected: time to send what waits in the outbox. */
  onReady(): void;
  backoff?: BackoffOptions;
  ackTimeoutMs?: number;
  /** For tests: builds the socket instead of socket.io-client's io(). */
  createSocket?: (url: string, opts: Parameters<typeof io>[1]) => AgentSocket;
}

/** What a refused handshake means to the operator, beyond the server's own message. */
const TRANSIENT_REFUSALS = new Set(['SERVER_UNAVAILABLE']);

const ADVICE: Record<string, string> = {
  SERVER_UNAVAILABLE: 'the server is stopping or cannot check the handshake now; retrying',
  HOST_REJECTED: 'an operator rejected this host; retrying slowly in case it is approved again',
  HOST_REVOKED: 'an operator revoked this host; retrying slowly in case it is approved again',
  STALE_TIMESTAMP: "this host's clock is too far from the server's; fix the time (NTP)",
  HOST_KEY_MISMATCH: "the key in the state dir is not the one the server knows for this host",
  PROTOCOL_VERSION: 'this agent and the server speak different protocol versions; update the agent',
  HOST_UNKNOWN: 'the server does not know this host id (deleted?); enrolling again as a new host',
};

/**
 * The agent's one connection to the server's /agent namespace: signs every (re)connect attempt,
 * enrols or says hello, follows its host status, and reconnects with backoff whatever went wrong.
 */
export class AgentConnection {
  private socket?: AgentSocket;
  private state: AgentState;
  private ready = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly backoff: BackoffOptions;
  private readonly ackTimeoutMs: number;

  constructor(private readonly opts: ConnectionOptions) {
    this.state = opts.stateStore.load();
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
  }

  get hostId(): string | undefined {
    return this.state.hostId;
  }

  get status(): AgentState['status'] {
    return this.state.status;
  }

  /** Connected, said hello and approved: job messages may flow. */
  isReady(): boolean {
    return this.ready && Boolean(this.socket?.connected);
  }

  start(): void {
    const url = `${this.opts.server}${AGENT_NAMESPACE}`;
    const options: Parameters<typeof io>[1] = {
      transports: ['websocket'],
      forceNew: true,
      autoConnect: false,
      reconnection: true,
      reconnectionDelay: this.backoff.initialMs,
      reconnectionDelayMax: this.backoff.maxMs,
      randomizationFactor: this.backoff.jitter,
      // Called on every connection attempt, so each one carries a fresh timestamp and nonce.
      auth: (cb) => cb({ ...this.opts.identity.sign(this.state.hostId) }),
    };
    const socket = this.opts.createSocket ? this.opts.createSocket(url, options) : (io(url, options) as AgentSocket);
    this.socket = socket;
    socket.on('connect', () => {
      this.onConnect().catch((e: unknown) => this.opts.log.error('after connect', { error: (e as Error).message }));
    });
    socket.on('disconnect', (reason) => this.onDisconnect(reason));
    socket.on('connect_error', (err) => this.onConnectError(err));
    socket.on(ServerEvent.HostStatus, (raw: unknown) => this.onHostStatus(raw));
    socket.on(ServerEvent.JobCommand, (raw: unknown, ack: unknown) => this.answer(ServerEvent.JobCommand, ack, () => this.opts.onCommand(raw)));
    socket.on(ServerEvent.JobCancel, (raw: unknown, ack: unknown) => this.answer(ServerEvent.JobCancel, ack, () => this.opts.onCancel(raw)));
    this.opts.log.info('connecting', { server: this.opts.server, fingerprint: this.opts.identity.fingerprint, hostId: this.state.hostId });
    socket.connect();
  }

  stop(): void {
    this.stopped = true;
    this.ready = false;
    clearTimeout(this.retryTimer);
    this.socket?.disconnect();
  }

  /** The outbox's way to the server: only while ready, each message acked or timed out. */
  readonly transport: OutboxTransport = {
    isConnected: () => this.isReady(),
    send: (event: OutboxEvent, payload: object) => this.emitWithAck(event, payload),
  };

  /** Sends agent.facts if connected and approved; logs (never throws) when it cannot. */
  sendFacts(facts: HostFacts): Promise<boolean> {
    return this.sendReport(AgentEvent.Facts, { facts });
  }

  /** Sends the hypervisor report (agent.virtualization) if connected and approved. */
  sendVirtualization(report: VirtualizationReport): Promise<boolean> {
    return this.sendReport(AgentEvent.Virtualization, report);
  }

  private async sendReport(event: typeof AgentEvent.Facts | typeof AgentEvent.Virtualization, payload: object): Promise<boolean> {
    if (!this.isReady()) return false;
    try {
      const ack = parsePayload(ServerAck, await this.emitWithAck(event, payload));
      if (ack.ok && ack.value.ok) return true;
      this.opts.log.warn(`server did not accept ${event}`, { error: ack.ok ? ack.value.error : ack.error });
    } catch (e) {
      this.opts.log.warn(`${event} was not acknowledged`, { reason: (e as Error).message });
    }
    return false;
  }

  private emitWithAck(event: OutboxEvent | typeof AgentEvent.Facts | typeof AgentEvent.Virtualization | typeof AgentEvent.Hello, payload: object): Promise<unknown> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.reject(new Error('not connected'));
    // The event map types each payload; callers build exactly that payload, and the ack is parsed as unknown.
    const timed = socket.timeout(this.ackTimeoutMs) as unknown as { emitWithAck(ev: string, p: object): Promise<unknown> };
    return timed.emitWithAck(event, payload);
  }

  private answer(event: string, ack: unknown, handle: () => CommandAck): void {
    if (typeof ack !== 'function') {
      this.opts.log.warn(`${event} without an ack callback dropped`);
      return;
    }
    let reply: CommandAck;
    try {
      reply = handle();
    } catch (e) {
      this.opts.log.error(`could not handle ${event}`, { error: (e as Error).message });
      reply = { state: 'refused', reason: `agent could not record the job: ${(e as Error).message}`.slice(0, 1000) };
    }
    (ack as (res: CommandAck) => void)(reply);
  }

  private async onConnect(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.opts.log.info('connected', { server: this.opts.server, hostId: this.state.hostId });
    let facts: HostFacts;
    try {
      facts = await this.opts.collectFacts();
    } catch (e) {
      this.opts.log.error('cannot collect host facts', { error: (e as Error).message });
      this.reconnectLater(backoffDelay(this.attempt++, this.backoff));
      return;
    }
    const hello: HelloPayload = { facts };
    if (this.opts.enrollmentToken && this.state.status !== 'approved') hello.enrollmentToken = this.opts.enrollmentToken;
    let raw: unknown;
    try {
      raw = await this.emitWithAck(AgentEvent.Hello, hello);
    } catch (e) {
      this.opts.log.warn('agent.hello was not acknowledged; reconnecting', { reason: (e as Error).message });
      this.reconnectLater(backoffDelay(this.attempt++, this.backoff));
      return;
    }
    const status = parsePayload(HostStatusPayload, raw);
    if (status.ok) {
      this.applyStatus(status.value);
      return;
    }
    const refusal = parsePayload(ServerAck, raw);
    if (refusal.ok && !refusal.value.ok) {
      this.opts.log.error('server refused this host', { reason: refusal.value.error ?? 'no reason given' });
    } else {
      this.opts.log.error('invalid answer to agent.hello', { error: status.error });
    }
    this.reconnectLater(cappedDelay(this.backoff));
  }

  private onHostStatus(raw: unknown): void {
    const parsed = parsePayload(HostStatusPayload, raw);
    if (!parsed.ok) {
      this.opts.log.warn('invalid host.status dropped', { error: parsed.error });
      return;
    }
    this.applyStatus(parsed.value);
  }

  private applyStatus(next: HostStatusPayload): void {
    const prev = this.state;
    if (prev.hostId !== next.hostId || prev.status !== next.status) {
      this.state = { hostId: next.hostId, status: next.status };
      this.opts.stateStore.save(this.state);
    }
    const fields = { hostId: next.hostId, fingerprint: this.opts.identity.fingerprint };
    switch (next.status) {
      case 'pending':
        this.ready = false;
        this.opts.log.info('waiting for an operator to approve this host; compare the fingerprint', fields);
        break;
      case 'approved':
        if (prev.status !== 'approved') this.opts.log.info(prev.status === 'pending' ? 'host approved' : 'host is approved', fields);
        this.ready = true;
        this.opts.onReady();
        break;
      case 'rejected':
      case 'revoked':
        this.ready = false;
        this.opts.log.error(`host ${next.status}`, { ...fields, reason: next.reason ?? 'no reason given' });
        break;
    }
  }

  private onDisconnect(reason: string): void {
    this.ready = false;
    if (this.stopped || reason === 'io client disconnect') return;
    this.opts.log.warn('disconnected', { reason });
    // After a server-side disconnect socket.io does not reconnect by itself.
    if (this.socket && !this.socket.active) {
      const refused = this.state.status === 'rejected' || this.state.status === 'revoked';
      this.reconnectLater(refused ? cappedDelay(this.backoff) : backoffDelay(this.attempt++, this.backoff));
    }
  }

  private onConnectError(err: Error & { data?: unknown }): void {
    if (this.stopped) return;
    const data = err.data;
    const code = data && typeof data === 'object' && typeof (data as { code?: unknown }).code === 'string' ? (data as { code: string }).code : undefined;
    const reason = err.message.slice(0, 500);
    if (code === 'HOST_UNKNOWN') {
      this.state = {};
      this.opts.stateStore.save(this.state);
    }
    if (code === 'HOST_REJECTED' || code === 'HOST_REVOKED') {
      this.state = { ...this.state, status: code === 'HOST_REJECTED' ? 'rejected' : 'revoked' };
      this.opts.stateStore.save(this.state);
    }
    // A transport error (server down) keeps the socket active and socket.io retries with its own
    // backoff; a refusal by the server's middleware does not, so the retry is ours.
    const active = Boolean(this.socket?.active);
    const delay = active ? undefined
      : code === 'HOST_REJECTED' || code === 'HOST_REVOKED' ? cappedDelay(this.backoff)
      : code === 'HOST_UNKNOWN' ? backoffDelay(0, this.backoff)
      : backoffDelay(this.attempt++, this.backoff);
    const fields = { reason, code, advice: code ? ADVICE[code] : undefined, retryInMs: delay };
    // A server that is stopping or cannot reach its database now is a passing state, not a refusal of this host.
    if (code && !TRANSIENT_REFUSALS.has(code)) this.opts.log.error('server refused the connection', fields);
    else this.opts.log.warn('cannot connect', fields);
    if (delay !== undefined) this.reconnectLater(delay);
  }

  private reconnectLater(delayMs: number): void {
    if (this.stopped || !this.socket) return;
    const socket = this.socket;
    if (socket.connected) socket.disconnect();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped && !socket.connected) socket.connect();
    }, delayMs);
  }
}
