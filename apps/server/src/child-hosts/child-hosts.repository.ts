import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ChildInfo, ChildType } from '@sysfleet/protocol';
import { EntityManager, Repository } from 'typeorm';
import { ChildHostEntity, ChildState } from './child-hosts.entity';

export type NewChild = Pick<ChildHostEntity, 'hostId' | 'name' | 'childType' | 'distributionId' | 'hostname' | 'vcpus' | 'memoryMb' | 'diskGb' | 'username' | 'createdBy'>;

/** A child row with what is known of its enrolled host. */
export interface ChildRow extends ChildHostEntity {
  childHostStatus: string | null;
  childHostOnline: boolean | null;
}

/** What children still being created on a host have claimed. */
export interface Claimed {
  memoryMb: number;
  diskGb: number;
}

const CLAIMED_SQL = `SELECT COALESCE(SUM("memoryMb"), 0)::int AS "memoryMb", COALESCE(SUM("diskGb"), 0)::int AS "diskGb"
  FROM child_hosts WHERE "hostId" = $1 AND state = 'creating'`;

/** TypeORM's query() gives [rows, count] for UPDATE/DELETE ... RETURNING. */
function returned<T>(res: unknown): T[] {
  return (Array.isArray(res) && Array.isArray(res[0]) ? res[0] : res) as T[];
}

@Injectable()
export class ChildHostsRepository {
  constructor(@InjectRepository(ChildHostEntity) private readonly repo: Repository<ChildHostEntity>) {}

  async listForHost(hostId: string): Promise<ChildRow[]> {
    return this.repo.query(
      `SELECT c.*, h.status AS "childHostStatus", h.online AS "childHostOnline"
         FROM child_hosts c LEFT JOIN hosts h ON h.id = c."childHostId"
        WHERE c."hostId" = $1 ORDER BY c.name`,
      [hostId],
    );
  }

  /** Children across the fleet (dashboard counts, fleet-wide lists), newest first. */
  async search(q: { state?: string; childType?: string; limit: number; offset: number }): Promise<{ items: ChildRow[]; total: number }> {
    const where = ['($1::text IS NULL OR c.state = $1)', '($2::text IS NULL OR c."childType" = $2)'].join(' AND ');
    const params = [q.state ?? null, q.childType ?? null];
    const items: ChildRow[] = await this.repo.query(
      `SELECT c.*, h.status AS "childHostStatus", h.online AS "childHostOnline"
         FROM child_hosts c LEFT JOIN hosts h ON h.id = c."childHostId"
        WHERE ${where} ORDER BY c."createdAt" DESC, c.id LIMIT $3 OFFSET $4`,
      [...params, q.limit, q.offset],
    );
    const [{ total }] = await this.repo.query(`SELECT count(*)::int AS total FROM child_hosts c WHERE ${where}`, params);
    return { items, total };
  }

  findForHost(hostId: string, id: string): Promise<ChildHostEntity | null> {
    return this.repo.findOneBy({ hostId, id });
  }

  findByName(hostId: string, name: string): Promise<ChildHostEntity | null> {
    return this.repo.findOneBy({ hostId, name });
  }

