import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { JobEventEntity } from './jobs.entity';

/** The `job_events` table: the whole story of each job. */
@Injectable()
export class JobEventsRepository {
  constructor(@InjectRepository(JobEventEntity) private readonly repo: Repository<JobEventEntity>) {}

  async insertServerEvent(jobId: string, step: string, message: string): Promise<JobEventEntity> {
    const [row] = await this.repo.query(
      `INSERT INTO job_events ("jobId", seq, source, step, message) VALUES ($1, NULL, 'server', $2, $3) RETURNING *`,
      [jobId, step, message],
    );
    return row;
  }

  listForJob(jobId: string): Promise<JobEventEntity[]> {
    return this.repo.find({ where: { jobId }, order: { id: 'ASC' } });
  }
}
