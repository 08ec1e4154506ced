import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { HostFacts } from '@sysfleet/protocol';
import { AuditInput, AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/auth.decorators';
import { HostEntity } from '../hosts/hosts.entity';
import { HostsRepository, NewHost } from '../hosts/hosts.repository';
import { HostsService } from '../hosts/hosts.service';
import { CreatedEnrollmentTokenDto, CreateEnrollmentTokenDto, EnrollmentTokenDto, tokenState, toEnrollmentTokenDto } from './enrollment.dto';
import { EnrollmentTokenEntity } from './enrollment.entity';
import { EnrollmentErrors } from './enrollment.errors';
import { EnrollmentTokensRepository } from './enrollment.repository';

/** Secrets look like `sfe_<43 base64url chars>` (256 random bits) so they are easy to spot in logs and configs. */
const SECRET_PREFIX = 'sfe_';
/** A child's token lasts at least this long, and longer when its create job may take longer. */
export const CHILD_TOKEN_MIN_SECONDS = 3600;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface EnrollRequest {
  publicKey: string;
  fingerprint: string;
  facts: HostFacts;
  token?: string;
  sourceIp?: string | null;
  /** The key's host as the caller already looked it up (null: none); undefined looks it up here. */
  existing?: HostEntity | null;
  /** The agent is connected and becomes ready at once: an auto-approved host is stored online (saves an UPDATE). */
  connected?: boolean;
}

export interface EnrollResult {
  host: HostEntity;
  /** False when the key was already known (a reconnect, or a concurrent first hello). */
  created: boolean;
}

/** Enrolments stored in one transaction at most (one multi-row INSERT). */
const MAX_ENROLMENT_BATCH = 500;
/** The queue of enrolments that came without a token (a token's queue is keyed by its secret's hash). */
const NO_TOKEN = '';

interface QueuedEnrolment {
  req: EnrollRequest;
  resolve: (result: EnrollResult) => void;
  reject: (error: unknown) => void;
}

@Injectable()
export class EnrollmentService {
  constructor(
    private readonly tokens: EnrollmentTokensRepository,
    private readonly hostsRepo: HostsRepository,
    private readonly hosts: HostsService,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Enrolments waiting for their batch, per token (secret hash; NO_TOKEN for none), and the queues being drained. */
  private readonly tokenQueues = new Map<string, QueuedEnrolment[]>();
  private readonly draining = new Set<string>();

  async createToken(dto: CreateEnrollmentTokenDto, actor: Actor): Promise<CreatedEnrollmentTokenDto> {
    const { token, secret } = await this.mint({
      uses: dto.uses, expiresInSeconds: dto.expiresInSeconds, autoApprove: dto.autoApprove, note: dto.note ?? null, parentHostId: null, createdBy: actor.username,
    });
    return { ...toEnrollmentTokenDto(token), secret };
  }

  /**
   * A single-use, auto-approving token for one child VM of `parentHostId`, valid for
   * `validSeconds` (the create job's whole possible life, see ChildHostsService) and never less than an hour.
   */
  async createChildToken(parentHostId: string, createdBy: string, validSeconds = CHILD_TOKEN_MIN_SECONDS): Promise<{ id: string; secret: string; expiresAt: Date }> {
    if (!(await this.hostsRepo.existsById(parentHostId))) throw EnrollmentErrors.PARENT_NOT_FOUND(`Parent host ${parentHostId} not found`);
    const { token, secret } = await this.mint({
      uses: 1, expiresInSeconds: Math.max(CHILD_TOKEN_MIN_SECONDS, Math.ceil(validSeconds)), autoApprove: true, note: `child of host ${parentHostId}`, parentHostId, createdBy,
    });
    return { id: token.id, secret, expiresAt: token.expiresAt };
  }

  private async mint(t: { uses: number; expiresInSeconds: number; autoApprove: boolean; note: string | null; parentHostId: string | null; createdBy: string }) {
    const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const token = await this.tokens.create({
      secretHash: hashSecret(secret), uses: t.uses, expiresAt: new Date(Date.now() + t.expiresInSeconds * 1000),
      autoApprove: t.autoApprove, note: t.note, parentHostId: t.parentHostId, createdBy: t.createdBy,
    });
    return { token, secret };
  }

  async listTokens(limit: number, offset: number): Promise<{ items: EnrollmentTokenDto[]; total: number }> {
    const [rows, total] = await this.tokens.list(limit, offset);
    const now = new Date();
    return { items: rows.map((t) => toEnrollmentTokenDto(t, now)), total };
  }

  async revokeToken(id: string): Promise<EnrollmentTokenDto> {
    const token = await this.tokens.revoke(id);
    if (!token) throw EnrollmentErrors.TOKEN_NOT_FOUND(`Enrollment token ${id} not found`);
    return toEnrollmentTokenDto(token);
  }

  /**
   * First hello of a key: stores the host, pending unless a valid auto-approving token came with it.
   * Enrolments are batched per token (and those without a token together): while one batch is
   * being stored the next ones queue, and each batch is one transaction (one token UPDATE for all
   * its uses, one multi-row host INSERT) and one audit INSERT, so a thousand agents starting at
   * once are not stored one row lock and one commit at a time. A failed insert gives the uses back
   * (same transaction). A known key is returned as is (the caller updates its facts).
   */
  async enroll(req: EnrollRequest): Promise<EnrollResult> {
    const existing = req.existing !== undefined ? req.existing : await this.hostsRepo.findByFingerprint(req.fingerprint);
    if (existing) return { host: existing, created: false };
    return this.queueEnrolment(req.token ? hashSecret(req.token) : NO_TOKEN, req);
  }

  private queueEnrolment(queueKey: string, req: EnrollRequest): Promise<EnrollResult> {
    return new Promise<EnrollResult>((resolve, reject) => {
      let queue = this.tokenQueues.get(queueKey);
      if (!queue) this.tokenQueues.set(queueKey, (queue = []));
      queue.push({ req, resolve, reject });
      // The first waiter starts the drain (after this tick, so hellos that arrived together go together).
      if (queue.length === 1 && !this.draining.has(queueKey)) {
        this.draining.add(queueKey);
        setImmediate(() => void this.drainTokenQueue(queueKey));
      }
    });
  }

  private async drainTokenQueue(secretHash: string): Promise<void> {
    for (;;) {
      const queue = this.tokenQueues.get(secretHash) ?? [];
      const batch = queue.splice(0, MAX_ENROLMENT_BATCH);
      if (batch.length === 0) break;
      try {
        const results = await this.enrollBatch(secretHash, batch.map((w) => w.req));
        batch.forEach((w, i) => w.resolve(results[i]));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.tokenQueues.delete(secretHash);
    this.draining.delete(secretHash);
  }

  /** One transaction for enrolments with one token (or none): the first `granted` get the token, the rest arrive pending. */
  private async enrollBatch(secretHash: string, reqs: EnrollRequest[]): Promise<EnrollResult[]> {
    const withToken = secretHash !== NO_TOKEN;
    const { inserted, token, granted, usedBefore } = await this.dataSource.transaction(async (manager) => {
      const use = withToken ? await this.tokens.consumeMany(secretHash, reqs.length, manager) : null;
      const granted = use?.granted ?? 0;
      const rows = await this.hostsRepo.insertMany(reqs.map((r, i) => newHost(r, i < granted ? use!.token : null)), manager);
      const inserted = claimInserted(reqs, rows);
      // Keys already enrolled (another connection of the same key) give their use back.
      const unused = inserted.slice(0, granted).filter((h) => h === null).length;
      const token = unused > 0 ? await this.tokens.giveBack(secretHash, unused, manager) : (use?.token ?? null);
      return { inserted, token, granted, usedBefore: use ? use.token.usedCount - granted : 0 };
    });
    // Why the token did not count for the rest: one look at it for the whole batch.
    const refusal = withToken && granted < reqs.length ? (granted > 0 ? { reason: 'used-up', tokenId: token?.id } : await this.refusalReason(secretHash)) : null;
    const events: AuditInput[] = [];
    const results: EnrollResult[] = [];
    let ordinal = usedBefore;
    for (const [i, req] of reqs.entries()) {
      const host = inserted[i];
      if (!host) {
        const stored = await this.hostsRepo.findByFingerprint(req.fingerprint);
        if (!stored) throw new Error(`host of key ${req.fingerprint} was neither stored nor found`);
        results.push({ host: stored, created: false });
        continue;
      }
      const sourceIp = req.sourceIp ?? null;
      const agent = `agent:${host.id}`;
      const used = i < granted && token ? token : null;
      events.push(enrollEvent(host, used, sourceIp));
      if (withToken) events.push(
        used
          ? {
              actor: agent, action: 'enrollment-token.use', targetType: 'enrollment-token', targetId: used.id, outcome: 'success', sourceIp,
              details: { hostId: host.id, autoApproved: used.autoApprove, usedCount: ++ordinal, uses: used.uses },
            }
          : {
              actor: agent, action: 'enrollment-token.use', targetType: 'enrollment-token', targetId: refusal?.tokenId, outcome: 'failure', sourceIp,
              details: { hostId: host.id, reason: refusal?.reason ?? 'used-up' },
            },
      );
      results.push({ host, created: true });
    }
    await this.audit.recordMany(events);
    for (const r of results) if (r.created) this.hosts.announceEnrolled(r.host);
    return results;
  }

  private async refusalReason(secretHash: string): Promise<{ reason: string; tokenId?: string }> {
    const token = await this.tokens.findBySecretHash(secretHash);
    return token ? { reason: tokenState(token), tokenId: token.id } : { reason: 'unknown' };
  }
}

function newHost(req: EnrollRequest, token: EnrollmentTokenEntity | null): NewHost {
  const approve = token?.autoApprove === true;
  return {
    publicKey: req.publicKey, fingerprint: req.fingerprint, facts: req.facts,
    status: approve ? 'approved' : 'pending',
    parentHostId: token?.parentHostId ?? null,
    enrollmentTokenId: token?.id ?? null,
    approvedBy: approve ? `token:${token.id}` : null,
    online: approve && req.connected === true,
  };
}

function enrollEvent(host: HostEntity, token: EnrollmentTokenEntity | null, sourceIp: string | null): AuditInput {
  return {
    actor: `agent:${host.id}`, action: 'host.enroll', targetType: 'host', targetId: host.id, outcome: 'success', sourceIp,
    details: { fingerprint: host.fingerprint, hostname: host.hostname, status: host.status, enrollmentTokenId: token?.id ?? null, parentHostId: host.parentHostId },
  };
}

/** The stored row of each request, in order; null for a key that was already there (or twice in the batch: the first one wins). */
function claimInserted(reqs: EnrollRequest[], rows: HostEntity[]): (HostEntity | null)[] {
  const byKey = new Map(rows.map((h) => [h.fingerprint, h]));
  return reqs.map((r) => {
    const host = byKey.get(r.fingerprint) ?? null;
    byKey.delete(r.fingerprint);
    return host;
  });
}
