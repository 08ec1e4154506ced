import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type AuditOutcome = 'success' | 'failure';

@Entity('audit_events')
@Index(['createdAt'])
export class AuditEventEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** The operator's user id, or null for agents and the system. */
  @Column({ type: 'uuid', nullable: true }) actorId!: string | null;
  /** Who did it as shown to people: a username, `agent:<hostId>` or `system`. */
  @Column({ type: 'text' }) actor!: string;
  /** Dotted verb, e.g. `host.approve`, `user.create`, `enrollment-token.use`. */
  @Column({ type: 'text' }) action!: string;
  @Column({ type: 'text', nullable: true }) targetType!: string | null;
  @Column({ type: 'text', nullable: true }) targetId!: string | null;
  @Column({ type: 'text' }) outcome!: AuditOutcome;
  @Column({ type: 'text', nullable: true }) sourceIp!: string | null;
  @Column({ type: 'jsonb', nullable: true }) details!: Record<string, unknown> | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}
