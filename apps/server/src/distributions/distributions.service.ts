import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { ChildType } from '@sysfleet/protocol';
import { fieldErrors } from '../common/validation';
import { CreateDistributionDto, UpdateDistributionDto } from './distributions.dto';
import { DistributionEntity } from './distributions.entity';
import { DistributionErrors } from './distributions.errors';
import { DistributionsRepository, NewDistribution } from './distributions.repository';

/** Checks a whole entry against CreateDistributionDto (the one set of rules, also for merged updates). */
export function validateDistribution(plain: object): CreateDistributionDto {
  const dto = plainToInstance(CreateDistributionDto, plain);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    const details = fieldErrors(errors);
    throw DistributionErrors.INVALID(details.map((d) => `${d.field}: ${d.errors.join(', ')}`).join('; '), details);
  }
  return dto;
}

function toRow(dto: CreateDistributionDto): NewDistribution {
  return {
    childType: dto.childType, name: dto.name, version: dto.version, displayName: dto.displayName, installIdentifier: dto.installIdentifier,
    imageUrl: dto.imageUrl ?? null, sha256: dto.sha256 ?? null, checksumUrl: dto.checksumUrl ?? null, defaultVcpus: dto.defaultVcpus,
    defaultMemoryMb: dto.defaultMemoryMb, defaultDiskGb: dto.defaultDiskGb, installCommands: dto.installCommands, appliance: dto.appliance,
    firmware: dto.firmware ?? 'bios', enabled: dto.enabled ?? true, notes: dto.notes ?? null,
  };
}

/** The catalogue of what child VMs are made from. */
@Injectable()
export class DistributionsService {
  constructor(private readonly repo: DistributionsRepository) {}

  list(filter: { childType?: ChildType; enabled?: boolean }): Promise<DistributionEntity[]> {
    return this.repo.list(filter);
  }

  async get(id: string): Promise<DistributionEntity> {
    const d = await this.repo.findById(id);
    if (!d) throw DistributionErrors.NOT_FOUND(`Distribution ${id} not found`);
    return d;
  }

  async create(dto: CreateDistributionDto): Promise<DistributionEntity> {
    const row = toRow(dto);
    const created = await this.repo.insert(row);
    if (created === 'taken') throw DistributionErrors.EXISTS(`A ${row.childType} distribution ${row.name} ${row.version} exists already`);
    return created;
  }

  async update(id: string, changes: UpdateDistributionDto): Promise<DistributionEntity> {
    const current = await this.get(id);
    const { id: _id, createdAt: _c, updatedAt: _u, ...editable } = current;
    // Fields absent from the request (undefined) keep their stored values.
    const given = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
    const merged = validateDistribution({ ...editable, ...given });
    const updated = await this.repo.update(id, toRow(merged));
    if (updated === 'taken') throw DistributionErrors.EXISTS(`A ${merged.childType} distribution ${merged.name} ${merged.version} exists already`);
    if (!updated) throw DistributionErrors.NOT_FOUND(`Distribution ${id} not found`);
    return updated;
  }

  async setEnabled(id: string, enabled: boolean): Promise<DistributionEntity> {
    const d = await this.repo.setEnabled(id, enabled);
    if (!d) throw DistributionErrors.NOT_FOUND(`Distribution ${id} not found`);
    return d;
  }

  /** Children made from it keep their rows (distributionId becomes null). */
  async remove(id: string): Promise<void> {
    if (!(await this.repo.deleteById(id))) throw DistributionErrors.NOT_FOUND(`Distribution ${id} not found`);
  }
}
