import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('ssh_keys')
export class SshKeyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) name!: string;
  /** OpenSSH one-line public key. */
  @Column({ type: 'text' }) publicKey!: string;
  /** `SHA256:<base64>` as `ssh-keygen -l` prints it. */
  @Column({ type: 'text' }) fingerprint!: string;
  /** Private half of a generated pair, sealed with SecretBox; null for imported keys. Never returned by the API. */
  @Column({ type: 'text', nullable: true }) privateKeyEncrypted!: string | null;
  @Column({ type: 'text' }) createdBy!: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}
