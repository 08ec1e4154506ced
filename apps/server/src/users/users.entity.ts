import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from '../auth/auth.decorators';

@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  /** Always lowercase; the service lowercases before every lookup. */
  @Column({ type: 'text', unique: true }) username!: string;
  @Column({ type: 'text' }) role!: Role;
  /** argon2id encoded hash (parameters and salt included). */
  @Column({ type: 'text' }) passwordHash!: string;
  @Column({ type: 'boolean', default: false }) disabled!: boolean;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @Column({ type: 'timestamptz', nullable: true }) lastLoginAt!: Date | null;
}
