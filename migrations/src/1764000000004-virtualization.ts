import { MigrationInterface, QueryRunner } from 'typeorm';

export class Virtualization1764000000004 implements MigrationInterface {
  name = 'Virtualization1764000000004';

  async up(q: QueryRunner): Promise<void> {
    // The last hypervisor report of each host; its roles are copied to hosts.roles for filtering.
    await q.query(`
      CREATE TABLE host_virtualization (
        "hostId" uuid PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,
        report jsonb NOT NULL,
        "checkedAt" timestamptz NOT NULL,
        "updatedAt" timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE host_virtualization`);
  }
}
