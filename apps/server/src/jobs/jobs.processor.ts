import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnModuleInit } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import { JOBS_QUEUE, JobsService } from './jobs.service';
import { JobsSettings } from './jobs.settings';

/** Runs delivery attempts. A job that must wait goes back to BullMQ's delayed set until `at`. */
@Processor(JOBS_QUEUE)
export class JobsProcessor extends WorkerHost implements OnModuleInit {
  private readonly logger = new Logger('JobsWorker');

  constructor(private readonly jobs: JobsService, private readonly settings: JobsSettings) {
    super();
  }

  onModuleInit(): void {
    this.worker.concurrency = this.settings.workerConcurrency;
  }

  async process(job: Job<{ jobId: string }>, token?: string): Promise<void> {
    const outcome = await this.jobs.deliver(job.data.jobId);
    if (outcome.done) return;
    await job.moveToDelayed(outcome.at, token);
    throw new DelayedError();
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, error: Error): void {
    this.logger.warn(`delivery of ${job?.data?.jobId ?? '?'} failed (will retry): ${error.message}`);
  }
}
