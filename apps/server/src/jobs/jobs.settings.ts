import { Injectable } from '@nestjs/common';
import { EnvironmentVariables } from '../config/config';

/** The pipeline's tunables, read once from the validated configuration. */
@Injectable()
export class JobsSettings {
  readonly hostConcurrency: number;
  readonly ackTimeoutMs: number;
  readonly redeliverMs: number;
  readonly blockedRetryMs = 1000;
  readonly reconcileIntervalMs: number;
  /** Delivery attempts this replica runs at once; 0 means it runs no delivery worker. */
  readonly workerConcurrency: number;

  constructor(c: EnvironmentVariables) {
    this.hostConcurrency = c.JOB_HOST_CONCURRENCY;
    this.ackTimeoutMs = c.JOB_ACK_TIMEOUT_MS;
    this.redeliverMs = c.JOB_REDELIVER_SECONDS * 1000;
    this.reconcileIntervalMs = c.JOB_RECONCILE_SECONDS * 1000;
    this.workerConcurrency = c.JOB_WORKER_CONCURRENCY;
  }

  /** Whether this replica takes delivery attempts from the queue. */
  get runsWorker(): boolean {
    return this.workerConcurrency > 0;
  }
}
