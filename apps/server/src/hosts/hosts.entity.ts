import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { HostFacts, HostStatus } from '@sysfleet/protocol';

@Entity('hosts')
export class HostEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** Ed25519 public key, SPKI PEM: the host's identity. */
  @Column({ type: 'text' }) publicKey!: string;
  /** OpenSSH-style fingerprint of publicKey, as `sysfleet-agent fingerprint` prints it. */
  @Column({ type: 'text', unique: true }) fingerprint!: string;
  @Column({ type: 'text' }) status!: HostStatus;
  @Column({ type: 'text' }) hostname!: string;
  @Column({ type: 'text' }) fqdn!: string;
  @Column({ type: 'text' }) platform!: string;
  @Column({ type: 'text' }) osName!: string;
  @Column({ type: 'text' }) osVersion!: string;
  @Column({ type: 'text' }) arch!: string;
  @Column({ type: 'text' }) agentVersion!: string;
  @Column({ type: 'jsonb' }) facts!: HostFacts;
  @Column({ type: 'text', array: true }) roles!: string[];
  @Column({ type: 'uuid', nullable: true }) parentHostId!: string | null;
  @Column({ type: 'uuid', nullable: true }) enrollmentTokenId!: string | null;
  @Column({ type: 'boolean' }) online!: boolean;
  @Column({ type: 'timestamptz', nullable: true }) lastSeenAt!: Date | null;
  @Column({ type: 'timestamptz' }) firstSeenAt!: Date;
  @Column({ type: 'timestamptz', nullable: true }) approvedAt!: Date | null;
  /** Username of the operator who approved, or `token:<id>` for auto-approval. */
  @Column({ type: 'text', nullable: true }) approvedBy!: string | null;
  @Column({ type: 'text', nullable: true }) statusReason!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}
