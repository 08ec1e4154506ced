import { BeforeApplicationShutdown, Logger, OnModuleDestroy } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import {
  AGENT_NAMESPACE, AgentEvent, VirtualizationReport, FactsPayload, HelloPayload, HostStatusPayload, JobProgressPayload, JobResultPayload, parsePayload,
  ServerAck, ServerEvent,
} from '@sysfleet/protocol';
import { EnrollmentService } from '../enrollment/enrollment.service';
import { HostEntity } from '../hosts/hosts.entity';
import { HostChange, HostsService } from '../hosts/hosts.service';
import { AgentChannel, AgentNamespace, AgentSocket, hostRoom, readyRoom } from './agent-channel.service';
import { AgentHandshakeService, HandshakeError } from './agent-handshake.service';
import { SOCKET_SERVER_OPTIONS } from './redis-io.adapter';

type Ack = (res: ServerAck | HostStatusPayload) => void;

/** How often this replica vouches for its connected hosts (one UPDATE for all of them). */
export const HEARTBEAT_INTERVAL_MS = 30_000;
/** Hosts no replica has vouched for this long are marked offline (their replica crashed). */
export const OFFLINE_AFTER_MS = 90_000;
/** How long a stopping server waits to mark its hosts offline before it goes on closing. */
const SHUTDOWN_PRESENCE_TIMEOUT_MS = 5_000;

type AgentEventName = (typeof AgentEvent)[keyof typeof AgentEvent];
type EventHandler = (socket: AgentSocket, payload: unknown) => Promise<ServerAck | HostStatusPayload>;

