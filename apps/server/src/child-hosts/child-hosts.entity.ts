import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ChildType } from '@sysfleet/protocol';

export const CHILD_STATES = ['creating', 'running', 'stopped', 'paused', 'error', 'gone', 'deleting'] as const;
export type ChildState = (typeof CHILD_STATES)[number];
/** A create or delete is under way: reconciliation never drops or marks these gone. */
export const BUSY_CHILD_STATES: readonly ChildState[] = ['creating', 'deleting'];

@Entity('child_hosts')
export class ChildHostEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** The parent host the VM runs on. */
  @Column({ type: 'uuid' }) hostId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) childType!: ChildType;
  @Column({ type: 'uuid', nullable: true }) distributionId!: string | null;
  @Column({ type: 'text' }) hostname!: string;
  @Column({ type: 'text' }) state!: ChildState;
  @Column({ type: 'text', nullable: true }) ip!: string | null;
  @Column({ type: 'int' }) vcpus!: number;
  @Column({ type: 'int' }) memoryMb!: number;
  @Column({ type: 'int' }) diskGb!: number;
  @Column({ type: 'text' }) username!: string;
  /** The enrolled child's own hosts.id, linked through enrollmentTokenId. */
  @Column({ type: 'uuid', nullable: true }) childHostId!: string | null;
  /** The child's single-use enrolment token: the host that enrols with it is this child. */
  @Column({ type: 'uuid', nullable: true }) enrollmentTokenId!: string | null;
  @Column({ type: 'uuid', nullable: true }) createJobId!: string | null;
  @Column({ type: 'uuid', nullable: true }) deleteJobId!: string | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  /** Operator username, or 'discovered' for VMs found on the host by reconciliation. */
  @Column({ type: 'text' }) createdBy!: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  /** When the host's agent last reported the VM. */
  @Column({ type: 'timestamptz', nullable: true }) lastSeenAt!: Date | null;
}
