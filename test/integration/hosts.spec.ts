import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { HostFacts } from '@sysfleet/protocol';
import { EnrollmentTokenEntity } from '../../apps/server/src/enrollment/enrollment.entity';
import { EnrollmentTokensRepository } from '../../apps/server/src/enrollment/enrollment.repository';
import { HostEntity } from '../../apps/server/src/hosts/hosts.entity';
import { HostQuery, HostsRepository } from '../../apps/server/src/hosts/hosts.repository';
import { AuditEventEntity } from '../../apps/server/src/audit/audit.entity';
import { AuditRepository } from '../../apps/server/src/audit/audit.repository';
import { AuditService } from '../../apps/server/src/audit/audit.service';
import { EnrollmentService } from '../../apps/server/src/enrollment/enrollment.service';
import type { HostsService } from '../../apps/server/src/hosts/hosts.service';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, TestDatabase } from '../support/db';

const facts = (hostname: string, platform: HostFacts['platform'] = 'linux'): HostFacts => ({
  hostname, fqdn: `${hostname}.example.org`, platform, osName: 'Debian', osVersion: '12', kernel: '6.1', arch: 'x64', cpuModel: 'x',
  cpuCount: 2, memoryTotalBytes: 1, memoryFreeBytes: 1, disks: [], interfaces: [], agentVersion: '0.1.0',
});
const query = (q: Partial<HostQuery> = {}): HostQuery => ({ sort: 'hostname', order: 'asc', limit: 50, offset: 0, ...q });

