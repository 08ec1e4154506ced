import { HostFacts, HostStatus, UiEvent } from '@sysfleet/protocol';
import type { AuditService, AuditInput } from '../audit/audit.service';
import type { Actor } from '../auth/auth.decorators';
import type { UiEvents } from '../ui-gateway/ui-events.service';
import { HostEntity } from './hosts.entity';
import type { HostsRepository, StatusChange } from './hosts.repository';
import { HostChange, HostsService } from './hosts.service';

const facts: HostFacts = {
  hostname: 'web-1', fqdn: 'web-1.example.org', platform: 'linux', osName: 'Debian GNU/Linux', osVersion: '12', kernel: '6.1.0',
  arch: 'x64', cpuModel: 'EPYC', cpuCount: 2, memoryTotalBytes: 1024, memoryFreeBytes: 512, disks: [], interfaces: [], agentVersion: '0.1.0',
};

function host(id: string, status: HostStatus): HostEntity {
  const now = new Date();
  return Object.assign(new HostEntity(), {
    id, status, publicKey: 'pem', fingerprint: `SHA256:${id}`, hostname: facts.hostname, fqdn: facts.fqdn, platform: 'linux', osName: '', osVersion: '',
    arch: 'x64', agentVersion: '0.1.0', facts, roles: [], parentHostId: null, enrollmentTokenId: null, online: false, lastSeenAt: null,
    firstSeenAt: now, approvedAt: null, approvedBy: null, statusReason: null, createdAt: now, updatedAt: now,
  });
}

/** Keeps hosts in a Map and applies status changes the way the SQL does (only from the allowed statuses). */
class FakeHostsRepository {
  readonly rows = new Map<string, HostEntity>();
  async findById(id: string) { return this.rows.get(id) ?? null; }
  async changeStatus(ids: string[], from: readonly HostStatus[], change: StatusChange) {
    const changed: HostEntity[] = [];
    for (const id of ids) {
      const h = this.rows.get(id);
      if (!h || !from.includes(h.status)) continue;
      Object.assign(h, { status: change.status, statusReason: change.statusReason }, change.approvedBy ? { approvedBy: change.approvedBy, approvedAt: new Date() } : {});
      changed.push({ ...h });
    }
    return changed;
  }
  async statusesOf(ids: string[]) {
    return new Map(ids.filter((id) => this.rows.has(id)).map((id) => [id, this.rows.get(id)!.status]));
  }
  async deleteById(id: string) { return this.rows.delete(id); }
}

