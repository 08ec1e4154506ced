import { AgentEvent, CommandAck, JobCancelPayload, JobCommandPayload, JobProgressPayload, JobResultPayload, JobResultStatus, parsePayload } from '@sysfleet/protocol';
import type { Logger } from '../log';
import { JobCancelledError, JobContext, StepError } from './handler';
import { Journal, JournalEntry } from './journal';
import { Outbox } from './outbox';

import { HandlerRegistry } from './registry';

export interface JobRunnerOptions {
  journal: Journal;
  outbox: Outbox;
  registry: HandlerRegistry;
  log: Logger;
  maxConcurrent: number;
  /** Test knob (SYSFLEET_AGENT_STEP_DELAY_MS): pause after each progress step. */
  stepDelayMs?: number;
  /** Called whenever something was added to the outbox, to get it sent. */
  onOutbox: () => void;
}

interface RunningJob {
  entry: JournalEntry;
  controller: AbortController;
}

const MAX_STEP = 128;
const MAX_MESSAGE = 4000;
const MAX_ERROR = 8000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}

/**
 * Accepts, queues, runs and cancels jobs. A job is journaled before it is acked, runs at most once
 * (again only if the agent died while it ran), and ends with exactly one result in the outbox.
 */
export class JobRunner {
  private readonly queue: JournalEntry[] = [];
  private readonly running = new Map<string, RunningJob>();
  private readonly resumed = new Set<string>();
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: JobRunnerOptions) {}

  /** Handles job.command: the returned ack is sent only after the job is in the journal. */
  handleCommand(raw: unknown): CommandAck {
    const parsed = parsePayload(JobCommandPayload, raw);
    if (!parsed.ok) {
      this.opts.log.warn('refused a malformed job.command', { error: parsed.error });
      return { state: 'refused', reason: clip(parsed.error, 1000) };
    }
    const cmd = parsed.value;
    const known = this.opts.journal.get(cmd.jobId);
    if (known) {
      this.opts.log.info('job.command redelivered; not running it again', { jobId: cmd.jobId, state: known.state });
      if (known.state === 'finished') this.requeueResult(known);
      return { state: 'duplicate' };
    }
    const entry = this.opts.journal.accept(cmd);
    this.opts.log.info('job accepted', { jobId: cmd.jobId, type: cmd.type });
    this.queue.push(entry);
    queueMicrotask(() => this.pump());
    return { state: 'accepted' };
  }

  /** Handles job.cancel: stops a queued job at once, a running one at its next safe point. */
  handleCancel(raw: unknown): CommandAck {
    const parsed = parsePayload(JobCancelPayload, raw);
    if (!parsed.ok) return { state: 'refused', reason: clip(parsed.error, 1000) };
    const { jobId } = parsed.value;
    const running = this.running.get(jobId);
    if (running) {
      this.opts.log.info('cancelling job', { jobId });
      running.controller.abort();
      return { state: 'accepted' };
    }
    const queuedAt = this.queue.findIndex((e) => e.jobId === jobId);
    if (queuedAt >= 0) {
      const [entry] = this.queue.splice(queuedAt, 1);
      this.opts.log.info('cancelled job before it started', { jobId });
      this.complete(entry, 'cancelled', { error: new JobCancelledError().message });
      this.notifyIfIdle();
      return { state: 'accepted' };
    }
    const known = this.opts.journal.get(jobId);
    return { state: 'refused', reason: known ? `job ${jobId} has already finished` : `job ${jobId} is not known to this agent` };
  }

  /**
   * At start: queues the results the agent stopped before queuing, and runs again the jobs it had
   * accepted or started but not finished (those that had started see ctx.resumed = true).
   */
  resumeUnfinished(): void {
    for (const entry of this.opts.journal.finishedNotQueued()) this.requeueResult(entry);
    for (const entry of this.opts.journal.unfinished()) {
      if (entry.state === 'running') this.resumed.add(entry.jobId);
      this.opts.log.info(entry.state === 'running' ? 'resuming a job cut short by a restart' : 'starting a job accepted before a restart', { jobId: entry.jobId, type: entry.type });
      this.queue.push(entry);
    }
    this.pump();
  }

  /** Ids of running and queued jobs. */
  activeJobIds(): { running: string[]; queued: string[] } {
    return { running: [...this.running.keys()], queued: this.queue.map((e) => e.jobId) };
  }

  /** Resolves when no job is running or queued. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running.size < this.opts.maxConcurrent && this.queue.length > 0) {
      const entry = this.queue.shift()!;
      const job: RunningJob = { entry, controller: new AbortController() };
      this.running.set(entry.jobId, job);
      void this.execute(job).finally(() => {
        this.running.delete(entry.jobId);
        this.pump();
        this.notifyIfIdle();
      });
    }
  }

  private notifyIfIdle(): void {
    if (this.running.size > 0 || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }

  private async execute(job: RunningJob): Promise<void> {
    const { jobId, type } = job.entry;
    const resumed = this.resumed.delete(jobId);
    const handler = this.opts.registry.get(type);
    if (!handler) {
      this.complete(job.entry, 'failed', { error: `this agent does not support the command ${type}`, failedStep: 'validate' });
      return;
    }
    if (Date.parse(job.entry.deadline) < Date.now()) {
      this.complete(job.entry, 'expired', { error: `expired: the job's deadline (${job.entry.deadline}) passed before it could ${resumed ? 'resume' : 'start'} on the host; nothing was run` });
      return;
    }
    const params = parsePayload(handler.params, job.entry.params);
    if (!params.ok) {
      this.complete(job.entry, 'failed', { error: `invalid parameters for ${type}: ${params.error}`, failedStep: 'validate' });
      return;
    }
    this.opts.journal.markRunning(jobId);
    let lastStep: string | undefined = job.entry.lastStep;
    const signal = job.controller.signal;
    const ctx: JobContext = {
      jobId,
      resumed,
      signal,
      progress: async (step, message, percent) => {
        lastStep = clip(step, MAX_STEP);
        this.addProgress(jobId, lastStep, message, percent);
        if (this.opts.stepDelayMs) await abortableSleep(this.opts.stepDelayMs, signal);
      },
      throwIfCancelled: () => {
        if (signal.aborted) throw new JobCancelledError();
      },
    };
    this.opts.log.info(resumed ? 'resuming job' : 'running job', { jobId, type });
    try {
      const result = await handler.run(params.value, ctx);
      this.complete(job.entry, 'succeeded', { result });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      const extra = e instanceof StepError && e.result ? { result: e.result } : {};
      if (signal.aborted || e instanceof JobCancelledError) {
        this.complete(job.entry, 'cancelled', { error: new JobCancelledError().message, failedStep: lastStep, ...extra });
      } else {
        this.complete(job.entry, 'failed', { error, failedStep: e instanceof StepError ? e.step : lastStep, ...extra });
      }
    }
  }

  private addProgress(jobId: string, step: string, message: string, percent?: number): void {
    const payload: JobProgressPayload = {
      jobId,
      seq: this.opts.journal.nextSeq(jobId, step),
      step,
      message: clip(message, MAX_MESSAGE),
      at: new Date().toISOString(),
    };
    if (percent !== undefined && Number.isFinite(percent)) payload.percent = Math.min(100, Math.max(0, Math.round(percent)));
    this.opts.outbox.add(AgentEvent.JobProgress, payload);
    this.opts.onOutbox();
  }

  private complete(entry: JournalEntry, status: JobResultStatus, detail: { result?: Record<string, unknown>; error?: string; failedStep?: string }): void {
    let payload: JobResultPayload = { jobId: entry.jobId, status, finishedAt: new Date().toISOString() };
    if (detail.result !== undefined) payload.result = detail.result;
    if (detail.error !== undefined) payload.error = clip(detail.error, MAX_ERROR);
    if (detail.failedStep !== undefined) payload.failedStep = clip(detail.failedStep, MAX_STEP);
    const check = parsePayload(JobResultPayload, payload);
    if (!check.ok) {
      // e.g. a result too large for one message: report that rather than queue something the server must refuse.
      payload = { jobId: entry.jobId, status: 'failed', error: clip(`the command's result cannot be sent: ${check.error}`, MAX_ERROR), finishedAt: payload.finishedAt };
    }
    this.opts.log.info(`job ${payload.status}`, { jobId: entry.jobId, type: entry.type, error: payload.error, failedStep: payload.failedStep });
    this.opts.journal.finish(entry.jobId, payload);
    this.requeueResult(this.opts.journal.get(entry.jobId)!);
  }

  /** Puts a finished job's result in the outbox unless it is already waiting there. */
  private requeueResult(entry: JournalEntry): void {
    if (!entry.result) return;
    if (!this.opts.outbox.hasPendingResult(entry.jobId)) this.opts.outbox.add(AgentEvent.JobResult, entry.result);
    if (!entry.resultQueued) this.opts.journal.markResultQueued(entry.jobId);
    this.opts.onOutbox();
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