/** The socket.io /agent namespace: handshake, enrolment, facts, job events, presence. */
@WebSocketGateway({ namespace: AGENT_NAMESPACE, ...SOCKET_SERVER_OPTIONS })
export class AgentGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('AgentGateway');
  private ns!: AgentNamespace;
  /** This replica's connections per host that said hello. */
  private readonly local = new Map<string, Set<AgentSocket>>();
  private timer: NodeJS.Timeout | null = null;
  /** Set when the server begins to shut down: no new connection or hello, presence written once. */
  private closing = false;
  /** Hellos and offline marks under way: a stop lets them finish before it writes presence itself. */
  private readonly presenceInFlight = new Set<Promise<unknown>>();
  /** Every agent event has its handler (the Record makes a new event without one a type error). */
  private readonly handlers: Record<AgentEventName, EventHandler> = {
    [AgentEvent.Hello]: (s, p) => this.tracked(this.onHello(s, p)),
    [AgentEvent.Facts]: (s, p) => this.onFacts(s, p),
    [AgentEvent.JobProgress]: (s, p) => this.onJobProgress(s, p),
    [AgentEvent.JobResult]: (s, p) => this.onJobResult(s, p),
    [AgentEvent.Virtualization]: (s, p) => this.onVirtualization(s, p),
  };

  constructor(
    private readonly handshake: AgentHandshakeService,
    private readonly hosts: HostsService,
    private readonly enrollment: EnrollmentService,
    private readonly channel: AgentChannel,
  ) {}

  afterInit(ns: AgentNamespace): void {
    this.ns = ns;
    this.channel.attach(ns);
    ns.use((socket, next) => {
      if (this.closing) return next(new HandshakeError('SERVER_UNAVAILABLE', 'the server is shutting down; try again later'));
      const sourceIp = socket.handshake.address ?? null;
      this.handshake
        .verify(socket.handshake.auth, sourceIp)
        .then((result) => {
          if (!result.ok) return next(new HandshakeError(result.code, result.message));
          socket.data.identity = result.identity;
          // The PEM key and signature are checked; at 10,000 sockets they are memory worth giving back.
          socket.handshake.auth = {};
          next();
        })
        // Fail closed: anything unexpected refuses the connection.
        .catch((e: unknown) => {
          this.logger.error(`handshake check failed: ${(e as Error).message}`);
          next(new HandshakeError('SERVER_UNAVAILABLE', 'the server could not check the handshake; try again later'));
        });
    });
    ns.on('host.approved', (hostId) => void this.makeReady(hostId));
    this.hosts.onChange((change) => this.onHostChange(change));
    this.timer = setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Marks this replica's hosts offline while the database is still open (the connections are
   * closed after this hook, and a disconnect's own write would race the process exit). Done before
   * the agents can reconnect elsewhere, so another replica's hello comes after it; a host also
   * connected to another replica is vouched for again by that replica's next heartbeat.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    const marked = (async () => {
      // A hello under way would mark its host online again after the writes below, and a
      // disconnect's own mark would race the exit.
      await Promise.allSettled([...this.presenceInFlight]);
      const ids = [...this.local.keys()];
      await Promise.all(ids.map((id) => this.hosts.markOffline(id).catch((e: Error) => this.logger.error(`marking host ${id} offline failed: ${e.message}`))));
      return ids.length;
    })();
    // An unreachable database must not hold the stop open: the heartbeat sweep is the fallback.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SHUTDOWN_PRESENCE_TIMEOUT_MS)));
    const outcome = await Promise.race([marked, gaveUp]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logger.warn(`shutting down: marking hosts offline took over ${SHUTDOWN_PRESENCE_TIMEOUT_MS} ms; left to the heartbeat sweep`);
    else if (outcome > 0) this.logger.log(`shutting down: ${outcome} host(s) marked offline`);
  }

  private tracked<T>(write: Promise<T>): Promise<T> {
    this.presenceInFlight.add(write);
    const forget = () => this.presenceInFlight.delete(write);
    write.then(forget, forget);
    return write;
  }

  handleConnection(socket: AgentSocket): void {
    // The upgrade request (headers, TLS socket, buffers) is not needed after the handshake; with
    // thousands of agents connected it is memory worth giving back.
    (socket.conn as unknown as { request: unknown }).request = null;
    // Bound here rather than through Nest's OnGatewayDisconnect, which does not pass the reason. Not
    // named handleDisconnect: Nest calls a method of that name on every disconnect as well.
    socket.once('disconnect', (reason) => this.onDisconnect(socket, reason));
    // One listener routes every event: a closure per event and connection is memory at 10,000 agents.
    socket.onAny((event: unknown, ...args: unknown[]) => this.route(socket, event, args));
  }

  private route(socket: AgentSocket, event: unknown, args: unknown[]): void {
    const handle = typeof event === 'string' && Object.hasOwn(this.handlers, event) ? this.handlers[event as AgentEventName] : undefined;
    if (handle) return this.dispatch(socket, event as string, args, (p) => handle(socket, p));
    this.logger.warn(`dropped unknown event ${JSON.stringify(String(event)).slice(0, 80)} from ${this.who(socket)}`);
    const ack = args[args.length - 1];
    if (typeof ack === 'function') (ack as Ack)({ ok: false, error: 'unknown event' });
  }

  /** `reason` is socket.io's: "transport error" for a frame over MAX_TRANSPORT_BYTES, "ping timeout" for a silent peer. */
  private onDisconnect(socket: AgentSocket, reason: string): void {
    this.logger.log(`${this.who(socket)} disconnected: ${reason}`);
    const hostId = socket.data.hostId;
    if (!hostId) return;
    const sockets = this.local.get(hostId);
    sockets?.delete(socket);
    if (sockets && sockets.size > 0) return;
    this.local.delete(hostId);
    if (!this.closing) void this.tracked(this.markOfflineUnlessConnectedElsewhere(hostId));
  }

  private async markOfflineUnlessConnectedElsewhere(hostId: string): Promise<void> {
    try {
      const elsewhere = await this.ns.in(readyRoom(hostId)).fetchSockets().catch(() => []);
      if (elsewhere.length === 0) await this.hosts.markOffline(hostId);
    } catch (e) {
      this.logger.error(`marking host ${hostId} offline failed: ${(e as Error).message}`);
    }
  }

  /** One payload argument and an optional ack; anything else is dropped. Handlers never disconnect on bad input. */
  private dispatch(socket: AgentSocket, event: string, args: unknown[], handle: (payload: unknown) => Promise<ServerAck | HostStatusPayload>): void {
    const last = args[args.length - 1];
    const ack: Ack | undefined = typeof last === 'function' ? (last as Ack) : undefined;
    const payloads = ack ? args.slice(0, -1) : args;
    const reply = (res: ServerAck | HostStatusPayload) => ack?.(res);
    if (payloads.length !== 1) {
      this.logger.warn(`dropped ${event} from ${this.who(socket)}: expected one payload, got ${payloads.length}`);
      return reply({ ok: false, error: `${event} takes exactly one payload` });
    }
    handle(payloads[0]).then(reply, (e: unknown) => {
      this.logger.error(`${event} from ${this.who(socket)} failed: ${(e as Error).stack ?? String(e)}`);
      reply({ ok: false, error: 'internal error; retry later' });
    });
  }

  private refuse(socket: AgentSocket, event: string, error: string): ServerAck {
    this.logger.warn(`dropped ${event} from ${this.who(socket)}: ${error}`);
    return { ok: false, error };
  }

  private async onHello(socket: AgentSocket, raw: unknown): Promise<ServerAck | HostStatusPayload> {
    if (this.closing) {
      // Dropped, not refused: an agent waits long after a refused hello, but reconnects soon after a
      // disconnect, to another replica or to this one once it is back.
      socket.disconnect(true);
      return this.refuse(socket, AgentEvent.Hello, 'the server is shutting down');
    }
    const parsed = parsePayload(HelloPayload, raw);
    if (!parsed.ok) return this.refuse(socket, AgentEvent.Hello, parsed.error);
    const { identity } = socket.data;
    const { facts, enrollmentToken } = parsed.value;
    // The handshake already looked the key up: a known host is one UPDATE, a new key goes to enrolment.
    const knownHostId = socket.data.hostId ?? identity.hostId;
    let host: HostEntity | null;
    let wentOnline = false;
    if (knownHostId) {
      host = await this.hosts.recordHello(knownHostId, facts);
      wentOnline = true;
    } else {
      if (!identity.publicKey) return this.refuse(socket, AgentEvent.Hello, 'reconnect to enrol');
      const enrolled = await this.enrollment.enroll({
        publicKey: identity.publicKey, fingerprint: identity.fingerprint, facts, token: enrollmentToken, sourceIp: socket.handshake.address ?? null, existing: null, connected: true,
      });
      host = enrolled.created ? enrolled.host : await this.hosts.recordHello(enrolled.host.id, facts);
      wentOnline = !enrolled.created || host?.online === true;
      // Stored with the host now; the socket no longer needs its own copy.
      socket.data.identity = { fingerprint: identity.fingerprint };
    }
    if (!host) {
      // Deleted between the lookup and the update: its key is forgotten, so start over.
      socket.disconnect(true);
      return { ok: false, error: 'host was deleted; reconnect to enrol again' };
    }
    if (host.status === 'rejected' || host.status === 'revoked') {
      setImmediate(() => socket.disconnect(true));
      return { hostId: host.id, status: host.status, ...(host.statusReason && { reason: host.statusReason }) };
    }
    if (socket.data.hostId !== host.id) {
      socket.data.hostId = host.id;
      socket.join(hostRoom(host.id));
      let set = this.local.get(host.id);
      if (!set) this.local.set(host.id, (set = new Set()));
      set.add(socket);
    }
    if (host.status === 'approved') await this.makeSocketReady(socket, host, wentOnline);
    return { hostId: host.id, status: host.status, ...(host.status === 'pending' && { reason: 'waiting for an operator to approve this host' }) };
  }

  /** An approved host's connection: joins the command room, goes online, and its queued jobs may flow. */
  private async makeSocketReady(socket: AgentSocket, host: HostEntity, alreadyOnline: boolean): Promise<void> {
    socket.join(readyRoom(host.id));
    if (!alreadyOnline) await this.hosts.markOnline(host.id);
    // After the hello ack is on its way, so the agent knows its host id before commands arrive.
    setImmediate(() => this.channel.notifyReady(host.id, host));
  }

  /** On this replica: make every connection of a newly approved host ready. */
  private async makeReady(hostId: string): Promise<void> {
    const sockets = [...(this.local.get(hostId) ?? [])].filter((s) => s.connected);
    if (sockets.length === 0) return;
    try {
      for (const s of sockets) s.join(readyRoom(hostId));
      await this.hosts.markOnline(hostId);
      this.channel.notifyReady(hostId);
    } catch (e) {
      this.logger.error(`making host ${hostId} ready failed: ${(e as Error).message}`);
    }
  }

  private onHostChange(change: HostChange): void {
    if (change.kind === 'removed') {
      this.ns.in(hostRoom(change.hostId)).disconnectSockets(true);
      return;
    }
    const { host } = change;
    const status: HostStatusPayload = { hostId: host.id, status: host.status, ...(host.statusReason && { reason: host.statusReason }) };
    this.ns.to(hostRoom(host.id)).emit(ServerEvent.HostStatus, status);
    if (host.status === 'approved') {
      void this.makeReady(host.id);
      this.ns.serverSideEmit('host.approved', host.id);
    } else if (host.status === 'rejected' || host.status === 'revoked') {
      // Across replicas through the adapter; the status above is delivered first (same channel, in order).
      this.ns.in(hostRoom(host.id)).disconnectSockets(true);
    }
  }

  private async onFacts(socket: AgentSocket, raw: unknown): Promise<ServerAck> {
    const hostId = socket.data.hostId;
    if (!hostId) return this.refuse(socket, AgentEvent.Facts, 'send agent.hello first');
    const parsed = parsePayload(FactsPayload, raw);
    if (!parsed.ok) return this.refuse(socket, AgentEvent.Facts, parsed.error);
    const host = await this.hosts.updateFacts(hostId, parsed.value.facts);
    return host ? { ok: true } : { ok: false, error: 'host not found' };
  }

  private async onJobProgress(socket: AgentSocket, raw: unknown): Promise<ServerAck> {
    const hostId = this.approvedHostId(socket);
    if (!hostId) return this.refuse(socket, AgentEvent.JobProgress, 'host not approved');
    const parsed = parsePayload(JobProgressPayload, raw);
    if (!parsed.ok) return this.refuse(socket, AgentEvent.JobProgress, parsed.error);
    const sink = this.channel.jobSink();
    if (!sink) return { ok: false, error: 'job pipeline not available' };
    return sink.progress(hostId, parsed.value);
  }

  private async onJobResult(socket: AgentSocket, raw: unknown): Promise<ServerAck> {
    const hostId = this.approvedHostId(socket);
    if (!hostId) return this.refuse(socket, AgentEvent.JobResult, 'host not approved');
    const parsed = parsePayload(JobResultPayload, raw);
    if (!parsed.ok) return this.refuse(socket, AgentEvent.JobResult, parsed.error);
    const sink = this.channel.jobSink();
    if (!sink) return { ok: false, error: 'job pipeline not available' };
    return sink.result(hostId, parsed.value);
  }

  private async onVirtualization(socket: AgentSocket, raw: unknown): Promise<ServerAck> {
    const hostId = this.approvedHostId(socket);
    if (!hostId) return this.refuse(socket, AgentEvent.Virtualization, 'host not approved');
    const parsed = parsePayload(VirtualizationReport, raw);
    if (!parsed.ok) return this.refuse(socket, AgentEvent.Virtualization, parsed.error);
    const sink = this.channel.virtualizationReportSink();
    if (!sink) return { ok: false, error: 'virtualization reports not available' };
    await sink(hostId, parsed.value);
    return { ok: true };
  }

  private approvedHostId(socket: AgentSocket): string | null {
    const hostId = socket.data.hostId;
    return hostId && socket.rooms.has(readyRoom(hostId)) ? hostId : null;
  }

  private who(socket: AgentSocket): string {
    return socket.data.hostId ? `host ${socket.data.hostId}` : `key ${socket.data.identity?.fingerprint ?? '?'}`;
  }

  /** Vouches for this replica's approved hosts and marks hosts no replica vouched for as offline. */
  private async heartbeat(): Promise<void> {
    try {
      const ids: string[] = [];
      for (const [id, sockets] of this.local) {
        const room = readyRoom(id);
        for (const s of sockets) {
          if (s.rooms.has(room)) {
            ids.push(id);
            break;
          }
        }
      }
      // Rows stamped within half a beat (a hello just now) are fresh enough to skip.
      await this.hosts.touchConnected(ids, HEARTBEAT_INTERVAL_MS / 2);
      const gone = await this.hosts.markSilentOffline(OFFLINE_AFTER_MS);
      if (gone > 0) this.logger.warn(`marked ${gone} silent host(s) offline`);
    } catch (e) {
      this.logger.error(`heartbeat failed: ${(e as Error).message}`);
    }
  }
}
