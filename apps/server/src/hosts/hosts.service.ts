import { Injectable, Logger } from '@nestjs/common';
import { HostFacts, HostStatus, UiEvent } from '@sysfleet/protocol';
import { AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/auth.decorators';
import { UiEvents } from '../ui-gateway/ui-events.service';
import { BulkResultDto, HostDetailDto, HostDto, ListHostsQueryDto, toHostDetailDto, toHostDto } from './hosts.dto';
import { HostEntity } from './hosts.entity';
import { HostErrors } from './hosts.errors';
import { HostsRepository } from './hosts.repository';

export type HostAction = 'approve' | 'reject' | 'revoke';

/** Which statuses each operator action may start from, and where it leads. */
export const TRANSITIONS: Record<HostAction, { to: HostStatus; from: readonly HostStatus[] }> = {
  // Approving a rejected host lets an operator undo a mistaken rejection.
  approve: { to: 'approved', from: ['pending', 'rejected'] },
  reject: { to: 'rejected', from: ['pending'] },
  revoke: { to: 'revoked', from: ['approved'] },
};

const TRANSITION_HINTS: Partial<Record<HostAction, Partial<Record<HostStatus, string>>>> = {
  approve: { revoked: 'a revoked key stays refused; delete the host so it can enrol again as a new pending host' },
  reject: { approved: 'revoke an approved host instead', revoked: 'the host is already revoked' },
  revoke: { pending: 'reject a pending host instead', rejected: 'the host is already rejected' },
};

/** What the agent connection layer must do after a change made here. */
export type HostChange =
  | { kind: 'status'; host: HostEntity }
  | { kind: 'removed'; hostId: string };

@Injectable()
export class HostsService {
  private readonly logger = new Logger('Hosts');
  private readonly listeners: ((change: HostChange) => void)[] = [];

  constructor(
    private readonly hosts: HostsRepository,
    private readonly audit: AuditService,
    private readonly ui: UiEvents,
  ) {}

  /** The agent gateway listens here to push status to, or disconnect, the host's agent (no import cycle). */
  onChange(listener: (change: HostChange) => void): void {
    this.listeners.push(listener);
  }

  private emitChange(change: HostChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (e) {
        this.logger.error(`host change listener failed: ${(e as Error).message}`);
      }
    }
  }

  async list(query: ListHostsQueryDto): Promise<{ items: HostDto[]; total: number }> {
    const { items, total } = await this.hosts.search(query);
    return { items: items.map(toHostDto), total };
  }

  async get(id: string): Promise<HostDetailDto> {
    const host = await this.hosts.findById(id);
    if (!host) throw HostErrors.NOT_FOUND(`Host ${id} not found`);
    return toHostDetailDto(host);
  }

  /** Each known host's status, by id (unknown ids are absent). */
  statusesOf(ids: string[]): Promise<Map<string, HostStatus>> {
    return this.hosts.statusesOf(ids);
  }

  findByFingerprint(fingerprint: string): Promise<HostEntity | null> {
    return this.hosts.findByFingerprint(fingerprint);
  }

  findById(id: string): Promise<HostEntity | null> {
    return this.hosts.findById(id);
  }

  async change(action: HostAction, id: string, actor: Actor, reason?: string): Promise<HostDto> {
    const report = await this.changeMany(action, [id], actor, { reason, auditEach: false });
    const item = report.results[0];
    if (!item.ok) {
      throw item.code === 'HOST_NOT_FOUND' ? HostErrors.NOT_FOUND(item.message) : HostErrors.INVALID_TRANSITION(item.message);
    }
    return this.get(id);
  }

  /**
   * Applies `action` to every host in `ids` that allows it, in one UPDATE, and reports per id.
   * A host already in the target status counts as ok (nothing to do). `auditEach` records one audit
   * event per host (bulk requests; the HTTP request itself is audited by the audit interceptor).
   */
  async changeMany(action: HostAction, ids: string[], actor: Actor, opts: { reason?: string; auditEach?: boolean } = {}): Promise<BulkResultDto> {
    const { reason, auditEach = true } = opts;
    const unique = [...new Set(ids)];
    const { to, from } = TRANSITIONS[action];
    const changed = await this.hosts.changeStatus(unique, from, {
      status: to,
      statusReason: reason ?? null,
      ...(to === 'approved' && { approvedBy: actor.username }),
    });
    const changedIds = new Set(changed.map((h) => h.id));
    const others = await this.hosts.statusesOf(unique.filter((id) => !changedIds.has(id)));
    const results = unique.map((id) => {
      if (changedIds.has(id)) return { id, ok: true, status: to };
      const status = others.get(id);
      if (!status) return { id, ok: false, code: 'HOST_NOT_FOUND', message: `Host ${id} not found` };
      if (status === to) return { id, ok: true, status };
      const hint = TRANSITION_HINTS[action]?.[status];
      return { id, ok: false, status, code: 'HOST_INVALID_TRANSITION', message: `Cannot ${action} a host that is ${status}${hint ? `: ${hint}` : ''}` };
    });
    for (const host of changed) {
      this.emitChange({ kind: 'status', host });
      this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
    }
    if (auditEach) {
      await this.audit.recordMany(
        results.map((r) => ({
          actorId: actor.userId, actor: actor.username, action: `host.${action}`, targetType: 'host', targetId: r.id,
          outcome: r.ok ? 'success' : 'failure', details: { bulk: true, ...(r.ok ? { status: r.status } : { code: r.code }) },
        })),
      );
    }
    return { changed: changed.length, results };
  }

  /** Deletes the host and forgets its key: it may enrol again as a new pending host. */
  async remove(id: string): Promise<void> {
    const deleted = await this.hosts.deleteById(id);
    if (!deleted) throw HostErrors.NOT_FOUND(`Host ${id} not found`);
    this.emitChange({ kind: 'removed', hostId: id });
    this.ui.publish(UiEvent.HostRemoved, { id });
  }

  /** New facts from the host's agent. */
  async updateFacts(id: string, facts: HostFacts): Promise<HostEntity | null> {
    const host = await this.hosts.updateFacts(id, facts);
    if (host) this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
    return host;
  }

  /** A known host's hello: facts, lastSeenAt and (approved) online in one UPDATE. Null when the host is gone. */
  async recordHello(id: string, facts: HostFacts): Promise<HostEntity | null> {
    const host = await this.hosts.recordHello(id, facts);
    if (host) this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
    return host;
  }

  /**
   * Roles the host can play (e.g. kvm_host), set from its virtualization report. Unchanged roles
   * are neither written nor pushed; a host deleted meanwhile is left alone (its report is moot).
   */
  async setRoles(id: string, roles: string[]): Promise<void> {
    const host = await this.hosts.setRoles(id, roles);
    if (host) this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
  }

  async markOnline(id: string): Promise<void> {
    const host = await this.hosts.markOnline(id);
    if (host) this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
  }

  async markOffline(id: string): Promise<void> {
    const host = await this.hosts.markOffline(id);
    if (host) this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
  }

  touchConnected(ids: string[], freshForMs?: number): Promise<void> {
    return this.hosts.touchConnected(ids, freshForMs);
  }

  async markSilentOffline(silentForMs: number): Promise<number> {
    const hosts = await this.hosts.markSilentOffline(silentForMs);
    for (const host of hosts) this.ui.publish(UiEvent.HostUpdated, toHostDto(host));
    return hosts.length;
  }

  /** Announces a host that was just enrolled (pending hosts wait for an operator). */
  announceEnrolled(host: HostEntity): void {
    this.ui.publish(host.status === 'pending' ? UiEvent.HostPending : UiEvent.HostUpdated, toHostDto(host));
  }
}
