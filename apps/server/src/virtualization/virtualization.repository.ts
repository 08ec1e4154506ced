import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { HostVirtualizationEntity } from './virtualization.entity';

@Injectable()
export class VirtualizationRepository {
  constructor(@InjectRepository(HostVirtualizationEntity) private readonly repo: Repository<HostVirtualizationEntity>) {}

  findByHost(hostId: string): Promise<HostVirtualizationEntity | null> {
    return this.repo.findOneBy({ hostId });
  }

  /** Keeps the newest report: an older one arriving late (a re-sent result) does not overwrite it. */
  async saveIfNewer(hostId: string, report: object, checkedAt: Date): Promise<boolean> {
    const rows = await this.repo.query(
      `INSERT INTO host_virtualization ("hostId", report, "checkedAt") VALUES ($1, $2, $3)
       ON CONFLICT ("hostId") DO UPDATE SET report = EXCLUDED.report, "checkedAt" = EXCLUDED."checkedAt", "updatedAt" = now()
       WHERE host_virtualization."checkedAt" <= EXCLUDED."checkedAt"
       RETURNING "hostId"`,
      [hostId, report, checkedAt],
    );
    return rows.length > 0;
  }
}
