import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Batcher, retryOnDeadlock } from '../common/batcher';
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

/** One progress message of an agent. */
export interface AgentStep {
  jobId: string;
  hostId: string;
  seq: number;
  step: string;
  message: string;
  percent: number | null;
  at: Date;
}

export interface JobOutcome {
  status: Extract<JobStatus, 'succeeded' | 'failed' | 'cancelled' | 'expired'>;
  result?: Record<string, unknown> | null;
  error?: string | null;
  failedStep?: string | null;
}

const OPEN = OPEN_JOB_STATUSES.map((s) => `'${s}'`).join(', ');

/** What may hold a queued job back from being sent now. */
export interface SendGate {
  /**
   * An older queued job of the same host could be sent now and so must go first (creation order): one
   * that is not cancelled, not past its deadline, and not itself held back by an older open job with
   * its serial key. The host's concurrency limit holds both back alike and is not looked at.
   */
  earlierQueued: boolean;
  /** An older open job with the same serial key (same host) must finish first. */
  earlierInSerial: boolean;
  /** Jobs the agent is carrying out now on the job's host. */
  activeOnHost: number;
}

/** A server-side step of a job (queued, dispatched, its final state), written with the change it records. */
export interface ServerEvent {
  step: string;
  message: string;
}

/** One insertQueued call. */
interface QueuedInsert {
  jobs: NewJob[];
  event: ServerEvent;
}

const compareKeys = (a: string | null, b: string | null): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);

