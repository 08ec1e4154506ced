import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { HostFacts, HostStatus } from '@sysfleet/protocol';
import { HostEntity } from './hosts.entity';
import { Batcher, CONNECTION_PATH, retryOnDeadlock } from '../common/batcher';

export const HOST_SORT_FIELDS = ['hostname', 'status', 'platform', 'lastSeenAt', 'createdAt'] as const;
export type HostSortField = (typeof HOST_SORT_FIELDS)[number];

export interface HostQuery {
  status?: HostStatus;
  platform?: string;
  role?: string;
  online?: boolean;
  parentHostId?: string;
  q?: string;
  sort: HostSortField;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

export interface NewHost {
  publicKey: string;
  fingerprint: string;
  status: HostStatus;
  facts: HostFacts;
  parentHostId: string | null;
  enrollmentTokenId: string | null;
  approvedBy: string | null;
  online: boolean;
}

export interface StatusChange {
  status: HostStatus;
  statusReason: string | null;
  /** Set for approvals: who approved. */
  approvedBy?: string;
}

/** The list view leaves out the heavy columns (key, facts). */
const SUMMARY_COLUMNS = [
  'id', 'fingerprint', 'status', 'hostname', 'fqdn', 'platform', 'osName', 'osVersion', 'arch', 'agentVersion', 'roles',
  'parentHostId', 'enrollmentTokenId', 'online', 'lastSeenAt', 'firstSeenAt', 'approvedAt', 'approvedBy', 'statusReason',
  'createdAt', 'updatedAt',
] as const;
export type HostSummary = Pick<HostEntity, (typeof SUMMARY_COLUMNS)[number]>;

const SORT_EXPRESSIONS: Record<HostSortField, string> = {
  hostname: 'lower(h.hostname)',
  status: 'h.status',
  platform: 'h.platform',
  lastSeenAt: 'h."lastSeenAt"',
  createdAt: 'h."createdAt"',
};

/** Columns copied out of the facts so they can be filtered, sorted and listed without reading the jsonb. */
function factColumns(facts: HostFacts) {
  return {
    hostname: facts.hostname, fqdn: facts.fqdn, platform: facts.platform, osName: facts.osName,
    osVersion: facts.osVersion, arch: facts.arch, agentVersion: facts.agentVersion, facts,
  };
}

/** TypeORM's query() gives [rows, count] for UPDATE ... RETURNING. */
function updatedRows(res: unknown): HostEntity[] {
  return (Array.isArray(res) && Array.isArray(res[0]) ? res[0] : res) as HostEntity[];
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

@Injectable()
export class HostsRepository {
  private readonly byId = new Batcher<string, HostEntity>(async (ids) => {
    const rows: HostEntity[] = await this.repo.query(`SELECT * FROM hosts WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r]));
  }, CONNECTION_PATH);

  private readonly byFingerprint = new Batcher<string, HostEntity>(async (fingerprints) => {
    const rows: HostEntity[] = await this.repo.query(`SELECT * FROM hosts WHERE fingerprint = ANY($1::text[])`, [fingerprints]);
    return new Map(rows.map((r) => [r.fingerprint, r]));
  }, CONNECTION_PATH);

  /** Connects (an approval's ready agents) and disconnects of one turn: one UPDATE each way. */
  private readonly onlineWrites = new Batcher<string, HostEntity>(async (ids) => {
    const res = await retryOnDeadlock(() => this.repo.query(
      `UPDATE hosts SET online = true, "lastSeenAt" = now(), "updatedAt" = now()
       WHERE id IN (SELECT id FROM hosts WHERE id = ANY($1::uuid[]) AND status = 'approved' ORDER BY id FOR UPDATE) RETURNING *`,
      [ids],
    ));
    return new Map(updatedRows(res).map((r) => [r.id, r]));
  }, CONNECTION_PATH);

  private readonly offlineWrites = new Batcher<string, HostEntity>(async (ids) => {
    const res = await retryOnDeadlock(() => this.repo.query(
      `UPDATE hosts SET online = false, "lastSeenAt" = now(), "updatedAt" = now()
       WHERE id IN (SELECT id FROM hosts WHERE id = ANY($1::uuid[]) AND online ORDER BY id FOR UPDATE) RETURNING *`,
      [ids],
    ));
    return new Map(updatedRows(res).map((r) => [r.id, r]));
  }, CONNECTION_PATH);

  /**
   * Facts reports and hellos arriving in one turn, one UPDATE for all: per host the last report's
   * facts, online if any of them was a hello. The old jsonb is kept when equal, so an unchanged
   * report does not rewrite (and re-TOAST) it.
   */
  private readonly factWrites = new Batcher<{ id: string; facts: HostFacts; hello: boolean }, HostEntity>(async (inputs) => {
    const perHost = new Map<string, { id: string; facts: HostFacts; hello: boolean }>();
    for (const i of inputs) perHost.set(i.id, { ...i, hello: i.hello || (perHost.get(i.id)?.hello ?? false) });
    const rows = [...perHost.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((i) => ({ id: i.id, ...factColumns(i.facts), hello: i.hello }));
    const res = await retryOnDeadlock(() => this.repo.query(
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, hostname text, fqdn text, platform text, "osName" text, "osVersion" text,
                                                                   arch text, "agentVersion" text, facts jsonb, hello boolean))
       UPDATE hosts SET hostname = x.hostname, fqdn = x.fqdn, platform = x.platform, "osName" = x."osName", "osVersion" = x."osVersion", arch = x.arch,
              "agentVersion" = x."agentVersion", facts = CASE WHEN hosts.facts = x.facts THEN hosts.facts ELSE x.facts END,
              online = CASE WHEN x.hello THEN hosts.online OR hosts.status = 'approved' ELSE hosts.online END, "lastSeenAt" = now(), "updatedAt" = now()
         FROM x WHERE hosts.id = x.id RETURNING hosts.*`,
      [JSON.stringify(rows)],
    ));
    const updated = new Map(updatedRows(res).map((r) => [r.id, r]));
    return new Map(inputs.flatMap((i) => (updated.has(i.id) ? [[i, updated.get(i.id)!]] : [])));
  }, CONNECTION_PATH);

  /**
   * Roles set in one turn (each approved agent's report on connect), one UPDATE; per host the last
   * call's. A host whose roles are these already is not written (a reconnecting fleet's reports
   * mostly change nothing).
   */
  private readonly roleWrites = new Batcher<{ id: string; roles: string[] }, HostEntity>(async (inputs) => {
    const perHost = new Map(inputs.map((i) => [i.id, i]));
    const rows = [...perHost.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const res = await retryOnDeadlock(() => this.repo.query(
      `UPDATE hosts SET roles = x.roles, "updatedAt" = now() FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, roles text[]) WHERE hosts.id = x.id AND hosts.roles IS DISTINCT FROM x.roles RETURNING hosts.*`,
      [JSON.stringify(rows)],
    ));
    const updated = new Map(updatedRows(res).map((r) => [r.id, r]));
    return new Map(inputs.flatMap((i) => (updated.has(i.id) ? [[i, updated.get(i.id)!]] : [])));
  }, CONNECTION_PATH);

  constructor(@InjectRepository(HostEntity) private readonly repo: Repository<HostEntity>) {}

  private of(manager?: EntityManager): Repository<HostEntity> {
    return manager ? manager.getRepository(HostEntity) : this.repo;
  }

  async findById(id: string): Promise<HostEntity | null> {
    return (await this.byId.call(id)) ?? null;
  }

  async findByFingerprint(fingerprint: string): Promise<HostEntity | null> {
    return (await this.byFingerprint.call(fingerprint)) ?? null;
  }

  async existsById(id: string): Promise<boolean> {
    return this.repo.existsBy({ id });
  }

  async search(q: HostQuery): Promise<{ items: HostSummary[]; total: number }> {
    const qb = this.repo.createQueryBuilder('h').select(SUMMARY_COLUMNS.map((c) => `h.${c}`));
    if (q.status) qb.andWhere('h.status = :status', { status: q.status });
    if (q.platform) qb.andWhere('h.platform = :platform', { platform: q.platform });
    if (q.role) qb.andWhere('h.roles @> ARRAY[:role]::text[]', { role: q.role });
    if (q.online !== undefined) qb.andWhere('h.online = :online', { online: q.online });
    if (q.parentHostId === 'none') qb.andWhere('h."parentHostId" IS NULL');
    else if (q.parentHostId) qb.andWhere('h."parentHostId" = :parentHostId', { parentHostId: q.parentHostId });
    if (q.q) {
      const like = `%${escapeLike(q.q.toLowerCase())}%`;
      qb.andWhere('(lower(h.hostname) LIKE :like OR lower(h.fqdn) LIKE :like OR h.fingerprint LIKE :raw)', { like, raw: `%${escapeLike(q.q)}%` });
    }
    const order = q.order === 'asc' ? 'ASC' : 'DESC';
    // id breaks ties so pages never overlap or skip rows.
    qb.orderBy(SORT_EXPRESSIONS[q.sort], order, q.sort === 'lastSeenAt' ? (order === 'ASC' ? 'NULLS FIRST' : 'NULLS LAST') : undefined)
      .addOrderBy('h.id', order)
      .limit(q.limit)
      .offset(q.offset);
    const [items, total] = await Promise.all([qb.getMany(), qb.clone().orderBy().limit(undefined).offset(undefined).getCount()]);
    return { items, total };
  }

  async insert(host: NewHost, manager?: EntityManager): Promise<HostEntity> {
    return this.of(manager).save(this.of(manager).create(this.newRow(host)));
  }

  private newRow(host: NewHost) {
    const now = new Date();
    return {
      publicKey: host.publicKey,
      fingerprint: host.fingerprint,
      status: host.status,
      ...factColumns(host.facts),
      roles: [],
      parentHostId: host.parentHostId,
      enrollmentTokenId: host.enrollmentTokenId,
      online: host.online,
      lastSeenAt: now,
      firstSeenAt: now,
      approvedAt: host.status === 'approved' ? now : null,
      approvedBy: host.approvedBy,
      statusReason: null,
    };
  }

  /**
   * Stores new hosts in one multi-row INSERT; a key that is already enrolled is skipped (ON CONFLICT
   * DO NOTHING), so the result holds only the rows stored, in no particular order.
   */
  async insertMany(hosts: NewHost[], manager?: EntityManager): Promise<HostEntity[]> {
    if (hosts.length === 0) return [];
    // Plain SQL: TypeORM's insert builder spent more on its parameters and on merging the returned
    // rows (facts and all) into entities than the statement took, in an enrolment storm.
    const rows = [...hosts].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)).map((h) => ({
      publicKey: h.publicKey, fingerprint: h.fingerprint, status: h.status, ...factColumns(h.facts),
      parentHostId: h.parentHostId, enrollmentTokenId: h.enrollmentTokenId, online: h.online, approvedBy: h.approvedBy,
    }));
    return this.of(manager).query(
      `INSERT INTO hosts ("publicKey", fingerprint, status, hostname, fqdn, platform, "osName", "osVersion", arch, "agentVersion", facts, roles,
                          "parentHostId", "enrollmentTokenId", online, "lastSeenAt", "firstSeenAt", "approvedAt", "approvedBy", "statusReason")
       SELECT r."publicKey", r.fingerprint, r.status, r.hostname, r.fqdn, r.platform, r."osName", r."osVersion", r.arch, r."agentVersion", r.facts, '{}',
              r."parentHostId", r."enrollmentTokenId", r.online, now(), now(), CASE WHEN r.status = 'approved' THEN now() END, r."approvedBy", NULL
         FROM jsonb_to_recordset($1::jsonb) AS r("publicKey" text, fingerprint text, status text, hostname text, fqdn text, platform text, "osName" text,
                                                "osVersion" text, arch text, "agentVersion" text, facts jsonb, "parentHostId" uuid,
                                                "enrollmentTokenId" uuid, online boolean, "approvedBy" text)
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [JSON.stringify(rows)],
    );
  }

  /** Stores new facts (the jsonb is left as it is when they did not change); null when the host no longer exists. */
  async updateFacts(id: string, facts: HostFacts): Promise<HostEntity | null> {
    return this.storeFacts(id, facts, false);
  }

  /**
   * A known host said hello: one UPDATE that stores its facts, stamps lastSeenAt and puts an
   * approved host online. Null when the host no longer exists.
   */
  async recordHello(id: string, facts: HostFacts): Promise<HostEntity | null> {
    return this.storeFacts(id, facts, true);
  }

  private async storeFacts(id: string, facts: HostFacts, hello: boolean): Promise<HostEntity | null> {
    return (await this.factWrites.call({ id, facts, hello })) ?? null;
  }


  /**
   * Changes the status of the given hosts that are in one of `from`, atomically, and returns the
   * changed rows. Hosts not in `from` (or gone) are left alone and not returned.
   */
  async changeStatus(ids: string[], from: readonly HostStatus[], change: StatusChange): Promise<HostEntity[]> {
    if (ids.length === 0) return [];
    const approving = change.status === 'approved';
    const res = await this.repo.query(
      `UPDATE hosts SET status = $3, "statusReason" = $4, "updatedAt" = now(),
         "approvedAt" = CASE WHEN $5 THEN now() ELSE "approvedAt" END,
         "approvedBy" = CASE WHEN $5 THEN $6 ELSE "approvedBy" END,
         online = CASE WHEN $3 IN ('rejected', 'revoked') THEN false ELSE online END
       WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])
       RETURNING *`,
      [ids, [...from], change.status, change.statusReason, approving, change.approvedBy ?? null],
    );
    return updatedRows(res);
  }

  /** Replaces the host's roles (sorted, no duplicates): the host as now stored; null when they were these already, or the host does not exist. */
  async setRoles(id: string, roles: string[]): Promise<HostEntity | null> {
    return (await this.roleWrites.call({ id, roles: [...new Set(roles)].sort() })) ?? null;
  }

  async statusesOf(ids: string[]): Promise<Map<string, HostStatus>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; status: HostStatus }[] = await this.repo.query(`SELECT id, status FROM hosts WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  async deleteById(id: string): Promise<boolean> {
    const res = await this.repo.delete({ id });
    return (res.affected ?? 0) > 0;
  }

