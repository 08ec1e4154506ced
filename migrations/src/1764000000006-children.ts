import { MigrationInterface, QueryRunner } from 'typeorm';

export class Children1764000000006 implements MigrationInterface {
  name = 'Children1764000000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ssh_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        "publicKey" text NOT NULL,
        fingerprint text NOT NULL,
        "privateKeyEncrypted" text NULL,
        "createdBy" text NOT NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ssh_keys_name UNIQUE (name)
      )`);
    // One row per VM of a parent host. (hostId, name) is unique: it is the final guard against two
    // creates of one name racing past the service's checks.
    await q.query(`
      CREATE TABLE child_hosts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "hostId" uuid NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
        name text NOT NULL,
        "childType" text NOT NULL CHECK ("childType" IN ('kvm', 'vmm', 'wsl')),
        "distributionId" uuid NULL REFERENCES distributions (id) ON DELETE SET NULL,
        hostname text NOT NULL,
        state text NOT NULL CHECK (state IN ('creating', 'running', 'stopped', 'paused', 'error', 'gone', 'deleting')),
        ip text NULL,
        vcpus integer NOT NULL DEFAULT 0,
        "memoryMb" integer NOT NULL DEFAULT 0,
        "diskGb" integer NOT NULL DEFAULT 0,
        username text NOT NULL DEFAULT '',
        "childHostId" uuid NULL REFERENCES hosts (id) ON DELETE SET NULL,
        "enrollmentTokenId" uuid NULL REFERENCES enrollment_tokens (id) ON DELETE SET NULL,
        "createJobId" uuid NULL REFERENCES jobs (id) ON DELETE SET NULL,
        "deleteJobId" uuid NULL REFERENCES jobs (id) ON DELETE SET NULL,
        error text NULL,
        "createdBy" text NOT NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "updatedAt" timestamptz NOT NULL DEFAULT now(),
        "lastSeenAt" timestamptz NULL,
        CONSTRAINT child_hosts_host_name UNIQUE ("hostId", name)
      )`);
    await q.query(`CREATE INDEX child_hosts_child_host ON child_hosts ("childHostId") WHERE "childHostId" IS NOT NULL`);
    await q.query(`CREATE INDEX child_hosts_token ON child_hosts ("enrollmentTokenId") WHERE "enrollmentTokenId" IS NOT NULL`);
    await q.query(`CREATE INDEX child_hosts_distribution ON child_hosts ("distributionId") WHERE "distributionId" IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE child_hosts`);
    await q.query(`DROP TABLE ssh_keys`);
  }
}
