import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ChildHostEntity } from '../../apps/server/src/child-hosts/child-hosts.entity';
import { ChildHostsRepository, NewChild } from '../../apps/server/src/child-hosts/child-hosts.repository';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, TestDatabase } from '../support/db';

describe('child_hosts on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: ChildHostsRepository;

  const newHost = async (name: string, tokenId: string | null = null): Promise<string> => {
    const [row] = await ds.query(
      `INSERT INTO hosts ("publicKey", fingerprint, status, hostname, platform, "enrollmentTokenId") VALUES ('k', $1, 'approved', $2, 'linux', $3) RETURNING id`,
      [`SHA256:${randomUUID()}`, name, tokenId],
    );
    return row.id as string;
  };
  const child = (hostId: string, name: string, over: Partial<NewChild> = {}): NewChild => ({
    hostId, name, childType: 'kvm', distributionId: null, hostname: name, vcpus: 1, memoryMb: 1024, diskGb: 10, username: 'ops', createdBy: 'alice', ...over,
  });
  const rowsOf = async (hostId: string) => Object.fromEntries((await repo.listForHost(hostId)).map((r) => [r.name, r]));
  const setState = (hostId: string, name: string, state: string) => ds.query(`UPDATE child_hosts SET state = $3 WHERE "hostId" = $1 AND name = $2`, [hostId, name, state]);

  beforeAll(async () => {
    db = await createTestDatabase('children');
    ds = await migratedDataSource(db.url, [ChildHostEntity]);
    repo = new ChildHostsRepository(ds.getRepository(ChildHostEntity));
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('lets exactly one of two parallel creates of one name through', async () => {
    const hostId = await newHost('race');
    const results = await Promise.all([repo.insertCreating(child(hostId, 'web1'), () => undefined), repo.insertCreating(child(hostId, 'web1'), () => undefined)]);
    expect(results.filter((r) => r === 'taken')).toHaveLength(1);
    expect(results.filter((r) => r !== 'taken')).toHaveLength(1);
    expect(Object.keys(await rowsOf(hostId))).toEqual(['web1']);
    // The unique index holds even for writers that skip the repository.
    await expect(ds.query(`INSERT INTO child_hosts ("hostId", name, "childType", hostname, state, "createdBy") VALUES ($1, 'web1', 'kvm', 'x', 'running', 'x')`, [hostId]))
      .rejects.toThrow(/child_hosts_host_name/);
  });

  it('shows each capacity check what the creates under way claim, one at a time', async () => {
    const hostId = await newHost('capacity');
    const seen: number[] = [];
    // Each check refuses once 2048 MB are claimed: of three parallel creates of 1024 MB, the third is refused.
    const attempts = ['a', 'b', 'c'].map((n) => repo.insertCreating(child(hostId, n), (claimed) => {
      seen.push(claimed.memoryMb);
      if (claimed.memoryMb + 1024 > 2048) throw new Error('short of memory');
    }).then(() => 'ok', (e: Error) => e.message));
    expect((await Promise.all(attempts)).sort()).toEqual(['ok', 'ok', 'short of memory']);
    expect(seen.sort()).toEqual([0, 1024, 2048]);
    expect(Object.keys(await rowsOf(hostId))).toHaveLength(2);
  });

  it('reconciles with the agent list: adds unknown VMs, marks missing ones gone, never while a create or delete runs', async () => {
    const hostId = await newHost('reconcile');
    for (const n of ['known', 'removed', 'making', 'dropping', 'broken']) await repo.insertCreating(child(hostId, n), () => undefined);
    await repo.insertCreating(child(hostId, 'wsl1', { childType: 'wsl' }), () => undefined);
    await setState(hostId, 'known', 'running');
    await setState(hostId, 'removed', 'running');
    await setState(hostId, 'dropping', 'deleting');
    await setState(hostId, 'broken', 'error');
    await setState(hostId, 'wsl1', 'running');

    const { added, gone } = await repo.reconcile(hostId, ['kvm'], [
      { name: 'known', childType: 'kvm', state: 'stopped', ip: '192.168.122.10' },
      { name: 'by-hand', childType: 'kvm', state: 'running', vcpus: 2, memoryMb: 2048, ip: '192.168.122.77' },
      { name: 'broken', childType: 'kvm', state: 'running' },
    ]);
    expect({ added, gone }).toEqual({ added: 1, gone: 1 });
    const rows = await rowsOf(hostId);
    expect(rows.known).toMatchObject({ state: 'stopped', ip: '192.168.122.10' });
    expect(rows['by-hand']).toMatchObject({ state: 'running', createdBy: 'discovered', vcpus: 2, memoryMb: 2048, ip: '192.168.122.77' });
    expect(rows.removed.state).toBe('gone');
    expect(rows.making.state).toBe('creating');
    expect(rows.dropping.state).toBe('deleting');
    expect(rows.broken.state).toBe('error');
    // Not listed this time (only kvm was): left alone.
    expect(rows.wsl1.state).toBe('running');

    // A VM that comes back after being gone takes its reported state again.
    await repo.reconcile(hostId, ['kvm'], [{ name: 'removed', childType: 'kvm', state: 'stopped' }]);
    expect((await rowsOf(hostId)).removed.state).toBe('stopped');
  });

  it('settles creates whose job failed: forgotten when nothing is left, error with the message otherwise', async () => {
    const hostId = await newHost('settle');
    const job = async (status: string, opts: { dispatched: boolean; result?: object; error?: string }) => {
      const [j] = await ds.query(
        `INSERT INTO jobs ("hostId", type, status, "createdBy", "deadlineAt", "dispatchedAt", result, error) VALUES ($1, 'child.create', $2, 'alice', now(), $3, $4, $5) RETURNING id`,
        [hostId, status, opts.dispatched ? new Date() : null, opts.result ?? null, opts.error ?? null],
      );
      return j.id as string;
    };
    const make = async (name: string, jobId: string) => {
      const row = await repo.insertCreating(child(hostId, name), () => undefined);
      if (row === 'taken') throw new Error('taken');
      await repo.setCreateRefs(row.id, { enrollmentTokenId: null, createJobId: jobId });
    };
    await make('cleaned', await job('failed', { dispatched: true, result: { cleanedUp: true }, error: 'checksum mismatch' }));
    await make('kept', await job('failed', { dispatched: true, result: { cleanedUp: false, kept: 'domain kept' }, error: 'command 3 failed: apt-get' }));
    await make('never-sent', await job('expired', { dispatched: false, error: 'expired' }));
    await make('running-still', await job('running', { dispatched: true }));

    await repo.settleFailedJobs(hostId);
    const rows = await rowsOf(hostId);
    expect(Object.keys(rows).sort()).toEqual(['kept', 'running-still']);
    expect(rows.kept).toMatchObject({ state: 'error' });
    expect(rows.kept.error).toContain('command 3 failed: apt-get');
    expect(rows.kept.error).toContain('domain kept');
    expect(rows['running-still'].state).toBe('creating');
  });

  it('links a child to the host that enrolled with its token', async () => {
    const parent = await newHost('parent');
    const [token] = await ds.query(
      `INSERT INTO enrollment_tokens ("secretHash", uses, "expiresAt", "autoApprove", "parentHostId", "createdBy") VALUES ($1, 1, now() + interval '1 hour', true, $2, 'alice') RETURNING id`,
      [randomUUID(), parent],
    );
    const row = await repo.insertCreating(child(parent, 'vm1'), () => undefined);
    if (row === 'taken') throw new Error('taken');
    await repo.setCreateRefs(row.id, { enrollmentTokenId: token.id, createJobId: (await ds.query(`INSERT INTO jobs ("hostId", type, status, "createdBy", "deadlineAt") VALUES ($1, 'child.create', 'running', 'alice', now()) RETURNING id`, [parent]))[0].id });
    await repo.linkEnrolled(parent);
    expect((await rowsOf(parent)).vm1.childHostId).toBeNull();
    const childHost = await newHost('vm1', token.id);
    await repo.linkEnrolled(parent);
    expect((await rowsOf(parent)).vm1).toMatchObject({ childHostId: childHost, childHostStatus: 'approved' });
    // Deleting the child row reports the host record to remove with it.
    expect(await repo.deleteByName(parent, 'vm1')).toEqual({ childHostId: childHost });
  });
});
