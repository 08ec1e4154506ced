import { MigrationInterface, QueryRunner } from 'typeorm';

export class Jobs1764000000003 implements MigrationInterface {
  name = 'Jobs1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "hostId" uuid NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        type text NOT NULL,
        params jsonb NOT NULL DEFAULT '{}',
        -- Parameters that are secrets (a child's enrolment token): sealed, sent to the agent, never shown.
        "secretParams" text NULL,
        status text NOT NULL CHECK (status IN ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
        step text NULL,
        percent integer NULL,
        result jsonb NULL,
        error text NULL,
        "failedStep" text NULL,
        "serialKey" text NULL,
        "createdById" uuid NULL,
        "createdBy" text NOT NULL,
        "idempotencyKey" text NULL,
        "deadlineAt" timestamptz NOT NULL,
        "cancelRequestedAt" timestamptz NULL,
        "dispatchCount" integer NOT NULL DEFAULT 0,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "updatedAt" timestamptz NOT NULL DEFAULT now(),
        "dispatchedAt" timestamptz NULL,
        "startedAt" timestamptz NULL,
        "finishedAt" timestamptz NULL
      )`);
    await q.query(`CREATE INDEX jobs_host_created ON jobs ("hostId", "createdAt")`);
    await q.query(`CREATE INDEX jobs_open ON jobs ("hostId", "createdAt") WHERE status IN ('queued', 'dispatched', 'running')`);
    await q.query(`CREATE INDEX jobs_status_created ON jobs (status, "createdAt")`);
    await q.query(`CREATE INDEX jobs_created ON jobs ("createdAt")`);
    await q.query(`CREATE UNIQUE INDEX jobs_idempotency ON jobs ("createdBy", "idempotencyKey") WHERE "idempotencyKey" IS NOT NULL`);
    await q.query(`
      CREATE TABLE job_events (
        id bigserial PRIMARY KEY,
        "jobId" uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        seq integer NULL,
        source text NOT NULL CHECK (source IN ('agent', 'server')),
        step text NOT NULL,
        message text NOT NULL,
        percent integer NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX job_events_job ON job_events ("jobId", id)`);
    // An agent re-sends progress until acked: its (job, seq) is stored once.
    await q.query(`CREATE UNIQUE INDEX job_events_agent_seq ON job_events ("jobId", seq) WHERE seq IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE job_events`);
    await q.query(`DROP TABLE jobs`);
  }
}
