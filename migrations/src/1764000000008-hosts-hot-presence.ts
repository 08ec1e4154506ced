import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Presence writes (a hello, a disconnect, the heartbeat, a stopping server's offline marking) change
 * online and "lastSeenAt" of thousands of rows at a time. With either column indexed, every such
 * UPDATE was a new tuple in all ten indexes of hosts, the two GIN ones included (the trigram index
 * alone was a third of the cost of marking 10,000 hosts offline). Without those two indexes, and with
 * room left on each page, they are heap-only (HOT) updates that touch no index: marking 10,000 hosts
 * offline took 1.1 s and takes 0.4 s. What used the indexes reads the table instead: the silent-host
 * sweep and sorting the host list by last seen, a scan of a few megabytes at 10,000 hosts.
 */
export class HostsHotPresence1764000000008 implements MigrationInterface {
  name = 'HostsHotPresence1764000000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX hosts_last_seen`);
    await q.query(`DROP INDEX hosts_online`);
    // Pages filled to 40 %: when every row of a page is written at once (a storm), each new version
    // still finds room on its page, the versions two writes old being pruned first (at 50 % only
    // 50-90 % of them did, at 70 % 60 %). Applies to pages written from now on.
    await q.query(`ALTER TABLE hosts SET (fillfactor = 40)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE hosts RESET (fillfactor)`);
    await q.query(`CREATE INDEX hosts_online ON hosts ("lastSeenAt") WHERE online`);
    await q.query(`CREATE INDEX hosts_last_seen ON hosts ("lastSeenAt")`);
  }
}
