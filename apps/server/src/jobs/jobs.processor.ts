import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import { JOBS_QUEUE, JobsService } from './jobs.service';
import { JobsSettings } from './jobs.settings';

/**
 * Runs delivery attempts. A job that must wait goes back to BullMQ's delayed set until `at`.
 * The worker starts only when this replica runs delivery workers (`JOB_WORKER_CONCURRENCY` > 0).
 */
@Processor(JOBS_QUEUE, { autorun: false })
export class JobsProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger('JobsWorker');

  constructor(private readonly jobs: JobsService, private readonly settings: JobsSettings) {
    super();
  }

  onApplicationBootstrap(): void {
    if (!this.settings.runsWorker) {
      this.logger.log('JOB_WORKER_CONCURRENCY=0: this replica runs no delivery worker; another replica delivers queued jobs');
      return;
    }
    this.worker.concurrency = this.settings.workerConcurrency;
    this.worker.run().catch((e: unknown) => this.logger.error(`delivery worker stopped: ${(e as Error).message}`));
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