const actor: Actor = { userId: 'u1', username: 'alice', role: 'operator' };
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('HostsService', () => {
  let repo: FakeHostsRepository;
  let audits: AuditInput[];
  let published: { event: string; payload: unknown }[];
  let changes: HostChange[];
  let service: HostsService;

  beforeEach(() => {
    repo = new FakeHostsRepository();
    audits = [];
    published = [];
    changes = [];
    const audit = { record: async (a: AuditInput) => void audits.push(a), recordMany: async (as: AuditInput[]) => void audits.push(...as) } as unknown as AuditService;
    const ui = { publish: (event: string, payload: unknown) => published.push({ event, payload }) } as unknown as UiEvents;
    service = new HostsService(repo as unknown as HostsRepository, audit, ui);
    service.onChange((c) => changes.push(c));
  });

  it('approves a pending host, names the approver, tells the agent layer and the UI', async () => {
    repo.rows.set(ID(1), host(ID(1), 'pending'));
    const dto = await service.change('approve', ID(1), actor);
    expect(dto.status).toBe('approved');
    expect(dto.approvedBy).toBe('alice');
    expect(changes).toEqual([{ kind: 'status', host: expect.objectContaining({ id: ID(1), status: 'approved' }) }]);
    expect(published).toEqual([{ event: UiEvent.HostUpdated, payload: expect.objectContaining({ id: ID(1), status: 'approved' }) }]);
  });

  it('refuses to approve a revoked host with HOST_INVALID_TRANSITION (409) and changes nothing', async () => {
    repo.rows.set(ID(1), host(ID(1), 'revoked'));
    await expect(service.change('approve', ID(1), actor)).rejects.toMatchObject({ code: 'HOST_INVALID_TRANSITION', status: 409, message: expect.stringContaining('revoked') });
    expect(repo.rows.get(ID(1))!.status).toBe('revoked');
    expect(changes).toEqual([]);
  });

  it('refuses to reject an approved host (revoke it instead) and to revoke a pending one', async () => {
    repo.rows.set(ID(1), host(ID(1), 'approved'));
    repo.rows.set(ID(2), host(ID(2), 'pending'));
    await expect(service.change('reject', ID(1), actor)).rejects.toMatchObject({ code: 'HOST_INVALID_TRANSITION', message: expect.stringContaining('revoke') });
    await expect(service.change('revoke', ID(2), actor)).rejects.toMatchObject({ code: 'HOST_INVALID_TRANSITION', message: expect.stringContaining('reject') });
  });

  it('answers HOST_NOT_FOUND (404) for an unknown host', async () => {
    await expect(service.change('approve', ID(9), actor)).rejects.toMatchObject({ code: 'HOST_NOT_FOUND', status: 404 });
    await expect(service.get(ID(9))).rejects.toMatchObject({ code: 'HOST_NOT_FOUND' });
    await expect(service.remove(ID(9))).rejects.toMatchObject({ code: 'HOST_NOT_FOUND' });
  });

  it('treats approving an approved host as done without a second change', async () => {
    repo.rows.set(ID(1), host(ID(1), 'approved'));
    await expect(service.change('approve', ID(1), actor)).resolves.toMatchObject({ status: 'approved' });
    expect(changes).toEqual([]);
  });

  it('revokes with a reason that the agent is told', async () => {
    repo.rows.set(ID(1), host(ID(1), 'approved'));
    await service.change('revoke', ID(1), actor, 'decommissioned');
    expect(changes[0]).toEqual({ kind: 'status', host: expect.objectContaining({ status: 'revoked', statusReason: 'decommissioned' }) });
  });

  it('bulk approve reports per id what happened and audits each host', async () => {
    repo.rows.set(ID(1), host(ID(1), 'pending'));
    repo.rows.set(ID(2), host(ID(2), 'approved'));
    repo.rows.set(ID(3), host(ID(3), 'revoked'));
    const report = await service.changeMany('approve', [ID(1), ID(2), ID(3), ID(4), ID(1)], actor);
    expect(report.changed).toBe(1);
    expect(report.results).toEqual([
      { id: ID(1), ok: true, status: 'approved' },
      { id: ID(2), ok: true, status: 'approved' },
      { id: ID(3), ok: false, status: 'revoked', code: 'HOST_INVALID_TRANSITION', message: expect.stringContaining('revoked') },
      { id: ID(4), ok: false, code: 'HOST_NOT_FOUND', message: expect.any(String) },
    ]);
    expect(changes.map((c) => (c.kind === 'status' ? c.host.id : c.hostId))).toEqual([ID(1)]);
    expect(audits.map((a) => [a.targetId, a.outcome])).toEqual([[ID(1), 'success'], [ID(2), 'success'], [ID(3), 'failure'], [ID(4), 'failure']]);
  });

  it('delete forgets the host, tells the agent layer to disconnect it and the UI to drop it', async () => {
    repo.rows.set(ID(1), host(ID(1), 'approved'));
    await service.remove(ID(1));
    expect(repo.rows.has(ID(1))).toBe(false);
    expect(changes).toEqual([{ kind: 'removed', hostId: ID(1) }]);
    expect(published).toEqual([{ event: UiEvent.HostRemoved, payload: { id: ID(1) } }]);
  });

  it('keeps going when a change listener throws', async () => {
    service.onChange(() => { throw new Error('boom'); });
    repo.rows.set(ID(1), host(ID(1), 'pending'));
    await expect(service.change('approve', ID(1), actor)).resolves.toMatchObject({ status: 'approved' });
  });
});
