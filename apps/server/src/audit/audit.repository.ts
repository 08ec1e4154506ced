import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Batcher } from '../common/batcher';
import { AuditEventEntity } from './audit.entity';

export interface AuditQuery {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  outcome?: string;
  since?: Date;
  until?: Date;
  limit: number;
  offset: number;
}

export type NewAuditEvent = Omit<AuditEventEntity, 'id' | 'createdAt'>;

@Injectable()
export class AuditRepository {
  /** Events recorded together (the requests finishing in one turn) go in one INSERT. */
  private readonly single = new Batcher<NewAuditEvent, true>(async (events) => {
    await this.insertMany(events);
    return new Map(events.map((e) => [e, true]));
  });

  constructor(@InjectRepository(AuditEventEntity) private readonly repo: Repository<AuditEventEntity>) {}

  async insert(event: NewAuditEvent): Promise<void> {
    await this.single.call(event);
  }

  /** Many events in one INSERT (one round trip and one commit). */
  async insertMany(events: NewAuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.repo.query(
      `INSERT INTO audit_events ("actorId", actor, action, "targetType", "targetId", outcome, "sourceIp", details)
       SELECT r."actorId", r.actor, r.action, r."targetType", r."targetId", r.outcome, r."sourceIp", r.details
         FROM jsonb_to_recordset($1::jsonb) AS r("actorId" uuid, actor text, action text, "targetType" text, "targetId" text,
                                                 outcome text, "sourceIp" text, details jsonb)`,
      [JSON.stringify(events)],
    );
  }

  async search(q: AuditQuery): Promise<{ items: AuditEventEntity[]; total: number }> {
    const qb = this.repo.createQueryBuilder('e');
    if (q.actor) qb.andWhere('e.actor = :actor', { actor: q.actor });
    // A prefix, not a pattern: LIKE's wildcards and its escape character (backslash) match as themselves.
    if (q.action) qb.andWhere('e.action LIKE :action', { action: q.action.replace(/[\\%_]/g, '\\$&') + '%' });
    if (q.targetType) qb.andWhere('e.targetType = :targetType', { targetType: q.targetType });
    if (q.targetId) qb.andWhere('e.targetId = :targetId', { targetId: q.targetId });
    if (q.outcome) qb.andWhere('e.outcome = :outcome', { outcome: q.outcome });
    if (q.since) qb.andWhere('e.createdAt >= :since', { since: q.since });
    if (q.until) qb.andWhere('e.createdAt < :until', { until: q.until });
    const [items, total] = await qb.orderBy('e.createdAt', 'DESC').addOrderBy('e.id', 'DESC').take(q.limit).skip(q.offset).getManyAndCount();
    return { items, total };
  }
}
