import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { HostFacts } from '@sysfleet/protocol';
import { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/auth.decorators';
import { HostEntity } from '../hosts/hosts.entity';
import { HostsRepository } from '../hosts/hosts.repository';
import { HostsService } from '../hosts/hosts.service';
import { CreatedEnrollmentTokenDto, CreateEnrollmentTokenDto, EnrollmentTokenDto, tokenState, toEnrollmentTokenDto } from './enrollment.dto';
import { EnrollmentTokenEntity } from './enrollment.entity';
import { EnrollmentErrors } from './enrollment.errors';
import { EnrollmentTokensRepository } from './enrollment.repository';

/** Secrets look like `sfe_<43 base64url chars>` (256 random bits) so they are easy to spot in logs and configs. */
const SECRET_PREFIX = 'sfe_';
const CHILD_TOKEN_SECONDS = 3600;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface EnrollRequest {
  publicKey: string;
  fingerprint: string;
  facts: HostFacts;
  token?: string;
  sourceIp?: string | null;
}

export interface EnrollResult {
  host: HostEntity;
  /** False when the key was already known (a reconnect, or a concurrent first hello). */
  created: boolean;
}

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class EnrollmentService {
  constructor(
    private readonly tokens: EnrollmentTokensRepository,
    private readonly hostsRepo: HostsRepository,
    private readonly hosts: HostsService,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async createToken(dto: CreateEnrollmentTokenDto, actor: Actor): Promise<CreatedEnrollmentTokenDto> {
    const { token, secret } = await this.mint({
      uses: dto.uses, expiresInSeconds: dto.expiresInSeconds, autoApprove: dto.autoApprove, note: dto.note ?? null, parentHostId: null, createdBy: actor.username,
    });
    return { ...toEnrollmentTokenDto(token), secret };
  }

  /** A single-use, auto-approving, one-hour token for one child VM of `parentHostId`. */
  async createChildToken(parentHostId: string, createdBy: string): Promise<{ id: string; secret: string; expiresAt: Date }> {
    if (!(await this.hostsRepo.existsById(parentHostId))) throw EnrollmentErrors.PARENT_NOT_FOUND(`Parent host ${parentHostId} not found`);
    const { token, secret } = await this.mint({
      uses: 1, expiresInSeconds: CHILD_TOKEN_SECONDS, autoApprove: true, note: `child of host ${parentHostId}`, parentHostId, createdBy,
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
   * The token use and the new host are one transaction, so a failed insert gives the use back.
   * A known key is returned as is (the caller updates its facts).
   */
  async enroll(req: EnrollRequest): Promise<EnrollResult> {
    const existing = await this.hostsRepo.findByFingerprint(req.fingerprint);
    if (existing) return { host: existing, created: false };
    const secretHash = req.token ? hashSecret(req.token) : null;
    let created: { host: HostEntity; token: EnrollmentTokenEntity | null };
    try {
      created = await this.dataSource.transaction(async (manager) => {
        const token = secretHash ? await this.tokens.consume(secretHash, manager) : null;
        const approve = token?.autoApprove === true;
        const host = await this.hostsRepo.insert(
          {
            publicKey: req.publicKey, fingerprint: req.fingerprint, facts: req.facts,
            status: approve ? 'approved' : 'pending',
            parentHostId: token?.parentHostId ?? null,
            enrollmentTokenId: token?.id ?? null,
            approvedBy: approve ? `token:${token.id}` : null,
            online: false,
          },
          manager,
        );
        return { host, token };
      });
    } catch (e) {
      // The same key said hello twice at once: the other connection stored it first.
      if ((e as { code?: string }).code === UNIQUE_VIOLATION || (e as { driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) {
        const host = await this.hostsRepo.findByFingerprint(req.fingerprint);
        if (host) return { host, created: false };
      }
      throw e;
    }
    const { host, token } = created;
    const agent = `agent:${host.id}`;
    await this.audit.record({
      actor: agent, action: 'host.enroll', targetType: 'host', targetId: host.id, outcome: 'success', sourceIp: req.sourceIp ?? null,
      details: { fingerprint: host.fingerprint, hostname: host.hostname, status: host.status, enrollmentTokenId: token?.id ?? null, parentHostId: host.parentHostId },
    });
    if (secretHash) await this.auditTokenUse(agent, host, token, secretHash, req.sourceIp ?? null);
    this.hosts.announceEnrolled(host);
    return { host, created: true };
  }

  private async auditTokenUse(agent: string, host: HostEntity, used: EnrollmentTokenEntity | null, secretHash: string, sourceIp: string | null): Promise<void> {
    if (used) {
      await this.audit.record({
        actor: agent, action: 'enrollment-token.use', targetType: 'enrollment-token', targetId: used.id, outcome: 'success', sourceIp,
        details: { hostId: host.id, autoApproved: used.autoApprove, usedCount: used.usedCount, uses: used.uses },
      });
      return;
    }
    // Why the token did not count; the host stays pending for an operator either way.
    const token = await this.tokens.findBySecretHash(secretHash);
    const reason = token ? tokenState(token) : 'unknown';
    await this.audit.record({
      actor: agent, action: 'enrollment-token.use', targetType: 'enrollment-token', targetId: token?.id, outcome: 'failure', sourceIp,
      details: { hostId: host.id, reason },
    });
  }
}
