import { Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { fingerprintOf, HANDSHAKE_MAX_SKEW_MS, HandshakeAuth, parsePayload, ParsedPublicKey, parsePublicKey, PROTOCOL_VERSION, verifyHandshake } from '@sysfleet/protocol';
import { AuditService } from '../audit/audit.service';
import { EnvironmentVariables } from '../config/config';
import { InjectRedis } from '../database/redis';
import { HostsService } from '../hosts/hosts.service';

export const HANDSHAKE_REFUSALS = [
  'HOST_REJECTED', 'HOST_REVOKED', 'BAD_SIGNATURE', 'STALE_TIMESTAMP', 'NONCE_REUSED', 'HOST_KEY_MISMATCH', 'PROTOCOL_VERSION',
  'INVALID_HANDSHAKE', 'HOST_UNKNOWN',
  // The server could not check the handshake (database or Redis down): refused, worth retrying.
  'SERVER_UNAVAILABLE',
] as const;
export type HandshakeRefusal = (typeof HANDSHAKE_REFUSALS)[number];

/** Who is on the other end of an accepted /agent connection. */
export interface AgentIdentity {
  /** The key in PEM, kept only while the key has no host (enrolment stores it); dropped to save memory per socket. */
  publicKey?: string;
  fingerprint: string;
  /** The enrolled host of this key, when it already has one. */
  hostId?: string;
}

export type HandshakeResult = { ok: true; identity: AgentIdentity } | { ok: false; code: HandshakeRefusal; message: string };

/** Error handed to socket.io's next(): the client sees `message` and `data.code` in connect_error. */
export class HandshakeError extends Error {
  readonly data: { code: HandshakeRefusal };
  constructor(code: HandshakeRefusal, message: string) {
    super(message);
    this.data = { code };
  }
}

/**
 * Checks an /agent connection's handshake: shape, protocol version, signature over
 * (host id, fingerprint, timestamp, nonce), clock skew, single-use nonce, and the key's standing.
 */
@Injectable()
export class AgentHandshakeService {
  private readonly logger = new Logger('AgentHandshake');

  constructor(
    private readonly hosts: HostsService,
    @InjectRedis() private readonly redis: Redis,
    private readonly config: EnvironmentVariables,
    private readonly audit: AuditService,
  ) {}

  async verify(raw: unknown, sourceIp: string | null, now = Date.now()): Promise<HandshakeResult> {
    const result = await this.check(raw, now);
    if (!result.ok) {
      const who = this.describeCaller(raw);
      this.logger.warn(`refused /agent connection from ${sourceIp ?? '?'} (${who}): ${result.code} ${result.message}`);
      await this.audit
        .record({ actor: `agent:${who}`, action: 'agent.handshake', targetType: 'host', targetId: this.claimedHostId(raw), outcome: 'failure', sourceIp, details: { code: result.code, reason: result.message } })
        .catch((e: unknown) => this.logger.error(`audit of a refused handshake failed: ${(e as Error).message}`));
    }
    return result;
  }

  private async check(raw: unknown, now: number): Promise<HandshakeResult> {
    const refuse = (code: HandshakeRefusal, message: string): HandshakeResult => ({ ok: false, code, message });
    // Version first: a newer agent may send a shape this server does not know.
    const version = typeof raw === 'object' && raw !== null ? (raw as { protocolVersion?: unknown }).protocolVersion : undefined;
    if (typeof version === 'number' && version !== PROTOCOL_VERSION) {
      return refuse('PROTOCOL_VERSION', `protocol version ${version} is not supported; this server speaks version ${PROTOCOL_VERSION}: upgrade the agent or the server`);
    }
    const parsed = parsePayload(HandshakeAuth, raw);
    if (!parsed.ok) return refuse('INVALID_HANDSHAKE', `invalid handshake: ${parsed.error}`);
    const auth = parsed.value;
    let key: ParsedPublicKey;
    try {
      key = parsePublicKey(auth.publicKey);
    } catch {
      return refuse('INVALID_HANDSHAKE', 'invalid handshake: publicKey is not an Ed25519 public key');
    }
    const { fingerprint } = key;
    if (!(await verifyHandshake(key, auth.hostId, auth.timestamp, auth.nonce, auth.signature))) {
      return refuse('BAD_SIGNATURE', 'handshake signature does not verify with the presented key');
    }
    if (Math.abs(now - auth.timestamp) > HANDSHAKE_MAX_SKEW_MS) {
      return refuse('STALE_TIMESTAMP', `handshake timestamp is ${Math.round((now - auth.timestamp) / 1000)} s off the server clock (limit ${HANDSHAKE_MAX_SKEW_MS / 1000} s): check the host's clock`);
    }
    // Kept twice the skew window: older replays are refused as stale anyway.
    const fresh = await this.redis.set(`${this.config.REDIS_PREFIX}:agent-nonce:${fingerprint}:${auth.nonce}`, '1', 'PX', 2 * HANDSHAKE_MAX_SKEW_MS, 'NX');
    if (fresh !== 'OK') return refuse('NONCE_REUSED', 'handshake nonce was already used (replayed handshake)');

    const host = auth.hostId ? await this.hosts.findById(auth.hostId) : await this.hosts.findByFingerprint(fingerprint);
    if (auth.hostId && !host) return refuse('HOST_UNKNOWN', `host ${auth.hostId} is not known to this server (deleted?): forget the host id and enrol again`);
    if (host && host.fingerprint !== fingerprint) {
      return refuse('HOST_KEY_MISMATCH', `host ${host.id} is enrolled with another key (${host.fingerprint}); this key is ${fingerprint}`);
    }
    if (host?.status === 'rejected') return refuse('HOST_REJECTED', `this host's key was rejected by an operator${host.statusReason ? `: ${host.statusReason}` : ''}`);
    if (host?.status === 'revoked') return refuse('HOST_REVOKED', `this host's key was revoked by an operator${host.statusReason ? `: ${host.statusReason}` : ''}`);
    return { ok: true, identity: host ? { fingerprint, hostId: host.id } : { publicKey: auth.publicKey, fingerprint } };
  }

  private claimedHostId(raw: unknown): string | undefined {
    const id = typeof raw === 'object' && raw !== null ? (raw as { hostId?: unknown }).hostId : undefined;
    return typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id) ? id : undefined;
  }

  /** For logs and the audit trail only: the claimed host id, else the key's fingerprint. */
  private describeCaller(raw: unknown): string {
    const hostId = this.claimedHostId(raw);
    if (hostId) return hostId;
    const key = typeof raw === 'object' && raw !== null ? (raw as { publicKey?: unknown }).publicKey : undefined;
    if (typeof key === 'string' && key.length <= 1024) {
      try {
        return fingerprintOf(key);
      } catch {
        /* not a key: fall through */
      }
    }
    return 'unknown';
  }
}
