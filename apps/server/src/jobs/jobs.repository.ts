import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { BatchLoader } from '../common/batch-loader';
import { JobEntity, JobStatus, OPEN_JOB_STATUSES } from './jobs.entity';

export interface NewJob {
  id: string;
  hostId: string;
  type: string;
  params: Record<string, unknown>;
  secretParams: string | null;
  serialKey: string | null;
  createdById: string | null;
  createdBy: string;
  idempotencyKey: string | null;
  deadlineAt: Date;
}

export interface JobQuery {
  hostId?: string;
  type?: string;
  status?: JobStatus;
  limit: number;
  offset: number;
}

export interface JobOutcome {
  status: Extract<JobStatus, 'succeeded' | 'failed' | 'cancelled' | 'expired'>;
  result?: Record<string, unknown> | null;
  error?: string | null;
  failedStep?: string | null;
}

const OPEN = OPEN_JOB_STATUSES.map((s) => `'${s}'`).join(', ');

/** A server-side step of a job (queued, dispatched, its final state), written with the change it records. */
export interface ServerEvent {
  step: string;
  message: string;
}
/** Inserts the server event for the row of CTE `j`; its step and message are parameters $n and $n+1. */
const EVENT_FROM_J = (n: number) => `INSERT INTO job_events ("jobId", seq, source, step, message) SELECT id, NULL, 'server', $${n}, $${n + 1} FROM j`;

