import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Batcher, CONNECTION_PATH, retryOnDeadlock } from '../common/batcher';
import { HostVirtualizationEntity } from './virtualization.entity';

interface ReportWrite {
  hostId: string;
  report: object;
  checkedAt: Date;
}

@Injectable()
export class VirtualizationRepository {
  /**
   * The reports of one turn (every approved agent sends one on connect) in one upsert. One row per
   * host, the newest report of the batch: a statement cannot change a row twice. A report of a host
   * deleted meanwhile fails only its own call.
   */
  private readonly saves = new Batcher<ReportWrite, boolean>(async (inputs) => {
    const newest = new Map<string, ReportWrite>();
    for (const i of inputs) {
      const kept = newest.get(i.hostId);
      if (!kept || kept.checkedAt <= i.checkedAt) newest.set(i.hostId, i);
    }
    const rows = [...newest.values()].sort((a, b) => (a.hostId < b.hostId ? -1 : 1));
    const stored: { hostId: string }[] = await retryOnDeadlock(() => this.repo.query(
      `INSERT INTO host_virtualization ("hostId", report, "checkedAt")
       SELECT x."hostId", x.report, x."checkedAt" FROM jsonb_to_recordset($1::jsonb) AS x("hostId" uuid, report jsonb, "checkedAt" timestamptz)
       ON CONFLICT ("hostId") DO UPDATE SET report = EXCLUDED.report, "checkedAt" = EXCLUDED."checkedAt", "updatedAt" = now()
       WHERE host_virtualization."checkedAt" <= EXCLUDED."checkedAt"
       RETURNING "hostId"`,
      [JSON.stringify(rows)],
    ));
    const written = new Set(stored.map((r) => r.hostId));
    return new Map(inputs.map((i) => [i, newest.get(i.hostId) === i && written.has(i.hostId)]));
  }, { ...CONNECTION_PATH, isolateFailures: true });

  constructor(@InjectRepository(HostVirtualizationEntity) private readonly repo: Repository<HostVirtualizationEntity>) {}

  findByHost(hostId: string): Promise<HostVirtualizationEntity | null> {
    return this.repo.findOneBy({ hostId });
  }

  /** Keeps the newest report: an older one arriving late (a re-sent result) does not overwrite it. */
  async saveIfNewer(hostId: string, report: object, checkedAt: Date): Promise<boolean> {
    return (await this.saves.call({ hostId, report, checkedAt })) ?? false;
  }
}
