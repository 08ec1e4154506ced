import { Injectable, Logger } from '@nestjs/common';
import {
  AgentToServerEvents, CommandAck, JobCancelPayload, JobCommandPayload, JobProgressPayload, JobResultPayload, parsePayload, ServerAck,
  ServerEvent, ServerToAgentEvents, VirtualizationReport,
} from '@sysfleet/protocol';
import type { Namespace, Socket } from 'socket.io';
import type { HostEntity } from '../hosts/hosts.entity';
import type { AgentIdentity } from './agent-handshake.service';

/** Events between server replicas on /agent (through the Redis adapter). */
export interface AgentInterServerEvents {
  /** An operator approved the host: the replica holding its connection makes it ready. */
  'host.approved': (hostId: string) => void;
}

/** What an /agent socket carries after the handshake. */
export interface AgentSocketData {
  identity: AgentIdentity;
  /** Set once agent.hello has been answered. */
  hostId?: string;
}

export type AgentNamespace = Namespace<AgentToServerEvents, ServerToAgentEvents, AgentInterServerEvents, AgentSocketData>;
export type AgentSocket = Socket<AgentToServerEvents, ServerToAgentEvents, AgentInterServerEvents, AgentSocketData>;

/** Receives job events from agents (the jobs feature sets it). */
export interface JobSink {
  progress(hostId: string, p: JobProgressPayload): Promise<ServerAck>;
  result(hostId: string, r: JobResultPayload): Promise<ServerAck>;
}

/** Receives the hypervisor report an agent sends on connect (the virtualization feature sets it). */
export type VirtualizationSink = (hostId: string, report: VirtualizationReport) => Promise<void>;

/** What a ready listener may need of the host without reading it again. */
export type ReadyHost = Pick<HostEntity, 'id' | 'status' | 'roles'>;
export type ReadyListener = (hostId: string, host?: ReadyHost) => void;

/** Every connection of a host, approved or pending: status pushes and disconnects go here. */
export const hostRoom = (hostId: string) => `host:${hostId}`;
/** Connections of an approved host that said hello: commands go here. */
export const readyRoom = (hostId: string) => `ready:${hostId}`;

/**
 * The job pipeline's way to reach agents, on whichever replica they are connected.
 */
@Injectable()
export class AgentChannel {
  private readonly logger = new Logger('AgentChannel');
  private ns: AgentNamespace | null = null;
  private sink: JobSink | null = null;
  private virtualizationSink: VirtualizationSink | null = null;
  private readonly readyListeners: ReadyListener[] = [];

  /** Called by the gateway once socket.io is up. */
  attach(ns: AgentNamespace): void {
    this.ns = ns;
  }

  /**
   * Sends a command to the host's agent and waits for its ack; null when no agent answered in
   * time (offline, or silent), so the caller keeps the job queued.
   */
  async sendCommand(hostId: string, payload: JobCommandPayload, timeoutMs: number): Promise<CommandAck | null> {
    return this.emitWithAck(hostId, ServerEvent.JobCommand, payload, timeoutMs);
  }

  async cancelJob(hostId: string, jobId: string, timeoutMs: number): Promise<CommandAck | null> {
    const payload: JobCancelPayload = { jobId };
    return this.emitWithAck(hostId, ServerEvent.JobCancel, payload, timeoutMs);
  }

  /** Whether an approved agent of this host is connected to this replica (no Redis round trip). */
  isReadyHere(hostId: string): boolean {
    return this.localReadySocket(hostId) !== undefined;
  }

  private localReadySocket(hostId: string): AgentSocket | undefined {
    const ns = this.ns;
    const ids = ns?.adapter.rooms.get(readyRoom(hostId));
    if (!ns || !ids) return undefined;
    for (const id of ids) {
      const socket = ns.sockets.get(id);
      if (socket?.connected) return socket;
    }
    return undefined;
  }

  private emitWithAck(hostId: string, event: typeof ServerEvent.JobCommand | typeof ServerEvent.JobCancel, payload: JobCommandPayload | JobCancelPayload, timeoutMs: number): Promise<CommandAck | null> {
    const ns = this.ns;
    if (!ns) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (err: Error | null, responses: unknown[] | undefined) => {
        // A host normally has one connection; take the first answer that is a valid ack.
        for (const response of responses ?? []) {
          const ack = parsePayload(CommandAck, response);
          if (ack.ok) return resolve(ack.value);
          this.logger.warn(`host ${hostId} answered ${event} with an invalid ack: ${ack.error}`);
        }
        if (err && (responses ?? []).length === 0) this.logger.debug(`no ack for ${event} from host ${hostId}: ${err.message}`);
        resolve(null);
      };
      // The agent is connected here: emit on its socket, without the adapter's Redis round trips.
      const local = this.localReadySocket(hostId) as unknown as { timeout(ms: number): { emit(ev: string, p: unknown, cb: (err: Error | null, response: unknown) => void): void } } | undefined;
      if (local) {
        local.timeout(timeoutMs).emit(event, payload, (err, response) => done(err, err ? [] : [response]));
        return;
      }
      // The typed event map describes one client's ack; a room broadcast acks with every client's answer.
      const target = ns.to(readyRoom(hostId)).timeout(timeoutMs) as unknown as {
        emit(ev: string, p: unknown, cb: (err: Error | null, responses: unknown[]) => void): void;
      };
      target.emit(event, payload, done);
    });
  }

  /** Whether an approved agent of this host is connected to any replica right now. */
  async isConnected(hostId: string): Promise<boolean> {
    if (!this.ns) return false;
    if (this.isReadyHere(hostId)) return true;
    try {
      const sockets = await this.ns.in(readyRoom(hostId)).fetchSockets();
      return sockets.length > 0;
    } catch (e) {
      this.logger.warn(`could not ask the replicas about host ${hostId}: ${(e as Error).message}`);
      return false;
    }
  }

  /**
   * `listener(hostId, host)` runs when an approved host has said hello on this replica (deliver its
   * queued jobs); `host` is the row the hello just wrote, when there is one, so it need not be read again.
   */
  onAgentReady(listener: ReadyListener): void {
    this.readyListeners.push(listener);
  }

  setJobSink(sink: JobSink): void {
    this.sink = sink;
  }

  /** @internal used by the gateway */
  jobSink(): JobSink | null {
    return this.sink;
  }

  setVirtualizationSink(sink: VirtualizationSink): void {
    this.virtualizationSink = sink;
  }

  /** @internal used by the gateway */
  virtualizationReportSink(): VirtualizationSink | null {
    return this.virtualizationSink;
  }

  /** @internal used by the gateway */
  notifyReady(hostId: string, host?: ReadyHost): void {
    for (const listener of this.readyListeners) {
      try {
        listener(hostId, host);
      } catch (e) {
        this.logger.error(`agent-ready listener failed for ${hostId}: ${(e as Error).message}`);
      }
    }
  }
}