  /** Marks an approved host online (on connect); returns the row, or null if it is not approved. */
  async markOnline(id: string): Promise<HostEntity | null> {
    return (await this.onlineWrites.call(id)) ?? null;
  }

  /** Marks a host offline (its last connection closed); null if it was not online. */
  async markOffline(id: string): Promise<HostEntity | null> {
    return (await this.offlineWrites.call(id)) ?? null;
  }

  /**
   * The heartbeat: one UPDATE for every approved host connected to this replica. Rows stamped within
   * `freshForMs` (a hello, the last beat) are left alone, so a beat does not rewrite the whole fleet.
   */
  async touchConnected(ids: string[], freshForMs = 0): Promise<void> {
    if (ids.length === 0) return;
    await this.repo.query(
      `UPDATE hosts SET "lastSeenAt" = now(), online = true
       WHERE id = ANY($1::uuid[]) AND status = 'approved'
         AND (NOT online OR "lastSeenAt" IS NULL OR "lastSeenAt" < now() - make_interval(secs => $2))`,
      [ids, freshForMs / 1000],
    );
  }

  /** Marks hosts offline that no replica has vouched for lately (a replica crashed); returns them. */
  async markSilentOffline(silentForMs: number): Promise<HostEntity[]> {
    const res = await this.repo.query(
      `UPDATE hosts SET online = false, "updatedAt" = now()
       WHERE online AND "lastSeenAt" < now() - make_interval(secs => $1) RETURNING *`,
      [silentForMs / 1000],
    );
    return updatedRows(res);
  }
}
