import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('enrollment_tokens')
export class EnrollmentTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** SHA-256 (hex) of the secret; the secret itself is shown once and never stored. */
  @Column({ type: 'text', unique: true }) secretHash!: string;
  @Column({ type: 'int' }) uses!: number;
  @Column({ type: 'int' }) usedCount!: number;
  @Column({ type: 'timestamptz' }) expiresAt!: Date;
  @Column({ type: 'boolean' }) autoApprove!: boolean;
  @Column({ type: 'text', nullable: true }) note!: string | null;
  /** Set for a child VM's token: the child arrives linked to this host. */
  @Column({ type: 'uuid', nullable: true }) parentHostId!: string | null;
  @Column({ type: 'text' }) createdBy!: string;
  @Column({ type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @Column({ type: 'timestamptz', nullable: true }) lastUsedAt!: Date | null;
}