  /**
   * Inserts a `creating` row while holding the host's lock, after `check` approved what the other
   * creates under way on that host claim; 'taken' when the name exists (the unique index decides races).
   */
  insertCreating(child: NewChild, check: (claimed: Claimed) => void): Promise<ChildHostEntity | 'taken'> {
    return this.repo.manager.transaction(async (m: EntityManager) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('child_hosts:' || $1))`, [child.hostId]);
      const [claimed] = await m.query(CLAIMED_SQL, [child.hostId]);
      check(claimed as Claimed);
      const rows = await m.query(
        `INSERT INTO child_hosts ("hostId", name, "childType", "distributionId", hostname, state, vcpus, "memoryMb", "diskGb", username, "createdBy")
         VALUES ($1, $2, $3, $4, $5, 'creating', $6, $7, $8, $9, $10)
         ON CONFLICT ("hostId", name) DO NOTHING RETURNING *`,
        [child.hostId, child.name, child.childType, child.distributionId, child.hostname, child.vcpus, child.memoryMb, child.diskGb, child.username, child.createdBy],
      );
      return rows.length ? (rows[0] as ChildHostEntity) : 'taken';
    });
  }

  /** What the host's creates under way claim right now (no lock: a reading, not a booking). */
  async claimedByCreates(hostId: string): Promise<Claimed> {
    const [claimed] = await this.repo.query(CLAIMED_SQL, [hostId]);
    return claimed as Claimed;
  }

  async setCreateRefs(id: string, refs: { enrollmentTokenId: string | null; createJobId: string }): Promise<void> {
    await this.repo.update({ id }, refs);
  }

  async deleteById(id: string): Promise<void> {
    await this.repo.delete({ id });
  }

  /** Moves a settled child to `deleting`; false when a create or delete is under way. */
  async markDeleting(id: string): Promise<boolean> {
    const rows = returned(await this.repo.query(
      `UPDATE child_hosts SET state = 'deleting', "updatedAt" = now() WHERE id = $1 AND state NOT IN ('creating', 'deleting') RETURNING id`,
      [id],
    ));
    return rows.length > 0;
  }

  async setDeleteJob(id: string, deleteJobId: string): Promise<void> {
    await this.repo.update({ id }, { deleteJobId });
  }

  /** Gives a row back its state when its delete job could not be made. */
  async restoreState(id: string, state: ChildState): Promise<void> {
    await this.repo.update({ id }, { state });
  }

  /** Applies what the agent reports of one VM after a create or an action; clears the last error. */
  async applyReported(hostId: string, info: ChildInfo): Promise<void> {
    await this.repo.query(
      `UPDATE child_hosts SET state = $3, ip = COALESCE($4, ip), vcpus = COALESCE($5, vcpus), "memoryMb" = COALESCE($6, "memoryMb"),
              "diskGb" = COALESCE($7, "diskGb"), error = NULL, "lastSeenAt" = now(), "updatedAt" = now()
        WHERE "hostId" = $1 AND name = $2 AND state <> 'deleting'`,
      [hostId, info.name, info.state, info.ip ?? null, info.vcpus ?? null, info.memoryMb ?? null, info.diskGb ?? null],
    );
  }

  /** Forgets a deleted child; returns its enrolled host's id, if any. */
  async deleteByName(hostId: string, name: string): Promise<{ childHostId: string | null } | null> {
    const rows = returned<{ childHostId: string | null }>(await this.repo.query(
      `DELETE FROM child_hosts WHERE "hostId" = $1 AND name = $2 RETURNING "childHostId"`,
      [hostId, name],
    ));
    return rows[0] ?? null;
  }

  /**
   * Settles rows whose create or delete job ended without success (the job pipeline has no failure
   * hook): a create that left nothing behind (never delivered, or the agent says it cleaned up) is
   * forgotten; any other failed create is `error` with the job's message; a failed delete is `error`.
   */
  async settleFailedJobs(hostId: string): Promise<void> {
    await this.repo.query(
      `DELETE FROM child_hosts c USING jobs j
        WHERE c."hostId" = $1 AND c.state = 'creating' AND j.id = c."createJobId"
          AND j.status IN ('failed', 'cancelled', 'expired')
          AND (j."dispatchedAt" IS NULL OR COALESCE(j.result ->> 'cleanedUp', 'false') = 'true')`,
      [hostId],
    );
    await this.repo.query(
      `UPDATE child_hosts c SET state = 'error', error = COALESCE(j.error, 'the create ' || j.status)
                                 || COALESCE('; kept for debugging: ' || (j.result ->> 'kept'), ''), "updatedAt" = now()
         FROM jobs j
        WHERE c."hostId" = $1 AND c.state = 'creating' AND j.id = c."createJobId" AND j.status IN ('failed', 'cancelled', 'expired')`,
      [hostId],
    );
    await this.repo.query(
      `UPDATE child_hosts c SET state = 'error', error = 'delete ' || j.status || ': ' || COALESCE(j.error, 'no message'), "updatedAt" = now()
         FROM jobs j
        WHERE c."hostId" = $1 AND c.state = 'deleting' AND j.id = c."deleteJobId" AND j.status IN ('failed', 'cancelled', 'expired')`,
      [hostId],
    );
  }

  /** Links children whose agent enrolled with their token to that host record. */
  async linkEnrolled(hostId: string): Promise<void> {
    await this.repo.query(
      `UPDATE child_hosts c SET "childHostId" = h.id, "updatedAt" = now()
         FROM hosts h
        WHERE c."hostId" = $1 AND c."childHostId" IS NULL AND c."enrollmentTokenId" IS NOT NULL AND h."enrollmentTokenId" = c."enrollmentTokenId"`,
      [hostId],
    );
  }

  /**
   * Makes the table match the agent's list for the hypervisor types it listed: unknown VMs are added
   * (createdBy 'discovered'), known ones take the reported state, and rows whose VM is missing become
   * `gone`, except while a create or delete runs. Rows in `error` keep their state (and message).
   */
  reconcile(hostId: string, types: readonly ChildType[], children: readonly ChildInfo[]): Promise<{ added: number; gone: number }> {
    return this.repo.manager.transaction(async (m: EntityManager) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('child_hosts:' || $1))`, [hostId]);
      const listed = children.filter((c) => types.includes(c.childType));
      const upserted = listed.length
        ? await m.query(
          `INSERT INTO child_hosts ("hostId", name, "childType", hostname, state, ip, vcpus, "memoryMb", "diskGb", "createdBy", "lastSeenAt")
           SELECT $1, r.name, r."childType", r.name, r.state, r.ip, COALESCE(r.vcpus, 0), COALESCE(r."memoryMb", 0), COALESCE(r."diskGb", 0), 'discovered', now()
             FROM jsonb_to_recordset($2::jsonb) AS r(name text, "childType" text, state text, ip text, vcpus int, "memoryMb" int, "diskGb" int)
           ON CONFLICT ("hostId", name) DO UPDATE SET
             state = CASE WHEN child_hosts.state IN ('creating', 'deleting', 'error') THEN child_hosts.state ELSE EXCLUDED.state END,
             ip = COALESCE(EXCLUDED.ip, child_hosts.ip),
             vcpus = CASE WHEN EXCLUDED.vcpus > 0 THEN EXCLUDED.vcpus ELSE child_hosts.vcpus END,
             "memoryMb" = CASE WHEN EXCLUDED."memoryMb" > 0 THEN EXCLUDED."memoryMb" ELSE child_hosts."memoryMb" END,
             "diskGb" = CASE WHEN EXCLUDED."diskGb" > 0 THEN EXCLUDED."diskGb" ELSE child_hosts."diskGb" END,
             "lastSeenAt" = now(), "updatedAt" = now()
           RETURNING (xmax = 0) AS inserted`,
          [hostId, JSON.stringify(listed.map((c) => ({ name: c.name, childType: c.childType, state: c.state, ip: c.ip ?? null, vcpus: c.vcpus ?? null, memoryMb: c.memoryMb ?? null, diskGb: c.diskGb ?? null })))],
        )
        : [];
      const gone = returned(await m.query(
        `UPDATE child_hosts SET state = 'gone', "updatedAt" = now()
          WHERE "hostId" = $1 AND "childType" = ANY($2::text[]) AND NOT (name = ANY($3::text[]))
            AND state NOT IN ('creating', 'deleting', 'gone')
          RETURNING id`,
        [hostId, [...types], listed.map((c) => c.name)],
      ));
      return { added: (upserted as { inserted: boolean }[]).filter((r) => r.inserted).length, gone: gone.length };
    });
  }
}
