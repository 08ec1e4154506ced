import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
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

@Injectable()
export class AuditRepository {
  constructor(@InjectRepository(AuditEventEntity) private readonly repo: Repository<AuditEventEntity>) {}

  async insert(event: Omit<AuditEventEntity, 'id' | 'createdAt'>): Promise<void> {
    // jsonb columns defeat TypeORM's deep-partial typing; the entity type already constrains `event`.
    await this.repo.insert(event as QueryDeepPartialEntity<AuditEventEntity>);
  }

  /** Many events in one multi-row INSERT (one round trip and one commit). */
  async insertMany(events: Omit<AuditEventEntity, 'id' | 'createdAt'>[]): Promise<void> {
    if (events.length === 0) return;
    await this.repo.insert(events as QueryDeepPartialEntity<AuditEventEntity>[]);
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
