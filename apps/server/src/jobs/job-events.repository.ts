import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { JobEventEntity } from './jobs.entity';

/** The `job_events` table: the whole story of each job. */
@Injectable()
export class JobEventsRepository {
  constructor(@InjectRepository(JobEventEntity) private readonly repo: Repository<JobEventEntity>) {}

  /** Stores an agent step once; false when this (job, seq) was already stored (a re-send). */
  async insertAgentEvent(e: { jobId: string; seq: number; step: string; message: string; percent: number | null; at: Date }): Promise<boolean> {
    const rows = await this.repo.query(
      `INSERT INTO job_events ("jobId", seq, source, step, message, percent, at) VALUES ($1, $2, 'agent', $3, $4, $5, $6)
       ON CONFLICT ("jobId", seq) WHERE seq IS NOT NULL DO NOTHING RETURNING id`,
      [e.jobId, e.seq, e.step, e.message, e.percent, e.at],
    );
    return rows.length > 0;
  }

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
