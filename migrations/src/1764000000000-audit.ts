import { MigrationInterface, QueryRunner } from 'typeorm';

export class Audit1764000000000 implements MigrationInterface {
  name = 'Audit1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE audit_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "actorId" uuid NULL,
        actor text NOT NULL,
        action text NOT NULL,
        "targetType" text NULL,
        "targetId" text NULL,
        outcome text NOT NULL CHECK (outcome IN ('success', 'failure')),
        "sourceIp" text NULL,
        details jsonb NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX audit_events_created_at ON audit_events ("createdAt")`);
    await q.query(`CREATE INDEX audit_events_target ON audit_events ("targetType", "targetId")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
  }
}
