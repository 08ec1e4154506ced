import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { HostEntity } from '../../apps/server/src/hosts/hosts.entity';
import { HostVirtualizationEntity } from '../../apps/server/src/virtualization/virtualization.entity';
import { VirtualizationRepository } from '../../apps/server/src/virtualization/virtualization.repository';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, insertApprovedHost, TestDatabase } from '../support/db';

/** The hypervisor reports every approved agent sends on connect, stored on real PostgreSQL. */
describe('hypervisor reports on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: VirtualizationRepository;

  const newHost = () => insertApprovedHost(ds);
  const report = (tag: string) => ({ platform: 'linux', roles: [], hypervisors: [], checkedAt: tag });
  const storedTag = async (hostId: string) =>
    ((await ds.query(`SELECT report->>'checkedAt' AS tag FROM host_virtualization WHERE "hostId" = $1`, [hostId])) as { tag: string }[])[0]?.tag;

  beforeAll(async () => {
    db = await createTestDatabase('virtualization');
    ds = await migratedDataSource(db.url, [HostEntity, HostVirtualizationEntity]);
    repo = new VirtualizationRepository(ds.getRepository(HostVirtualizationEntity));
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('stores the reports of one turn in one statement, the newest of a host winning', async () => {
    const [a, b] = await Promise.all([newHost(), newHost()]);
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const query = jest.spyOn(ds.getRepository(HostVirtualizationEntity), 'query');
    try {
      const answers = await Promise.all([
        repo.saveIfNewer(a, report('a-old'), t(1)), repo.saveIfNewer(a, report('a-new'), t(2)), repo.saveIfNewer(b, report('b'), t(1)),
      ]);
      expect(query).toHaveBeenCalledTimes(1);
      expect(answers).toEqual([false, true, true]);
    } finally {
      query.mockRestore();
    }
    expect([await storedTag(a), await storedTag(b)]).toEqual(['a-new', 'b']);
    // A late, older report changes nothing; a newer one replaces it.
    expect(await repo.saveIfNewer(a, report('a-late'), t(0))).toBe(false);
    expect(await repo.saveIfNewer(a, report('a-next'), t(3))).toBe(true);
    expect(await storedTag(a)).toBe('a-next');
  });

  it("fails only the report of a deleted host when it shares a statement with others", async () => {
    const kept = await newHost();
    const [ok, gone] = await Promise.allSettled([repo.saveIfNewer(kept, report('kept'), new Date()), repo.saveIfNewer(randomUUID(), report('gone'), new Date())]);
    expect(ok).toEqual({ status: 'fulfilled', value: true });
    expect(gone).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/foreign key/) }) });
    expect(await storedTag(kept)).toBe('kept');
  });
});
