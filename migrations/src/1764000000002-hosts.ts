import { MigrationInterface, QueryRunner } from 'typeorm';

export class Hosts1764000000002 implements MigrationInterface {
  name = 'Hosts1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    // Trigram indexes keep "contains" search over hostname/fqdn/fingerprint fast on large fleets.
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`
      CREATE TABLE enrollment_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "secretHash" text NOT NULL UNIQUE,
        uses integer NOT NULL CHECK (uses BETWEEN 1 AND 10000),
        "usedCount" integer NOT NULL DEFAULT 0 CHECK ("usedCount" >= 0 AND "usedCount" <= uses),
        "expiresAt" timestamptz NOT NULL,
        "autoApprove" boolean NOT NULL DEFAULT false,
        note text NULL,
        "parentHostId" uuid NULL,
        "createdBy" text NOT NULL,
        "revokedAt" timestamptz NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "lastUsedAt" timestamptz NULL
      )`);
    await q.query(`CREATE INDEX enrollment_tokens_created_at ON enrollment_tokens ("createdAt")`);
    await q.query(`
      CREATE TABLE hosts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "publicKey" text NOT NULL,
        fingerprint text NOT NULL UNIQUE,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'revoked')),
        hostname text NOT NULL,
        fqdn text NOT NULL DEFAULT '',
        platform text NOT NULL,
        "osName" text NOT NULL DEFAULT '',
        "osVersion" text NOT NULL DEFAULT '',
        arch text NOT NULL DEFAULT '',
        "agentVersion" text NOT NULL DEFAULT '',
        facts jsonb NOT NULL DEFAULT '{}',
        roles text[] NOT NULL DEFAULT '{}',
        "parentHostId" uuid NULL REFERENCES hosts (id) ON DELETE SET NULL,
        "enrollmentTokenId" uuid NULL REFERENCES enrollment_tokens (id) ON DELETE SET NULL,
        online boolean NOT NULL DEFAULT false,
        "lastSeenAt" timestamptz NULL,
        "firstSeenAt" timestamptz NOT NULL DEFAULT now(),
        "approvedAt" timestamptz NULL,
        "approvedBy" text NULL,
        "statusReason" text NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "updatedAt" timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX hosts_status ON hosts (status)`);
    await q.query(`CREATE INDEX hosts_platform ON hosts (platform)`);
    await q.query(`CREATE INDEX hosts_roles ON hosts USING gin (roles)`);
    await q.query(`CREATE INDEX hosts_hostname_lower ON hosts (lower(hostname), id)`);
    await q.query(`CREATE INDEX hosts_search_trgm ON hosts USING gin (lower(hostname) gin_trgm_ops, lower(fqdn) gin_trgm_ops, fingerprint gin_trgm_ops)`);
    await q.query(`CREATE INDEX hosts_parent ON hosts ("parentHostId")`);
    await q.query(`CREATE INDEX hosts_last_seen ON hosts ("lastSeenAt")`);
    await q.query(`CREATE INDEX hosts_created_at ON hosts ("createdAt", id)`);
    await q.query(`CREATE INDEX hosts_online ON hosts ("lastSeenAt") WHERE online`);
    // A child's token dies with its parent: it must never become a general auto-approving token.
    await q.query(`ALTER TABLE enrollment_tokens ADD CONSTRAINT enrollment_tokens_parent FOREIGN KEY ("parentHostId") REFERENCES hosts (id) ON DELETE CASCADE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE enrollment_tokens DROP CONSTRAINT enrollment_tokens_parent`);
    await q.query(`DROP TABLE hosts`);
    await q.query(`DROP TABLE enrollment_tokens`);
  }
}
