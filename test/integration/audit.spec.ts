import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AuditEventEntity } from '../../apps/server/src/audit/audit.entity';
import { AuditQuery, AuditRepository } from '../../apps/server/src/audit/audit.repository';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, TestDatabase } from '../support/db';

type Row = Omit<AuditEventEntity, 'id' | 'createdAt'>;
const row = (r: Partial<Row> & Pick<Row, 'actor' | 'action'>): Row => ({
  actorId: null, targetType: null, targetId: null, outcome: 'success', sourceIp: null, details: null, ...r,
});
const query = (q: Partial<AuditQuery> = {}): AuditQuery => ({ limit: 100, offset: 0, ...q });

const T0 = new Date('2026-01-10T12:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

/**
 * The audit trail an operator would filter: events a minute apart (`minute` below), so the
 * order and the since/until bounds are known exactly.
 */
const TRAIL: (Row & { minute: number })[] = [
  { ...row({ actor: 'admin', action: 'user.create', targetType: 'user', targetId: 'u-1' }), minute: 0 },
  { ...row({ actor: 'admin', action: 'host.approve', targetType: 'host', targetId: 'h-1' }), minute: 1 },
  { ...row({ actor: 'alice', action: 'host.approve', targetType: 'host', targetId: 'h-2', outcome: 'failure' }), minute: 2 },
  { ...row({ actor: 'alice', action: 'host.reject', targetType: 'host', targetId: 'h-3' }), minute: 3 },
  { ...row({ actor: 'agent:h-1', action: 'host.facts', targetType: 'host', targetId: 'h-1' }), minute: 4 },
  { ...row({ actor: 'system', action: 'job.expire', targetType: 'job', targetId: 'j-1', outcome: 'failure' }), minute: 5 },
  { ...row({ actor: 'admin', action: 'user.delete', targetType: 'user', targetId: 'u-1' }), minute: 6 },
  // Literal LIKE wildcards in an action: a prefix filter must match them as characters only.
  { ...row({ actor: 'admin', action: 'odd%action', targetType: 'x', targetId: 'x-1' }), minute: 7 },
  { ...row({ actor: 'admin', action: 'odd_action', targetType: 'x', targetId: 'x-2' }), minute: 8 },
  { ...row({ actor: 'admin', action: 'oddXaction', targetType: 'x', targetId: 'x-3' }), minute: 9 },
  { ...row({ actor: 'admin', action: 'odd\\action', targetType: 'x', targetId: 'x-4' }), minute: 10 },
];

describe('audit repository search on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let audit: AuditRepository;

  beforeAll(async () => {
    db = await createTestDatabase('audit');
    ds = await migratedDataSource(db.url, [AuditEventEntity]);
    audit = new AuditRepository(ds.getRepository(AuditEventEntity));
    await audit.insertMany(TRAIL.map(({ minute: _minute, ...r }) => r));
    // createdAt is the database's now(); give each event its place on the timeline.
    for (const e of TRAIL) await ds.query(`UPDATE audit_events SET "createdAt" = $1 WHERE "targetId" = $2 AND action = $3`, [at(e.minute), e.targetId, e.action]);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** The searched events as `action targetId`, in the order returned. */
  const search = async (q: Partial<AuditQuery>) => {
    const { items, total } = await audit.search(query(q));
    return { events: items.map((e) => `${e.action} ${e.targetId}`), total };
  };

  it('returns everything newest first when unfiltered, with every column read back', async () => {
    const { items, total } = await audit.search(query());
    expect(total).toBe(TRAIL.length);
    expect(items.map((e) => e.createdAt.getTime())).toEqual([...TRAIL].reverse().map((e) => at(e.minute).getTime()));
    expect(items.find((e) => e.targetId === 'h-2')).toMatchObject({ actor: 'alice', action: 'host.approve', targetType: 'host', outcome: 'failure', actorId: null });
  });

  it('filters by exact actor (no prefix matching)', async () => {
    expect(await search({ actor: 'alice' })).toEqual({ events: ['host.reject h-3', 'host.approve h-2'], total: 2 });
    expect(await search({ actor: 'agent:h-1' })).toEqual({ events: ['host.facts h-1'], total: 1 });
    expect(await search({ actor: 'ali' })).toEqual({ events: [], total: 0 });
  });

  it('filters by action prefix', async () => {
    expect(await search({ action: 'user.' })).toEqual({ events: ['user.delete u-1', 'user.create u-1'], total: 2 });
    expect(await search({ action: 'host.approve' })).toEqual({ events: ['host.approve h-2', 'host.approve h-1'], total: 2 });
    expect((await search({ action: 'host' })).total).toBe(4);
    expect(await search({ action: 'approve' })).toEqual({ events: [], total: 0 });
  });

  it('treats %, _ and \\ in the action filter as plain characters', async () => {
    expect(await search({ action: 'odd%' })).toEqual({ events: ['odd%action x-1'], total: 1 });
    expect(await search({ action: 'odd_' })).toEqual({ events: ['odd_action x-2'], total: 1 });
    expect(await search({ action: 'odd\\' })).toEqual({ events: ['odd\\action x-4'], total: 1 });
    expect(await search({ action: '%' })).toEqual({ events: [], total: 0 });
    expect((await search({ action: 'odd' })).total).toBe(4);
  });

  it('filters by target type and by target id', async () => {
    expect(await search({ targetType: 'user' })).toEqual({ events: ['user.delete u-1', 'user.create u-1'], total: 2 });
    expect(await search({ targetId: 'h-1' })).toEqual({ events: ['host.facts h-1', 'host.approve h-1'], total: 2 });
    expect(await search({ targetType: 'job' })).toEqual({ events: ['job.expire j-1'], total: 1 });
  });

  it('filters by outcome', async () => {
    expect(await search({ outcome: 'failure' })).toEqual({ events: ['job.expire j-1', 'host.approve h-2'], total: 2 });
    expect((await search({ outcome: 'success' })).total).toBe(TRAIL.length - 2);
  });

  it('bounds by time: since is inclusive, until is exclusive', async () => {
    expect(await search({ since: at(9) })).toEqual({ events: ['odd\\action x-4', 'oddXaction x-3'], total: 2 });
    expect(await search({ until: at(2) })).toEqual({ events: ['host.approve h-1', 'user.create u-1'], total: 2 });
    expect(await search({ since: at(2), until: at(4) })).toEqual({ events: ['host.reject h-3', 'host.approve h-2'], total: 2 });
    expect(await search({ since: at(3), until: at(3) })).toEqual({ events: [], total: 0 });
    // A bound between two events.
    expect(await search({ since: new Date(at(5).getTime() + 1), until: new Date(at(7).getTime() - 1) })).toEqual({ events: ['user.delete u-1'], total: 1 });
  });

  it('combines filters with AND', async () => {
    expect(await search({ actor: 'admin', targetType: 'host' })).toEqual({ events: ['host.approve h-1'], total: 1 });
    expect(await search({ action: 'host.', outcome: 'failure' })).toEqual({ events: ['host.approve h-2'], total: 1 });
    expect(await search({ targetType: 'host', targetId: 'h-1', since: at(2) })).toEqual({ events: ['host.facts h-1'], total: 1 });
    expect(await search({ actor: 'admin', action: 'user.', targetType: 'user', targetId: 'u-1', outcome: 'success', since: at(0), until: at(6) })).toEqual({ events: ['user.create u-1'], total: 1 });
    expect(await search({ actor: 'alice', outcome: 'failure', action: 'host.reject' })).toEqual({ events: [], total: 0 });
  });

  it('pages newest first; total counts every match, not the page', async () => {
    const all = (await search({})).events;
    const pages: string[] = [];
    for (let offset = 0; offset < TRAIL.length; offset += 4) {
      const page = await search({ limit: 4, offset });
      expect(page.total).toBe(TRAIL.length);
      pages.push(...page.events);
    }
    expect(pages).toEqual(all);
    expect(await search({ limit: 4, offset: 8 })).toMatchObject({ total: TRAIL.length });
    expect((await search({ limit: 4, offset: 8 })).events).toHaveLength(TRAIL.length - 8);
    expect(await search({ limit: 4, offset: 100 })).toEqual({ events: [], total: TRAIL.length });
    // A filtered page counts the filtered total.
    expect(await search({ actor: 'admin', limit: 2, offset: 2 })).toEqual({ events: ['odd_action x-2', 'odd%action x-1'], total: 7 });
  });

  it('orders events with the same timestamp by id, so pages neither repeat nor skip one', async () => {
    const same = at(60);
    await audit.insertMany(Array.from({ length: 5 }, (_, i) => row({ actor: 'tie', action: 'tie.event', targetId: `t-${i}` })));
    await ds.query(`UPDATE audit_events SET "createdAt" = $1 WHERE actor = 'tie'`, [same]);
    try {
      const seen: string[] = [];
      for (let offset = 0; offset < 5; offset += 2) seen.push(...(await search({ actor: 'tie', limit: 2, offset })).events);
      expect(new Set(seen).size).toBe(5);
      const ids = (await audit.search(query({ actor: 'tie' }))).items.map((e) => e.id);
      expect(ids).toEqual([...ids].sort().reverse());
    } finally {
      await ds.query(`DELETE FROM audit_events WHERE actor = 'tie'`);
    }
  });

  it('stores events recorded at the same time, each whole and with its own fields', async () => {
    const actorId = '11111111-1111-4111-8111-111111111111';
    try {
      await Promise.all([
        audit.insert(row({ actor: 'burst', action: 'host.approve', targetType: 'host', targetId: 'h-1', actorId, sourceIp: '10.0.0.9', details: { status: 200 } })),
        audit.insert(row({ actor: 'burst', action: 'login', outcome: 'failure' })),
        audit.insert(row({ actor: 'burst', action: 'host.reject', targetType: 'host', targetId: 'h-2' })),
      ]);
      const { items } = await audit.search(query({ actor: 'burst' }));
      expect(items.map(({ id: _id, createdAt: _at, ...e }) => e).sort((a, b) => a.action.localeCompare(b.action))).toEqual([
        row({ actor: 'burst', action: 'host.approve', targetType: 'host', targetId: 'h-1', actorId, sourceIp: '10.0.0.9', details: { status: 200 } }),
        row({ actor: 'burst', action: 'host.reject', targetType: 'host', targetId: 'h-2' }),
        row({ actor: 'burst', action: 'login', outcome: 'failure' }),
      ]);
    } finally {
      await ds.query(`DELETE FROM audit_events WHERE actor = 'burst'`);
    }
  });
});
