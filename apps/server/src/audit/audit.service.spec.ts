import { AppError } from '../common/errors';
import { createValidationPipe } from '../common/validation';
import { AuditController } from './audit.controller';
import { AuditQueryDto } from './audit.dto';
import { AuditEventEntity } from './audit.entity';
import type { AuditQuery, AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

type Row = Omit<AuditEventEntity, 'id' | 'createdAt'>;

/** An in-memory stand-in for AuditRepository: keeps what was inserted and how (one row or many). */
class FakeAudit {
  rows: AuditEventEntity[] = [];
  inserts: number[] = [];
  queries: AuditQuery[] = [];
  private next = 1;
  private add(rows: Row[]) {
    this.inserts.push(rows.length);
    for (const r of rows) {
      this.rows.push(Object.assign(new AuditEventEntity(), r, { id: `00000000-0000-4000-8000-${String(this.next++).padStart(12, '0')}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, this.next)) }));
    }
  }
  insert = async (row: Row) => this.add([row]);
  insertMany = async (rows: Row[]) => {
    if (rows.length) this.add(rows);
  };
  search = async (q: AuditQuery) => {
    this.queries.push(q);
    const items = this.rows.filter((r) => !q.actor || r.actor === q.actor).reverse();
    return { items: items.slice(q.offset, q.offset + q.limit), total: items.length };
  };
}

function setup() {
  const repo = new FakeAudit();
  const service = new AuditService(repo as unknown as AuditRepository);
  jest.spyOn((service as unknown as { logger: { log: (m: string) => void } }).logger, 'log').mockImplementation(() => undefined);
  return { repo, service, controller: new AuditController(service) };
}

describe('AuditService', () => {
  it('records one event with absent fields stored as null', async () => {
    const { repo, service } = setup();
    await service.record({ actor: 'system', action: 'job.expire', outcome: 'failure' });
    expect(repo.rows).toHaveLength(1);
    expect(repo.rows[0]).toMatchObject({ actorId: null, actor: 'system', action: 'job.expire', targetType: null, targetId: null, outcome: 'failure', sourceIp: null, details: null });
  });

  it('keeps everything an operator gave: who, what, target, where from, details', async () => {
    const { repo, service } = setup();
    const actorId = '11111111-1111-4111-8111-111111111111';
    await service.record({ actorId, actor: 'alice', action: 'host.approve', targetType: 'host', targetId: 'h-1', outcome: 'success', sourceIp: '10.0.0.9', details: { status: 200 } });
    expect(repo.rows[0]).toMatchObject({ actorId, actor: 'alice', action: 'host.approve', targetType: 'host', targetId: 'h-1', outcome: 'success', sourceIp: '10.0.0.9', details: { status: 200 } });
  });

  it('writes several events in one insert, in the given order, and nothing for an empty list', async () => {
    const { repo, service } = setup();
    await service.recordMany([]);
    expect(repo.inserts).toEqual([]);
    await service.recordMany(['h-1', 'h-2', 'h-3'].map((targetId) => ({ actor: 'admin', action: 'host.reject', targetType: 'host', targetId, outcome: 'success' as const })));
    expect(repo.inserts).toEqual([3]);
    expect(repo.rows.map((r) => r.targetId)).toEqual(['h-1', 'h-2', 'h-3']);
  });

  it('does not swallow a failed write (the caller decides what to do)', async () => {
    const { repo, service } = setup();
    repo.insert = async () => {
      throw new Error('database down');
    };
    await expect(service.record({ actor: 'admin', action: 'user.create', outcome: 'success' })).rejects.toThrow('database down');
  });
});

describe('GET /api/audit-events query and response', () => {
  const pipe = createValidationPipe();
  const parse = (query: Record<string, string>) => pipe.transform(query, { type: 'query', metatype: AuditQueryDto }) as Promise<AuditQueryDto>;

  it('passes every filter to the repository, typed: dates as Dates, paging as numbers', async () => {
    const { repo, controller } = setup();
    const q = await parse({
      actor: 'alice', action: 'host.', targetType: 'host', targetId: 'h-1', outcome: 'failure',
      since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00.000Z', limit: '20', offset: '40',
    });
    await controller.search(q);
    expect(repo.queries).toHaveLength(1);
    const sent = repo.queries[0];
    expect(sent).toMatchObject({ actor: 'alice', action: 'host.', targetType: 'host', targetId: 'h-1', outcome: 'failure', limit: 20, offset: 40 });
    expect(sent.since).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(sent.until).toEqual(new Date('2026-01-02T00:00:00Z'));
  });

  it('pages by 100 from the start when no paging is given', async () => {
    const { repo, controller } = setup();
    await controller.search(await parse({}));
    expect(repo.queries[0]).toMatchObject({ limit: 100, offset: 0 });
    expect(repo.queries[0].since).toBeUndefined();
  });

  it.each([
    ['outcome', { outcome: 'maybe' }],
    ['since', { since: 'yesterday' }],
    ['until', { until: '2026-13-45' }],
    ['limit', { limit: '0' }],
    ['limit', { limit: '501' }],
    ['offset', { offset: '-1' }],
    ['actor', { actor: 'x'.repeat(201) }],
    ['host', { host: 'h-1' }],
  ])('refuses a bad %s with a 400 naming the field', async (field, query) => {
    const err = await parse(query as Record<string, string>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    expect((err as AppError).details).toEqual([expect.objectContaining({ field })]);
  });

  it('answers with ISO timestamps and the total of all matches, not of the page', async () => {
    const { service, controller } = setup();
    await service.recordMany(Array.from({ length: 3 }, (_, i) => ({ actor: 'admin', action: 'user.create', targetType: 'user', targetId: `u-${i}`, outcome: 'success' as const })));
    const page = await controller.search(await parse({ limit: '2' }));
    expect(page.total).toBe(3);
    expect(page.items.map((e) => e.targetId)).toEqual(['u-2', 'u-1']);
    expect(page.items[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(page.items[0]).toMatchObject({ actor: 'admin', action: 'user.create', targetType: 'user', outcome: 'success', actorId: null, sourceIp: null, details: null });
  });
});
