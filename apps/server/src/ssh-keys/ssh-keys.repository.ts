import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, QueryFailedError, Repository } from 'typeorm';
import { SshKeyEntity } from './ssh-keys.entity';

const UNIQUE_VIOLATION = '23505';

export type NewSshKey = Omit<SshKeyEntity, 'id' | 'createdAt'>;

@Injectable()
export class SshKeysRepository {
  constructor(@InjectRepository(SshKeyEntity) private readonly repo: Repository<SshKeyEntity>) {}

  /** Null when the name is taken. */
  async insert(key: NewSshKey): Promise<SshKeyEntity | null> {
    try {
      return await this.repo.save(this.repo.create(key));
    } catch (e) {
      if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw e;
    }
  }

  listByName(): Promise<SshKeyEntity[]> {
    return this.repo.find({ order: { name: 'ASC' } });
  }

  findById(id: string): Promise<SshKeyEntity | null> {
    return this.repo.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<SshKeyEntity[]> {
    return ids.length ? this.repo.findBy({ id: In(ids) }) : Promise.resolve([]);
  }

  async deleteById(id: string): Promise<boolean> {
    return ((await this.repo.delete({ id })).affected ?? 0) > 0;
  }
}