/** The `jobs` table. Every state change is a conditional UPDATE so concurrent replicas cannot regress a job. */
@Injectable()
export class JobsRepository {
  private readonly byId = new BatchLoader<string, JobEntity>(async (ids) => {
    const rows: JobEntity[] = await this.repo.query(`SELECT * FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r]));
  });

  private readonly activeByHost = new BatchLoader<string, number>(async (hostIds) => {
    const rows: { hostId: string; n: number }[] = await this.repo.query(
      `SELECT "hostId", count(*)::int AS n FROM jobs WHERE "hostId" = ANY($1::uuid[]) AND status IN ('dispatched', 'running') GROUP BY "hostId"`, [hostIds]);
    return new Map(rows.map((r) => [r.hostId, r.n]));
  });

  constructor(@InjectRepository(JobEntity) private readonly repo: Repository<JobEntity>) {}

  /**
   * Inserts queued jobs together with their `queued` events, in one statement whatever their number.
   * A job whose idempotency key its actor has used already is not inserted: that earlier job is
   * returned instead, as `created: false`. Results are in the order of `jobs`.
   */
  async insertQueued(jobs: NewJob[], event: ServerEvent): Promise<{ job: JobEntity; created: boolean }[]> {
    const inserted: JobEntity[] = await this.repo.query(
      `WITH j AS (
         INSERT INTO jobs (id, "hostId", type, params, "secretParams", status, "serialKey", "createdById", "createdBy", "idempotencyKey", "deadlineAt")
         SELECT r.id, r."hostId", r.type, r.params, r."secretParams", 'queued', r."serialKey", r."createdById", r."createdBy", r."idempotencyKey", r."deadlineAt"
           FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "hostId" uuid, type text, params jsonb, "secretParams" text, "serialKey" text,
                                                  "createdById" uuid, "createdBy" text, "idempotencyKey" text, "deadlineAt" timestamptz)
         ON CONFLICT ("createdBy", "idempotencyKey") WHERE "idempotencyKey" IS NOT NULL DO NOTHING
         RETURNING *
       ), e AS (${EVENT_FROM_J(2)})
       SELECT * FROM j`,
      [JSON.stringify(jobs), event.step, event.message],
    );
    const byId = new Map(inserted.map((j) => [j.id, j]));
    const repeated = jobs.filter((j) => !byId.has(j.id));
    const earlier = new Map<string, JobEntity>();
    for (const createdBy of new Set(repeated.map((j) => j.createdBy))) {
      const keys = repeated.filter((j) => j.createdBy === createdBy).map((j) => j.idempotencyKey);
      const rows: JobEntity[] = await this.repo.query(`SELECT * FROM jobs WHERE "createdBy" = $1 AND "idempotencyKey" = ANY($2::text[])`, [createdBy, keys]);
      for (const row of rows) earlier.set(`${createdBy}\n${row.idempotencyKey}`, row);
    }
    return jobs.map((j) => {
      const created = byId.get(j.id);
      if (created) return { job: created, created: true };
      const found = earlier.get(`${j.createdBy}\n${j.idempotencyKey}`);
      if (!found) throw new Error(`job ${j.id} was neither inserted nor found by its idempotency key`);
      return { job: found, created: false };
    });
  }

  async findById(id: string): Promise<JobEntity | null> {
    return (await this.byId.get(id)) ?? null;
  }

  async search(q: JobQuery): Promise<{ items: JobEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('j');
    if (q.hostId) qb.andWhere('j.hostId = :hostId', { hostId: q.hostId });
    if (q.type) qb.andWhere('j.type = :type', { type: q.type });
    if (q.status) qb.andWhere('j.status = :status', { status: q.status });
    const [items, total] = await qb.orderBy('j.createdAt', 'DESC').addOrderBy('j.id', 'DESC').take(q.limit).skip(q.offset).getManyAndCount();
    return { items, total };
  }

  /** queued -> dispatched, with its event; null when the job was no longer queued. */
  async markDispatched(id: string, event: ServerEvent): Promise<JobEntity | null> {
    return this.updateOne(`status = 'dispatched', "dispatchedAt" = now(), "dispatchCount" = "dispatchCount" + 1`, `status = 'queued'`, [id], event);
  }

  /** Counts a re-send of an already dispatched command. */
  async countRedispatch(id: string): Promise<void> {
    await this.repo.query(`UPDATE jobs SET "dispatchCount" = "dispatchCount" + 1, "updatedAt" = now() WHERE id = $1`, [id]);
  }

  /**
   * Stores an agent step once per (job, seq) and, when it is new, makes it the job's latest step (the first
   * one moves the job to running) — one statement. Null when the step was a re-send, the job is final, or
   * it is not a job of `hostId` (nothing is stored then).
   */
  async recordProgress(e: { jobId: string; hostId: string; seq: number; step: string; message: string; percent: number | null; at: Date }): Promise<JobEntity | null> {
    const rows: JobEntity[] = await this.repo.query(
      `WITH e AS (
         INSERT INTO job_events ("jobId", seq, source, step, message, percent, at)
           SELECT id, $2, 'agent', $3, $4, $5, $6 FROM jobs WHERE id = $1 AND "hostId" = $7
         ON CONFLICT ("jobId", seq) WHERE seq IS NOT NULL DO NOTHING RETURNING "jobId"
       )
       , j AS (
         UPDATE jobs SET status = 'running', step = $3, percent = COALESCE($5, jobs.percent), "startedAt" = COALESCE("startedAt", now()),
                "dispatchedAt" = COALESCE("dispatchedAt", now()), "updatedAt" = now()
           FROM e WHERE jobs.id = e."jobId" AND jobs.status IN (${OPEN})
         RETURNING jobs.*
       )
       -- A SELECT (not a bare UPDATE) so the driver returns plain rows.
       SELECT * FROM j`,
      [e.jobId, e.seq, e.step, e.message, e.percent, e.at, e.hostId],
    );
    return rows[0] ?? null;
  }

  /** Moves an open job to its final state, with its event; null when it was already final (a re-sent result). */
  async finish(id: string, o: JobOutcome): Promise<JobEntity | null> {
    return this.updateOne(
      `status = $2, result = $3, error = $4, "failedStep" = $5, "finishedAt" = now(),
       percent = CASE WHEN $2 = 'succeeded' THEN 100 ELSE percent END`,
      `status IN (${OPEN})`,
      [id, o.status, o.result ?? null, o.error ?? null, o.failedStep ?? null],
      { step: o.status, message: o.error ?? o.status },
    );
  }

  async requestCancel(id: string): Promise<JobEntity | null> {
    return this.updateOne(`"cancelRequestedAt" = COALESCE("cancelRequestedAt", now())`, `status IN (${OPEN})`, [id]);
  }

  /** The host's open jobs, oldest first: the delivery order. */
  listOpenForHost(hostId: string): Promise<JobEntity[]> {
    return this.repo.query(`SELECT * FROM jobs WHERE "hostId" = $1 AND status IN (${OPEN}) ORDER BY "createdAt", id`, [hostId]);
  }

  /** Jobs the agent is carrying out now on this host. */
  async countActiveForHost(hostId: string): Promise<number> {
    return (await this.activeByHost.get(hostId)) ?? 0;
  }

  /** True when an older open job with the same serial key must finish first. */
  async hasEarlierOpenInSerial(job: JobEntity): Promise<boolean> {
    if (!job.serialKey) return false;
    const rows = await this.repo.query(
      `SELECT 1 FROM jobs WHERE "serialKey" = $1 AND "hostId" = $2 AND status IN (${OPEN}) AND ("createdAt", id) < ($3, $4) LIMIT 1`,
      [job.serialKey, job.hostId, job.createdAt, job.id],
    );
    return rows.length > 0;
  }

  /** Open jobs, oldest first, for re-queueing after Redis lost its state. */
  async listOpen(afterId: string | null, limit: number): Promise<Pick<JobEntity, 'id' | 'deadlineAt'>[]> {
    return this.repo.query(
      `SELECT id, "deadlineAt" FROM jobs WHERE status IN (${OPEN}) AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
  }

  /** One conditional UPDATE of a job, and optionally its server event in the same statement. */
  private async updateOne(set: string, where: string, params: unknown[], event?: ServerEvent): Promise<JobEntity | null> {
    const update = `UPDATE jobs SET ${set}, "updatedAt" = now() WHERE id = $1 AND ${where} RETURNING *`;
    if (!event) {
      const [rows] = await this.repo.query(update, params);
      return (rows as JobEntity[])[0] ?? null;
    }
    const n = params.length + 1;
    const rows: JobEntity[] = await this.repo.query(`WITH j AS (${update}), e AS (${EVENT_FROM_J(n)}) SELECT * FROM j`, [...params, event.step, event.message]);
    return rows[0] ?? null;
  }
}
