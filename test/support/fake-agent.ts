import { generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import {
  AGENT_NAMESPACE, AgentEvent, fingerprintOf, handshakeMessage, HostFacts, HostStatusPayload, PROTOCOL_VERSION, ServerAck, ServerEvent,
} from '@sysfleet/protocol';

export function sampleFacts(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: 'fake-1', fqdn: 'fake-1.test.lan', platform: 'linux', osName: 'Debian GNU/Linux', osVersion: '12', kernel: '6.1.0-18-amd64',
    arch: 'x64', cpuModel: 'Test CPU', cpuCount: 2, memoryTotalBytes: 4 * 2 ** 30, memoryFreeBytes: 2 ** 30,
    disks: [{ mount: '/', sizeBytes: 20 * 2 ** 30, freeBytes: 10 * 2 ** 30 }], interfaces: [{ name: 'eth0', mac: '52:54:00:00:00:01', addresses: ['10.0.0.2'] }],
    agentVersion: '0.0.0-fake', ...overrides,
  };
}

export interface HandshakeOverrides {
  protocolVersion?: number;
  hostId?: string;
  timestamp?: number;
  nonce?: string;
  signature?: string;
  publicKey?: string;
}

/** A refused connection: socket.io's connect_error with the server's message and `data.code`. */
export class ConnectRefused extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

/**
 * A protocol-speaking stand-in for the agent: a real Ed25519 key, a signed handshake, hello,
 * and raw emits for malformed-message tests.
 */
export class FakeAgent {
  readonly publicKeyPem: string;
  readonly fingerprint: string;
  hostId?: string;
  socket?: Socket;
  /** Every host.status the server pushed. */
  readonly statuses: HostStatusPayload[] = [];
  /** The last handshake sent, for replay tests. */
  lastAuth?: Record<string, unknown>;
  private readonly privateKey: KeyObject;

  constructor(readonly baseUrl: string) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    this.fingerprint = fingerprintOf(this.publicKeyPem);
  }

  /** The signed socket.io auth; overrides are applied after signing (so they can break it). */
  handshake(overrides: HandshakeOverrides = {}): Record<string, unknown> {
    const hostId = 'hostId' in overrides ? overrides.hostId : this.hostId;
    const timestamp = overrides.timestamp ?? Date.now();
    const nonce = overrides.nonce ?? randomBytes(18).toString('base64url');
    const signature = sign(null, handshakeMessage(hostId, this.fingerprint, timestamp, nonce), this.privateKey).toString('base64');
    return {
      protocolVersion: overrides.protocolVersion ?? PROTOCOL_VERSION,
      publicKey: overrides.publicKey ?? this.publicKeyPem,
      ...(hostId && { hostId }),
      timestamp,
      nonce,
      signature: overrides.signature ?? signature,
    };
  }

  /** Connects with a fresh signed handshake (or `auth` as given); rejects with ConnectRefused. */
  connect(opts: { overrides?: HandshakeOverrides; auth?: Record<string, unknown> } = {}): Promise<void> {
    this.socket?.disconnect();
    const auth = opts.auth ?? this.handshake(opts.overrides);
    this.lastAuth = auth;
    const socket = io(this.baseUrl + AGENT_NAMESPACE, { transports: ['websocket'], auth, reconnection: false, forceNew: true, timeout: 10_000 });
    this.socket = socket;
    socket.on(ServerEvent.HostStatus, (s: HostStatusPayload) => this.statuses.push(s));
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
        socket.disconnect();
        reject(new ConnectRefused(err.message, err.data?.code));
      });
    });
  }

  /** Connects and expects a refusal; returns its code and message. */
  async refusal(opts: { overrides?: HandshakeOverrides; auth?: Record<string, unknown> } = {}): Promise<{ code?: string; message: string }> {
    try {
      await this.connect(opts);
    } catch (e) {
      if (e instanceof ConnectRefused) return { code: e.code, message: e.message };
      throw e;
    }
    this.disconnect();
    throw new Error('the server accepted a connection that should have been refused');
  }

  async hello(opts: { facts?: Partial<HostFacts>; enrollmentToken?: string } = {}): Promise<HostStatusPayload> {
    const res = await this.request<HostStatusPayload | ServerAck>(AgentEvent.Hello, {
      facts: sampleFacts(opts.facts), ...(opts.enrollmentToken && { enrollmentToken: opts.enrollmentToken }),
    });
    if ('ok' in res) throw new Error(`hello refused: ${res.error}`);
    this.hostId = res.hostId;
    return res;
  }

  /** Emits with an ack and waits for it. */
  request<T = ServerAck>(event: string, ...payload: unknown[]): Promise<T> {
    const socket = this.requireSocket();
    return socket.timeout(10_000).emitWithAck(event, ...payload) as Promise<T>;
  }

  /** Emits without waiting for anything (malformed-message tests). */
  emitRaw(event: string, ...args: unknown[]): void {
    this.requireSocket().emit(event, ...args);
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Resolves when the server closes the connection. */
  disconnected(): Promise<string> {
    const socket = this.requireSocket();
    if (!socket.connected) return Promise.resolve('already disconnected');
    return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
  }

  disconnect(): void {
    this.socket?.disconnect();
  }

  private requireSocket(): Socket {
    if (!this.socket) throw new Error('not connected');
    return this.socket;
  }
}
