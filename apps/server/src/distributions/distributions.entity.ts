import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ChildType, Firmware } from '@sysfleet/protocol';

@Entity('distributions')
export class DistributionEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) childType!: ChildType;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) version!: string;
  @Column({ type: 'text' }) displayName!: string;
  /** WSL: the `wsl --install -d` name; kvm: the osinfo name given to virt-install. */
  @Column({ type: 'text' }) installIdentifier!: string;
  @Column({ type: 'text', nullable: true }) imageUrl!: string | null;
  @Column({ type: 'text', nullable: true }) sha256!: string | null;
  /** A checksum list (SHA256SUMS, SHA512SUMS, BSD-style SHA256) the agent reads when no sha256 is pinned. */
  @Column({ type: 'text', nullable: true }) checksumUrl!: string | null;
  @Column({ type: 'int' }) defaultVcpus!: number;
  @Column({ type: 'int' }) defaultMemoryMb!: number;
  @Column({ type: 'int' }) defaultDiskGb!: number;
  /** Templates with {{serverUrl}}, {{enrollmentToken}}, {{agentSha256}}, {{hostname}}, {{username}}. */
  @Column({ type: 'text', array: true }) installCommands!: string[];
  @Column({ type: 'boolean' }) appliance!: boolean;
  /** What the image boots with: bios (default) or uefi (kvm only: OVMF, virt-install --boot uefi). */
  @Column({ type: 'text', default: 'bios' }) firmware!: Firmware;
  @Column({ type: 'boolean' }) enabled!: boolean;
  @Column({ type: 'text', nullable: true }) notes!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}
