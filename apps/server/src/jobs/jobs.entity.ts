import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export const JOB_STATUSES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const OPEN_JOB_STATUSES: readonly JobStatus[] = ['queued', 'dispatched', 'running'];
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

@Entity('jobs')
export class JobEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') hostId!: string;
  @Column('text') type!: string;
  @Column('jsonb') params!: Record<string, unknown>;
  /** Sealed (SecretBox) JSON of secret parameters, merged into `params` only when sent to the agent. */
  @Column({ type: 'text', nullable: true }) secretParams!: string | null;
  @Column('text') status!: JobStatus;
  @Column({ type: 'text', nullable: true }) step!: string | null;
  @Column({ type: 'int', nullable: true }) percent!: number | null;
  @Column({ type: 'jsonb', nullable: true }) result!: Record<string, unknown> | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'text', nullable: true }) failedStep!: string | null;
  /** Jobs with the same key (one child VM) run one at a time, in creation order. */
  @Column({ type: 'text', nullable: true }) serialKey!: string | null;
  @Column({ type: 'uuid', nullable: true }) createdById!: string | null;
  @Column('text') createdBy!: string;
  @Column({ type: 'text', nullable: true }) idempotencyKey!: string | null;
  @Column('timestamptz') deadlineAt!: Date;
  @Column({ type: 'timestamptz', nullable: true }) cancelRequestedAt!: Date | null;
  @Column('int') dispatchCount!: number;
  @Column('timestamptz') createdAt!: Date;
  @Column('timestamptz') updatedAt!: Date;
  @Column({ type: 'timestamptz', nullable: true }) dispatchedAt!: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ type: 'timestamptz', nullable: true }) finishedAt!: Date | null;
}

@Entity('job_events')
export class JobEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('uuid') jobId!: string;
  /** The agent's per-job sequence number; null for the server's own events (queued, dispatched, expired). */
  @Column({ type: 'int', nullable: true }) seq!: number | null;
  @Column('text') source!: 'agent' | 'server';
  @Column('text') step!: string;
  @Column('text') message!: string;
  @Column({ type: 'int', nullable: true }) percent!: number | null;
  @Column('timestamptz') at!: Date;
}