describe('hosts and enrollment tokens on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let hosts: HostsRepository;
  let tokens: EnrollmentTokensRepository;

  beforeAll(async () => {
    db = await createTestDatabase('hosts');
    ds = await migratedDataSource(db.url, [HostEntity, EnrollmentTokenEntity, AuditEventEntity]);
    hosts = new HostsRepository(ds.getRepository(HostEntity));
    tokens = new EnrollmentTokensRepository(ds.getRepository(EnrollmentTokenEntity));
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const add = (hostname: string, extra: { status?: HostEntity['status']; platform?: HostFacts['platform']; parentHostId?: string } = {}) =>
    hosts.insert({
      publicKey: 'pem', fingerprint: `SHA256:${randomUUID()}`, status: extra.status ?? 'pending', facts: facts(hostname, extra.platform),
      parentHostId: extra.parentHostId ?? null, enrollmentTokenId: null, approvedBy: null, online: false,
    });

  describe('listing', () => {
    let parent: HostEntity;
    beforeAll(async () => {
      parent = await add('Alpha', { status: 'approved' });
      await add('bravo', { platform: 'openbsd', parentHostId: parent.id });
      await add('charlie', { status: 'rejected', platform: 'windows' });
      await add('delta', { status: 'approved', parentHostId: parent.id });
      await add('echo');
      await hosts.setRoles(parent.id, ['kvm_host']);
      await hosts.markOnline(parent.id);
    });

    it('sorts by hostname without regard to case, both ways, and pages without overlap', async () => {
      expect((await hosts.search(query())).items.map((h) => h.hostname)).toEqual(['Alpha', 'bravo', 'charlie', 'delta', 'echo']);
      expect((await hosts.search(query({ order: 'desc' }))).items.map((h) => h.hostname)).toEqual(['echo', 'delta', 'charlie', 'bravo', 'Alpha']);
      const page1 = await hosts.search(query({ limit: 2, offset: 0 }));
      const page3 = await hosts.search(query({ limit: 2, offset: 4 }));
      expect(page1).toMatchObject({ total: 5, items: [{ hostname: 'Alpha' }, { hostname: 'bravo' }] });
      expect(page3).toMatchObject({ total: 5, items: [{ hostname: 'echo' }] });
    });

    it('filters by status, platform, role, online, parent and text, with the filtered total', async () => {
      const names = async (q: Partial<HostQuery>) => {
        const r = await hosts.search(query(q));
        expect(r.total).toBe(r.items.length);
        return r.items.map((h) => h.hostname);
      };
      expect(await names({ status: 'approved' })).toEqual(['Alpha', 'delta']);
      expect(await names({ platform: 'openbsd' })).toEqual(['bravo']);
      expect(await names({ role: 'kvm_host' })).toEqual(['Alpha']);
      expect(await names({ online: true })).toEqual(['Alpha']);
      expect(await names({ online: false })).toEqual(['bravo', 'charlie', 'delta', 'echo']);
      expect(await names({ parentHostId: parent.id })).toEqual(['bravo', 'delta']);
      expect(await names({ q: 'ALP' })).toEqual(['Alpha']);
      expect(await names({ q: 'ho.example' })).toEqual(['echo']);
      expect(await names({ q: '100%_' })).toEqual([]);
      expect(await names({ q: parent.fingerprint.slice(0, 20) })).toEqual(['Alpha']);
      expect(await names({ status: 'approved', parentHostId: parent.id })).toEqual(['delta']);
    });

    it('lists without the heavy columns and sorts never-seen hosts last by lastSeenAt desc', async () => {
      const r = await hosts.search(query({ sort: 'lastSeenAt', order: 'desc' }));
      expect((r.items[0] as HostEntity).facts).toBeUndefined();
      expect((r.items[0] as HostEntity).publicKey).toBeUndefined();
      expect(r.items).toHaveLength(5);
    });
  });

  it('changes status only from the allowed statuses, atomically', async () => {
    const a = await add('status-a');
    const b = await add('status-b', { status: 'revoked' });
    const changed = await hosts.changeStatus([a.id, b.id, randomUUID()], ['pending', 'rejected'], { status: 'approved', statusReason: null, approvedBy: 'alice' });
    expect(changed).toEqual([expect.objectContaining({ id: a.id, status: 'approved', approvedBy: 'alice', approvedAt: expect.any(Date) })]);
    expect(await hosts.statusesOf([a.id, b.id])).toEqual(new Map([[a.id, 'approved'], [b.id, 'revoked']]));
  });

  it('a deleted parent leaves its children unlinked, and its child tokens gone', async () => {
    const p = await add('parent-x', { status: 'approved' });
    const c = await add('child-x', { parentHostId: p.id });
    const t = await tokens.create({ secretHash: randomUUID(), uses: 1, expiresAt: new Date(Date.now() + 60_000), autoApprove: true, note: null, parentHostId: p.id, createdBy: 'system' });
    expect(await hosts.deleteById(p.id)).toBe(true);
    expect((await hosts.findById(c.id))!.parentHostId).toBeNull();
    expect(await tokens.findBySecretHash(t.secretHash)).toBeNull();
  });

  it('marks hosts offline that no replica vouched for, and keeps the vouched ones', async () => {
    const silent = await add('silent', { status: 'approved' });
    const fresh = await add('fresh', { status: 'approved' });
    await hosts.markOnline(silent.id);
    await hosts.markOnline(fresh.id);
    await ds.query(`UPDATE hosts SET "lastSeenAt" = now() - interval '5 minutes' WHERE id = ANY($1::uuid[])`, [[silent.id, fresh.id]]);
    await hosts.touchConnected([fresh.id]);
    const gone = await hosts.markSilentOffline(90_000);
    expect(gone.map((h) => h.id)).toEqual([silent.id]);
    expect((await hosts.findById(fresh.id))!.online).toBe(true);
  });

  it('rejects a second host with the same key', async () => {
    const h = await add('dup');
    await expect(hosts.insert({ publicKey: 'pem', fingerprint: h.fingerprint, status: 'pending', facts: facts('dup2'), parentHostId: null, enrollmentTokenId: null, approvedBy: null, online: false }))
      .rejects.toMatchObject({ driverError: expect.objectContaining({ code: '23505' }) });
  });

  it('never uses a token more often than allowed, even under 40 concurrent enrolments', async () => {
    const secretHash = createHash('sha256').update(randomUUID()).digest('hex');
    await tokens.create({ secretHash, uses: 5, expiresAt: new Date(Date.now() + 60_000), autoApprove: true, note: null, parentHostId: null, createdBy: 'admin' });
    const results = await Promise.all(Array.from({ length: 40 }, () => tokens.consume(secretHash)));
    expect(results.filter(Boolean)).toHaveLength(5);
    expect((await tokens.findBySecretHash(secretHash))!.usedCount).toBe(5);
  });

  it('hands out a token\'s uses to concurrent batches without going over, and takes unused ones back', async () => {
    const secretHash = createHash('sha256').update(randomUUID()).digest('hex');
    await tokens.create({ secretHash, uses: 5, expiresAt: new Date(Date.now() + 60_000), autoApprove: true, note: null, parentHostId: null, createdBy: 'admin' });
    const results = await Promise.all(Array.from({ length: 6 }, () => ds.transaction((m) => tokens.consumeMany(secretHash, 3, m))));
    expect(results.reduce((sum, r) => sum + (r?.granted ?? 0), 0)).toBe(5);
    expect((await tokens.findBySecretHash(secretHash))!.usedCount).toBe(5);
    await ds.transaction((m) => tokens.giveBack(secretHash, 2, m));
    expect((await tokens.findBySecretHash(secretHash))!.usedCount).toBe(3);
  });

  it('stores many hosts in one insert and skips keys that are already enrolled', async () => {
    const known = await add('many-known');
    const row = (fingerprint: string, hostname: string) => ({
      publicKey: 'pem', fingerprint, status: 'pending' as const, facts: facts(hostname), parentHostId: null, enrollmentTokenId: null, approvedBy: null, online: false,
    });
    const fresh = `SHA256:${randomUUID()}`;
    const stored = await hosts.insertMany([row(known.fingerprint, 'many-again'), row(fresh, 'many-new'), row(fresh, 'many-twice')]);
    expect(stored.map((h) => [h.fingerprint, h.hostname, h.status, h.facts.hostname])).toEqual([[fresh, 'many-new', 'pending', 'many-new']]);
    expect(stored[0]).toMatchObject({ roles: [], online: false, approvedAt: null, approvedBy: null, statusReason: null, fqdn: 'many-new.example.org' });
    expect(stored[0].firstSeenAt).toBeInstanceOf(Date);
    expect((await hosts.findById(known.id))!.hostname).toBe('many-known');

    const approved = await hosts.insertMany([{ ...row(`SHA256:${randomUUID()}`, 'many-approved'), status: 'approved', approvedBy: 'token:t1', online: true }]);
    expect(approved[0]).toMatchObject({ status: 'approved', approvedBy: 'token:t1', online: true, roles: [] });
    expect(approved[0].approvedAt).toBeInstanceOf(Date);
    expect(approved[0].lastSeenAt).toBeInstanceOf(Date);
  });

  it('sets the roles of several hosts in one UPDATE, sorted and without repeats; unchanged roles and a deleted host are not written', async () => {
    const [a, b] = await Promise.all([add('roles-a'), add('roles-b')]);
    await hosts.setRoles(b.id, ['kvm_host']);
    const before = (await hosts.findById(b.id))!.updatedAt;
    const query = jest.spyOn(ds.getRepository(HostEntity), 'query');
    try {
      const [ra, rb, gone] = await Promise.all([
        hosts.setRoles(a.id, ['wsl_host', 'kvm_host', 'kvm_host']), hosts.setRoles(b.id, ['kvm_host', 'kvm_host']), hosts.setRoles(randomUUID(), ['kvm_host']),
      ]);
      expect(query).toHaveBeenCalledTimes(1);
      expect(ra!.roles).toEqual(['kvm_host', 'wsl_host']);
      expect(rb).toBeNull();
      expect(gone).toBeNull();
    } finally {
      query.mockRestore();
    }
    expect((await hosts.findById(a.id))!.roles).toEqual(['kvm_host', 'wsl_host']);
    expect((await hosts.findById(b.id))!.updatedAt).toEqual(before);
    expect((await hosts.setRoles(b.id, []))!.roles).toEqual([]);
  });

  it('does not use an expired or revoked token', async () => {
    const expired = randomUUID();
    const revoked = randomUUID();
    await tokens.create({ secretHash: expired, uses: 5, expiresAt: new Date(Date.now() - 1000), autoApprove: false, note: null, parentHostId: null, createdBy: 'admin' });
    const t = await tokens.create({ secretHash: revoked, uses: 5, expiresAt: new Date(Date.now() + 60_000), autoApprove: false, note: null, parentHostId: null, createdBy: 'admin' });
    await tokens.revoke(t.id);
    expect(await tokens.consume(expired)).toBeNull();
    expect(await tokens.consume(revoked)).toBeNull();
    expect(await tokens.revoke(randomUUID())).toBeNull();
  });

  it('admits exactly 5 of 40 agents enrolling at once with a 5-use auto-approving token, the rest pending, all audited', async () => {
    const audit = new AuditService(new AuditRepository(ds.getRepository(AuditEventEntity)));
    const announced: HostEntity[] = [];
    const hostsService = { announceEnrolled: (h: HostEntity) => announced.push(h) } as unknown as HostsService;
    const service = new EnrollmentService(tokens, hosts, hostsService, ds, audit);
    const secret = `sfe_${randomUUID()}`;
    const token = await tokens.create({
      secretHash: createHash('sha256').update(secret).digest('hex'), uses: 5, expiresAt: new Date(Date.now() + 60_000), autoApprove: true, note: null, parentHostId: null, createdBy: 'admin',
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => service.enroll({ publicKey: 'pem', fingerprint: `SHA256:storm-${i}-${randomUUID()}`, facts: facts(`storm-${i}`), token: secret, connected: true })),
    );
    const approved = results.filter((r) => r.host.status === 'approved');
    expect(approved).toHaveLength(5);
    // Only the admitted ones are online; those that lost the race for a use were put back offline.
    expect(results.filter((r) => r.host.online).map((r) => r.host.id).sort()).toEqual(approved.map((r) => r.host.id).sort());
    expect(approved.every((r) => r.host.enrollmentTokenId === token.id && r.host.approvedBy === `token:${token.id}`)).toBe(true);
    expect(results.filter((r) => r.host.status === 'pending' && r.host.enrollmentTokenId === null)).toHaveLength(35);
    expect((await tokens.findBySecretHash(token.secretHash))!.usedCount).toBe(5);
    const stored: { status: string; n: string }[] = await ds.query(`SELECT status, count(*) AS n FROM hosts WHERE hostname LIKE 'storm-%' GROUP BY status ORDER BY status`);
    expect(stored).toEqual([{ status: 'approved', n: '5' }, { status: 'pending', n: '35' }]);
    const uses: { outcome: string; n: string }[] = await ds.query(
      `SELECT outcome, count(*) AS n FROM audit_events WHERE action = 'enrollment-token.use' AND details->>'hostId' = ANY($1) GROUP BY outcome ORDER BY outcome`,
      [results.map((r) => r.host.id)],
    );
    expect(uses).toEqual([{ outcome: 'failure', n: '35' }, { outcome: 'success', n: '5' }]);
    expect(announced).toHaveLength(40);
  });

  it('records a hello in one update: facts, lastSeenAt, online only when approved; null for a deleted host', async () => {
    const approved = await add('hello-a', { status: 'approved' });
    const pending = await add('hello-p');
    const changed = { ...facts('hello-a2'), osVersion: '13' };
    expect(await hosts.recordHello(approved.id, changed)).toMatchObject({ hostname: 'hello-a2', osVersion: '13', online: true, facts: changed });
    // Same facts again: nothing about them changes, the host is still seen.
    const again = await hosts.recordHello(approved.id, changed);
    expect(again).toMatchObject({ facts: changed, online: true });
    expect(again!.lastSeenAt!.getTime()).toBeGreaterThanOrEqual(approved.lastSeenAt!.getTime());
    expect(await hosts.recordHello(pending.id, facts('hello-p'))).toMatchObject({ status: 'pending', online: false });
    // A facts report alone (not a hello) stores the facts but leaves online as it is.
    const offline = await add('facts-only', { status: 'approved' });
    expect(await hosts.updateFacts(offline.id, facts('facts-only-2'))).toMatchObject({ hostname: 'facts-only-2', online: false });
    await hosts.deleteById(pending.id);
    expect(await hosts.recordHello(pending.id, facts('hello-p'))).toBeNull();
  });

  it('connects and disconnects arriving together: each host gets its own row back, one UPDATE each way', async () => {
    const approved = await Promise.all(['on-1', 'on-2', 'on-3'].map((n) => add(n, { status: 'approved' })));
    const pending = await add('on-pending');
    const byFingerprint = await Promise.all([...approved, pending].map((h) => hosts.findByFingerprint(h.fingerprint)));
    expect(byFingerprint.map((h) => h?.id)).toEqual([...approved, pending].map((h) => h.id));
    expect(await hosts.findByFingerprint('SHA256:nobody')).toBeNull();
    const statements = jest.spyOn(ds.getRepository(HostEntity), 'query');
    const online = await Promise.all([...approved, pending].map((h) => hosts.markOnline(h.id)));
    expect(online.map((h) => h && [h.id, h.online])).toEqual([...approved.map((h) => [h.id, true]), null]);
    const offline = await Promise.all([approved[0], approved[1], pending].map((h) => hosts.markOffline(h.id)));
    expect(offline.map((h) => h && [h.id, h.online])).toEqual([[approved[0].id, false], [approved[1].id, false], null]);
    expect(statements).toHaveBeenCalledTimes(2);
    statements.mockRestore();
    // Offline twice: the second finds the host offline already and changes nothing.
    expect(await hosts.markOffline(approved[0].id)).toBeNull();
    expect((await hosts.findById(approved[2].id))!.online).toBe(true);
  });

  it('the heartbeat leaves hosts stamped within the fresh window alone', async () => {
    const recent = await add('beat-recent', { status: 'approved' });
    const old = await add('beat-old', { status: 'approved' });
    await hosts.markOnline(recent.id);
    await hosts.markOnline(old.id);
    await ds.query(`UPDATE hosts SET "lastSeenAt" = now() - interval '5 seconds' WHERE id = $1`, [recent.id]);
    await ds.query(`UPDATE hosts SET "lastSeenAt" = now() - interval '5 minutes' WHERE id = $1`, [old.id]);
    const before = (await hosts.findById(recent.id))!.lastSeenAt!;
    await hosts.touchConnected([recent.id, old.id], 15_000);
    expect((await hosts.findById(recent.id))!.lastSeenAt).toEqual(before);
    expect(Date.now() - (await hosts.findById(old.id))!.lastSeenAt!.getTime()).toBeLessThan(60_000);
  });

  it('answers a filtered, sorted page over 10,000 hosts with index scans', async () => {
    await ds.query(
      `INSERT INTO hosts ("publicKey", fingerprint, status, hostname, fqdn, platform, facts)
       SELECT 'pem', 'SHA256:bulk' || g, CASE WHEN g % 3 = 0 THEN 'approved' ELSE 'pending' END, 'bulk-' || g, 'bulk-' || g || '.lan',
              CASE WHEN g % 2 = 0 THEN 'linux' ELSE 'openbsd' END, '{}'::jsonb
       FROM generate_series(1, 10000) g`,
    );
    await ds.query('ANALYZE hosts');
    const page = await hosts.search(query({ status: 'approved', platform: 'linux', q: 'bulk-99', limit: 500 }));
    // g % 6 == 0 and the name contains "bulk-99": 990, 996, 9900, 9906, ...
    expect(page.items.every((h) => h.status === 'approved' && h.platform === 'linux' && h.hostname.includes('bulk-99'))).toBe(true);
    expect(page.total).toBe(page.items.length);
    expect(page.total).toBeGreaterThan(0);
    // At 10,000 rows a sequential scan may still be the cheapest plan; what matters is that the
    // indexes cover the search and sort expressions, so the planner can switch as the fleet grows.
    const plans = await ds.transaction(async (m) => {
      await m.query('SET LOCAL enable_seqscan = off');
      const explain = async (sql: string) => ((await m.query(`EXPLAIN ${sql}`)) as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n');
      return {
        search: await explain(`SELECT id FROM hosts h WHERE lower(h.hostname) LIKE '%bulk-99%' OR lower(h.fqdn) LIKE '%bulk-99%' OR h.fingerprint LIKE '%bulk-99%'`),
        sort: await explain(`SELECT id FROM hosts h ORDER BY lower(h.hostname) ASC, h.id ASC LIMIT 50`),
        role: await explain(`SELECT id FROM hosts h WHERE h.roles @> ARRAY['kvm_host']::text[]`),
      };
    });
    expect(plans.search).toContain('hosts_search_trgm');
    expect(plans.sort).toContain('hosts_hostname_lower');
    expect(plans.role).toContain('hosts_roles');
  });
});

/**
 * Presence writes come in thousands in a reconnect storm or a stop; each must be a heap-only (HOT)
 * update that touches no index of hosts (migration 8). A database of its own, on one connection,
 * so that the table's update counters see nothing but these writes.
 */
describe('presence writes on PostgreSQL', () => {
  let db: TestDatabase;
  let one: DataSource;
  let hosts: HostsRepository;

  beforeAll(async () => {
    db = await createTestDatabase('hosts-hot');
    one = await migratedDataSource(db.url, [HostEntity, EnrollmentTokenEntity, AuditEventEntity], 1);
    hosts = new HostsRepository(one.getRepository(HostEntity));
  });

  afterAll(async () => {
    await one?.destroy();
    await db?.drop();
  });

  /** The table's counters, with this connection's pending statistics flushed first (PostgreSQL 15). */
  const updates = async () => {
    await one.query('SELECT pg_stat_force_next_flush()');
    const [row] = (await one.query(`SELECT n_tup_upd::int AS all, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'hosts'`)) as { all: number; hot: number }[];
    return row;
  };

  it('marks hosts online, beats, records hellos and marks them offline without touching an index', async () => {
    const stored = await hosts.insertMany(Array.from({ length: 50 }, (_, i) => ({
      publicKey: 'pem', fingerprint: `SHA256:${randomUUID()}`, status: 'approved' as const, facts: facts(`hot-${i}`), parentHostId: null,
      enrollmentTokenId: null, approvedBy: 'admin', online: false,
    })));
    const ids = stored.map((h) => h.id);
    const before = await updates();
    expect((await Promise.all(ids.map((id) => hosts.markOnline(id)))).every((h) => h?.online)).toBe(true);
    await hosts.touchConnected(ids);
    // New facts, the same names: a renamed host changes indexed columns and cannot be heap-only.
    await Promise.all(stored.map((h) => hosts.recordHello(h.id, { ...facts(h.hostname), memoryFreeBytes: 2 })));
    expect((await Promise.all(ids.map((id) => hosts.markOffline(id)))).every((h) => h && !h.online)).toBe(true);
    const after = await updates();
    expect({ all: after.all - before.all, hot: after.hot - before.hot }).toEqual({ all: 200, hot: 200 });
  });
});
