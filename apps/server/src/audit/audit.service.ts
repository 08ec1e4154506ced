import { Injectable, Logger } from '@nestjs/common';
import { AuditOutcome } from './audit.entity';
import { AuditQuery, AuditRepository } from './audit.repository';

export interface AuditInput {
  /** Operator user id, when a person did it. */
  actorId?: string | null;
  /** Username, `agent:<hostId>` or `system`. */
  actor: string;
  action: string;
  targetType?: string;
  targetId?: string;
  outcome: AuditOutcome;
  sourceIp?: string | null;
  details?: Record<string, unknown>;
}

/** Writes and reads the audit trail. Every mutation, by an operator or an agent, goes through record(). */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(private readonly audit: AuditRepository) {}

  async record(input: AuditInput): Promise<void> {
    await this.recordMany([input]);
  }

  /** Several events in one INSERT: use it instead of record() in a loop. */
  async recordMany(inputs: AuditInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const rows = inputs.map((input) => ({
      actorId: input.actorId ?? null,
      actor: input.actor,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId ?? null,
      outcome: input.outcome,
      sourceIp: input.sourceIp ?? null,
      details: input.details ?? null,
    }));
    if (rows.length === 1) await this.audit.insert(rows[0]);
    else await this.audit.insertMany(rows);
    for (const input of inputs) this.logger.log(`${input.actor} ${input.action} ${input.targetType ?? ''}:${input.targetId ?? ''} ${input.outcome}`);
  }

  search(query: AuditQuery) {
    return this.audit.search(query);
  }
}
