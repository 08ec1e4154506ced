import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('host_virtualization')
export class HostVirtualizationEntity {
  @PrimaryColumn('uuid') hostId!: string;
  /** The agent's VirtualizationReport as validated on arrival. */
  @Column('jsonb') report!: Record<string, unknown>;
  @Column('timestamptz') checkedAt!: Date;
  @Column('timestamptz') updatedAt!: Date;
}
