import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import type { ChildType } from '@sysfleet/protocol';
import { DistributionEntity } from './distributions.entity';

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (e: unknown) => e instanceof QueryFailedError && (e.driverError as { code?: string }).code === UNIQUE_VIOLATION;

export type NewDistribution = Omit<DistributionEntity, 'id' | 'createdAt' | 'updatedAt'>;

@Injectable()
export class DistributionsRepository {
  constructor(@InjectRepository(DistributionEntity) private readonly repo: Repository<DistributionEntity>) {}

  list(filter: { childType?: ChildType; enabled?: boolean }): Promise<DistributionEntity[]> {
    return this.repo.find({ where: { ...(filter.childType && { childType: filter.childType }), ...(filter.enabled !== undefined && { enabled: filter.enabled }) }, order: { childType: 'ASC', name: 'ASC', version: 'DESC' } });
  }

  findById(id: string): Promise<DistributionEntity | null> {
    return this.repo.findOneBy({ id });
  }

  /** 'taken' when (childType, name, version) exists. */
  async insert(d: NewDistribution): Promise<DistributionEntity | 'taken'> {
    try {
      return await this.repo.save(this.repo.create(d));
    } catch (e) {
      if (isUniqueViolation(e)) return 'taken';
      throw e;
    }
  }

  /** Replaces every editable column; null when the row is gone, 'taken' when the new (childType, name, version) exists. */
  async update(id: string, d: NewDistribution): Promise<DistributionEntity | null | 'taken'> {
    try {
      const res = await this.repo.update({ id }, d);
      return res.affected ? this.findById(id) : null;
    } catch (e) {
      if (isUniqueViolation(e)) return 'taken';
      throw e;
    }
  }

  async setEnabled(id: string, enabled: boolean): Promise<DistributionEntity | null> {
    const res = await this.repo.update({ id }, { enabled });
    return res.affected ? this.findById(id) : null;
  }

  async deleteById(id: string): Promise<boolean> {
    const res = await this.repo.delete({ id });
    return (res.affected ?? 0) > 0;
  }
}