/** The `jobs` table. Every state change is a conditional UPDATE so concurrent replicas cannot regress a job. */
@Injectable()
export class JobsRepository {
  private readonly byId = new Batcher<string, JobEntity>(async (ids) => {
    const rows: JobEntity[] = await this.repo.query(`SELECT * FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, r]));
  });

  private readonly openByHost = new Batcher<string, JobEntity[]>(async (hostIds) => {
    const rows: JobEntity[] = await this.repo.query(`SELECT * FROM jobs WHERE "hostId" = ANY($1::uuid[]) AND status IN (${OPEN}) ORDER BY "createdAt", id`, [hostIds]);
    const byHost = new Map<string, JobEntity[]>();
    for (const row of rows) byHost.set(row.hostId, [...(byHost.get(row.hostId) ?? []), row]);
    return byHost;
  });

  /** What may hold each job of a batch back from being sent now (see `sendGate`). */
  private readonly gates = new Batcher<string, SendGate>(async (ids) => {
    const rows: ({ id: string } & SendGate)[] = await this.repo.query(
      `SELECT me.id,
         EXISTS (
           SELECT 1 FROM jobs o WHERE o."hostId" = me."hostId" AND o.status = 'queued' AND (o."createdAt", o.id) < (me."createdAt", me.id)
             AND o."cancelRequestedAt" IS NULL AND o."deadlineAt" > now()
             AND NOT (o."serialKey" IS NOT NULL AND EXISTS (
               SELECT 1 FROM jobs p WHERE p."hostId" = o."hostId" AND p."serialKey" = o."serialKey" AND p.status IN (${OPEN}) AND (p."createdAt", p.id) < (o."createdAt", o.id)))
         ) AS "earlierQueued",
         (me."serialKey" IS NOT NULL AND EXISTS (
           SELECT 1 FROM jobs o WHERE o."serialKey" = me."serialKey" AND o."hostId" = me."hostId" AND o.status IN (${OPEN})
             AND (o."createdAt", o.id) < (me."createdAt", me.id))
         ) AS "earlierInSerial",
         (SELECT count(*)::int FROM jobs a WHERE a."hostId" = me."hostId" AND a.status IN ('dispatched', 'running')) AS "activeOnHost"
       FROM jobs me WHERE me.id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(rows.map(({ id, ...gate }) => [id, gate]));
  });

  /** queued -> dispatched for a batch, one `dispatched` event each. */
  private readonly dispatches = new Batcher<{ id: string } & ServerEvent, JobEntity>(async (inputs) => {
    const { first, rows } = await this.updateFirstPerJob(inputs, (i) => i.id,
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, step text, message text)),
       j AS (UPDATE jobs SET status = 'dispatched', "dispatchedAt" = now(), "dispatchCount" = "dispatchCount" + 1, "updatedAt" = now()
               FROM x WHERE jobs.id = x.id AND jobs.status = 'queued' RETURNING jobs.*),
       e AS (INSERT INTO job_events ("jobId", seq, source, step, message) SELECT j.id, NULL, 'server', x.step, x.message FROM j JOIN x ON x.id = j.id)
       SELECT * FROM j`);
    return new Map(first.flatMap((i) => (rows.has(i.id) ? [[i, rows.get(i.id)!]] : [])));
  });

  /** Final states for a batch, one event each (the status, with the error as its message). */
  private readonly finishes = new Batcher<{ id: string } & JobOutcome, JobEntity>(async (inputs) => {
    const { first, rows } = await this.updateFirstPerJob(inputs, (i) => i.id,
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, status text, result jsonb, error text, "failedStep" text)),
       j AS (UPDATE jobs SET status = x.status, result = x.result, error = x.error, "failedStep" = x."failedStep", "finishedAt" = now(),
                             percent = CASE WHEN x.status = 'succeeded' THEN 100 ELSE jobs.percent END, "updatedAt" = now()
               FROM x WHERE jobs.id = x.id AND jobs.status IN (${OPEN}) RETURNING jobs.*),
       e AS (INSERT INTO job_events ("jobId", seq, source, step, message) SELECT j.id, NULL, 'server', j.status, COALESCE(j.error, j.status) FROM j)
       SELECT * FROM j`);
    return new Map(first.flatMap((i) => (rows.has(i.id) ? [[i, rows.get(i.id)!]] : [])));
  });

  /**
   * Agent steps for a batch: each stored once per (job, seq) if the job is the sending host's; each
   * job that took a new step moves to running with its highest-numbered step and latest percent.
   * A step can overtake the write of the agent's acknowledgement (`markDispatched`): a job still
   * queued is then recorded as dispatched here, its `dispatched` event stored before the step, so
   * the story reads the same whichever write comes first. Answers only the new steps.
   */
  private readonly steps = new Batcher<AgentStep, JobEntity>(async (inputs) => {
    const rows = await this.batchQuery<JobEntity & { _seq: number }>(
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x("jobId" uuid, "hostId" uuid, seq int, step text, message text, percent int, at timestamptz)),
       own AS (SELECT jobs.id, jobs.status FROM jobs WHERE (jobs.id, jobs."hostId") IN (SELECT "jobId", "hostId" FROM x) ORDER BY jobs.id FOR UPDATE),
       fresh AS (SELECT x.* FROM x JOIN own ON own.id = x."jobId"
                  WHERE NOT EXISTS (SELECT 1 FROM job_events ev WHERE ev."jobId" = x."jobId" AND ev.seq = x.seq)),
       e AS (INSERT INTO job_events ("jobId", seq, source, step, message, percent, at)
               SELECT r."jobId", r.seq, r.source, r.step, r.message, r.percent, r.at FROM (
                 SELECT own.id AS "jobId", NULL::int AS seq, 'server' AS source, 'dispatched' AS step, 'delivered to the agent' AS message,
                        NULL::int AS percent, now() AS at, 0 AS k
                   FROM own WHERE own.status = 'queued' AND own.id IN (SELECT "jobId" FROM fresh)
                 UNION ALL
                 SELECT fresh."jobId", fresh.seq, 'agent', fresh.step, fresh.message, fresh.percent, fresh.at, 1 FROM fresh
               ) r ORDER BY r."jobId", r.k, r.seq
             ON CONFLICT ("jobId", seq) WHERE seq IS NOT NULL DO NOTHING RETURNING "jobId", seq, step, percent),
       agent AS (SELECT * FROM e WHERE seq IS NOT NULL),
       latest AS (SELECT DISTINCT ON ("jobId") "jobId", step FROM agent ORDER BY "jobId", seq DESC),
       pct AS (SELECT DISTINCT ON ("jobId") "jobId", percent FROM agent WHERE percent IS NOT NULL ORDER BY "jobId", seq DESC),
       j AS (UPDATE jobs SET status = 'running', step = latest.step, percent = COALESCE(pct.percent, jobs.percent),
                             "dispatchCount" = jobs."dispatchCount" + CASE WHEN own.status = 'queued' THEN 1 ELSE 0 END,
                             "startedAt" = COALESCE("startedAt", now()), "dispatchedAt" = COALESCE("dispatchedAt", now()), "updatedAt" = now()
               FROM latest JOIN own ON own.id = latest."jobId" LEFT JOIN pct ON pct."jobId" = latest."jobId"
              WHERE jobs.id = latest."jobId" AND jobs.status IN (${OPEN}) RETURNING jobs.*)
       SELECT j.*, agent.seq AS "_seq" FROM j JOIN agent ON agent."jobId" = j.id`,
      [...inputs].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.seq - b.seq)),
    );
    const stored = new Map<string, JobEntity>();
    for (const { _seq, ...job } of rows) stored.set(`${job.id}#${_seq}`, job as JobEntity);
    const answers = new Map<AgentStep, JobEntity>();
    for (const i of inputs) {
      const key = `${i.jobId}#${i.seq}`;
      const job = stored.get(key);
      if (!job) continue;
      // The first of equal (job, seq) steps in a batch is the one stored; a repeat is a re-send.
      answers.set(i, job);
      stored.delete(key);
    }
    return answers;
  });

  /** The queued jobs of the insertQueued calls of one turn, in one INSERT; a bad row fails only its own call. */
  private readonly inserts = new Batcher<QueuedInsert, { job: JobEntity; created: boolean }[]>(async (calls) => {
    const all = await this.insertRows(calls.flatMap((c) => c.jobs.map((j) => ({ ...j, ...c.event }))));
    let next = 0;
    return new Map(calls.map((c) => [c, all.slice(next, (next += c.jobs.length))]));
  }, { isolateFailures: true });

  constructor(@InjectRepository(JobEntity) private readonly repo: Repository<JobEntity>) {}

  /**
   * Runs a batch UPDATE (`$1` is the JSON of the inputs) with the first input of each job only, so a
   * job is changed at most once per statement; a later input for the same job gets no answer, as if
   * it had come after the first (whose change it would find made).
   */
  private async updateFirstPerJob<I>(inputs: I[], jobIdOf: (i: I) => string, sql: string): Promise<{ first: I[]; rows: Map<string, JobEntity> }> {
    const seen = new Set<string>();
    const first = inputs.filter((i) => !seen.has(jobIdOf(i)) && Boolean(seen.add(jobIdOf(i))));
    const rows: JobEntity[] = await this.batchQuery(sql, [...first].sort((a, b) => (jobIdOf(a) < jobIdOf(b) ? -1 : 1)));
    return { first, rows: new Map(rows.map((r) => [r.id, r])) };
  }

  /**
   * A batch statement (`$1` is the JSON of `inputs`, sorted so that concurrent batches mostly lock
   * rows in the same order: by job id, by idempotency key for inserts); one that PostgreSQL aborts
   * in a deadlock is re-run.
   */
  private batchQuery<T>(sql: string, inputs: unknown[]): Promise<T[]> {
    return retryOnDeadlock(() => this.repo.query(sql, [JSON.stringify(inputs)]));
  }


  /**
   * Inserts queued jobs together with their `queued` events. The calls made in one turn (each API
   * request creates its job here) share one statement, whatever their number of jobs. A job whose
   * idempotency key its actor has used already is not inserted: that earlier job is returned
   * instead, as `created: false`. Results are in the order of `jobs`.
   */
  async insertQueued(jobs: NewJob[], event: ServerEvent): Promise<{ job: JobEntity; created: boolean }[]> {
    if (jobs.length === 0) return [];
    const results = await this.inserts.call({ jobs, event });
    if (!results) throw new Error('the job insert gave no answer');
    return results;
  }

  /** One statement for the rows of many calls; results in the order of `rows`. */
  private async insertRows(rows: (NewJob & ServerEvent)[]): Promise<{ job: JobEntity; created: boolean }[]> {
    // Sorted by idempotency key: concurrent statements with the same keys take their locks in one order.
    const ordered = [...rows].sort((a, b) => compareKeys(a.createdBy, b.createdBy) || compareKeys(a.idempotencyKey, b.idempotencyKey));
    const inserted: JobEntity[] = await this.batchQuery(
      `WITH r AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, "hostId" uuid, type text, params jsonb, "secretParams" text, "serialKey" text,
                                                         "createdById" uuid, "createdBy" text, "idempotencyKey" text, "deadlineAt" timestamptz,
                                                         step text, message text)
       ), j AS (
         INSERT INTO jobs (id, "hostId", type, params, "secretParams", status, "serialKey", "createdById", "createdBy", "idempotencyKey", "deadlineAt")
         SELECT r.id, r."hostId", r.type, r.params, r."secretParams", 'queued', r."serialKey", r."createdById", r."createdBy", r."idempotencyKey", r."deadlineAt" FROM r
         ON CONFLICT ("createdBy", "idempotencyKey") WHERE "idempotencyKey" IS NOT NULL DO NOTHING
         RETURNING *
       ), e AS (INSERT INTO job_events ("jobId", seq, source, step, message) SELECT j.id, NULL, 'server', r.step, r.message FROM j JOIN r ON r.id = j.id)
       SELECT * FROM j`,
      ordered,
    );
    const byId = new Map(inserted.map((j) => [j.id, j]));
    const repeated = rows.filter((j) => !byId.has(j.id));
    const earlier = new Map<string, JobEntity>();
    for (const createdBy of new Set(repeated.map((j) => j.createdBy))) {
      const keys = repeated.filter((j) => j.createdBy === createdBy).map((j) => j.idempotencyKey);
      const found: JobEntity[] = await this.repo.query(`SELECT * FROM jobs WHERE "createdBy" = $1 AND "idempotencyKey" = ANY($2::text[])`, [createdBy, keys]);
      for (const row of found) earlier.set(`${createdBy}\n${row.idempotencyKey}`, row);
    }
    return rows.map((j) => {
      const created = byId.get(j.id);
      if (created) return { job: created, created: true };
      const found = earlier.get(`${j.createdBy}\n${j.idempotencyKey}`);
      if (!found) throw new Error(`job ${j.id} was neither inserted nor found by its idempotency key`);
      return { job: found, created: false };
    });
  }

  async findById(id: string): Promise<JobEntity | null> {
    return (await this.byId.call(id)) ?? null;
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
    return (await this.dispatches.call({ id, ...event })) ?? null;
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
  async recordProgress(e: AgentStep): Promise<JobEntity | null> {
    return (await this.steps.call(e)) ?? null;
  }

  /** Moves an open job to its final state, with its event; null when it was already final (a re-sent result). */
  async finish(id: string, o: JobOutcome): Promise<JobEntity | null> {
    return (await this.finishes.call({ id, ...o })) ?? null;
  }

  async requestCancel(id: string): Promise<JobEntity | null> {
    const [rows] = await this.repo.query(
      `UPDATE jobs SET "cancelRequestedAt" = COALESCE("cancelRequestedAt", now()), "updatedAt" = now() WHERE id = $1 AND status IN (${OPEN}) RETURNING *`, [id]);
    return (rows as JobEntity[])[0] ?? null;
  }

  /** The host's open jobs, oldest first: the delivery order. */
  async listOpenForHost(hostId: string): Promise<JobEntity[]> {
    return (await this.openByHost.call(hostId)) ?? [];
  }

  /**
   * What may hold a queued job back, asked in one statement. Order is compared on the stored rows
   * (microsecond `createdAt`, then id), never on a value rounded through JavaScript.
   */
  async sendGate(job: Pick<JobEntity, 'id'>): Promise<SendGate> {
    return (await this.gates.call(job.id)) ?? { earlierQueued: false, earlierInSerial: false, activeOnHost: 0 };
  }

  /** Open jobs, oldest first, for re-queueing after Redis lost its state. */
  async listOpen(afterId: string | null, limit: number): Promise<Pick<JobEntity, 'id' | 'deadlineAt'>[]> {
    return this.repo.query(
      `SELECT id, "deadlineAt" FROM jobs WHERE status IN (${OPEN}) AND ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2`,
      [afterId, limit],
    );
  }
}
