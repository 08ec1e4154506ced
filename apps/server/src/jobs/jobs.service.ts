import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Command, InventoryRefreshResult, JobCommandPayload, JobProgressPayload, JobResultPayload, parsePayload, ServerAck, UiEvent } from '@sysfleet/protocol';
import { JobsOptions, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../auth/auth.decorators';
import { AgentChannel } from '../agent-gateway/agent-channel.service';
import { UiEvents } from '../ui-gateway/ui-events.service';
import { SecretBox } from '../common/secret-box';
import { HostsService } from '../hosts/hosts.service';
import { JobsSettings } from './jobs.settings';
import { JobErrors } from './jobs.errors';
import { JobEventsRepository } from './job-events.repository';
import { JobEntity, FINAL_JOB_STATUSES } from './jobs.entity';
import { JobOutcome, JobQuery, JobsRepository } from './jobs.repository';
import { JobTypes } from './job-types';
import { BulkJobsResultDto, BulkJobsResultItem, toJobDto } from './jobs.dto';

export const JOBS_QUEUE = 'jobs';

/** A delivery job's BullMQ options: its id is the job's, so adding it again while it exists is a no-op. */
const deliveryOptions = (jobId: string, delayMs = 0): JobsOptions => ({
  jobId, delay: delayMs, removeOnComplete: true, removeOnFail: 1000, attempts: 1000, backoff: { type: 'exponential', delay: 1000 },
});

export interface CreateJobInput {
  hostId: string;
  type: string;
  params: Record<string, unknown>;
  /** Secret parameters (e.g. an enrolment token): stored sealed, sent to the agent, never returned by the API. */
  secretParams?: Record<string, unknown>;
  actor: Actor | { userId: null; username: string };
  idempotencyKey?: string;
}

/** What the delivery step decided: done with this BullMQ job, or look again at `at`. */
export type DeliveryOutcome = { done: true } | { done: false; at: number };

/**
 * The job pipeline. Postgres holds each job's truth; a BullMQ job with the same id drives
 * delivery (retries, wake-ups at deadlines) on whichever replica picks it up. Every state
 * change is a conditional UPDATE, so replicas and re-sent agent messages cannot regress a job.
 */
@Injectable()
export class JobsService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Jobs');
  private reconcileTimer?: NodeJS.Timeout;
  /** Hosts with a job this replica held back (serial key or host concurrency): a finish here sends it at once. */
  private readonly hostsWithWaitingJobs = new Set<string>();
  /** The running deliverOpenJobs pass of each host, and hosts that asked for one more pass meanwhile. */
  private readonly hostPasses = new Map<string, Promise<void>>();
  private readonly hostsToPassAgain = new Set<string>();

  constructor(
    private readonly jobs: JobsRepository,
    private readonly events: JobEventsRepository,
    private readonly types: JobTypes,
    private readonly channel: AgentChannel,
    private readonly ui: UiEvents,
    private readonly settings: JobsSettings,
    private readonly secrets: SecretBox,
    private readonly hosts: HostsService,
    @InjectQueue(JOBS_QUEUE) private readonly queue: Queue,
  ) {}

  onModuleInit(): void {
    this.types.register({
      type: Command.InventoryRefresh,
      deadlineSeconds: 600,
      maxRunSeconds: 300,
      result: InventoryRefreshResult,
      onSucceeded: async (job, r: InventoryRefreshResult) => void (await this.hosts.updateFacts(job.hostId, r.facts)),
    });
  }

  onApplicationBootstrap(): void {
    this.channel.setJobSink({ progress: (h, p) => this.onProgress(h, p), result: (h, r) => this.onResult(h, r) });
    this.channel.onAgentReady((hostId) => void this.deliverOpenJobs(hostId).catch((e) => this.logger.error(`delivering to ${hostId}: ${(e as Error).message}`)));
    // Postgres is the record: re-enqueue open jobs Redis may have lost (restart without persistence).
    const reconcile = () => void this.requeueOpenJobs().catch((e) => this.logger.warn(`reconcile: ${(e as Error).message}`));
    reconcile();
    this.reconcileTimer = setInterval(reconcile, this.settings.reconcileIntervalMs);
    this.reconcileTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.reconcileTimer);
  }

  async create(input: CreateJobInput): Promise<{ job: JobEntity; created: boolean }> {
    return (await this.createMany([input]))[0];
  }

  /**
   * Creates jobs in one statement and starts their delivery; results are in the order of `inputs`.
   * An agent connected to this replica gets its command at once and the BullMQ job only watches over
   * it (a delayed wake-up); any other job goes to the worker, which finds the agent on any replica.
   */
  async createMany(inputs: CreateJobInput[]): Promise<{ job: JobEntity; created: boolean }[]> {
    if (inputs.length === 0) return [];
    const rows = inputs.map((input) => {
      const def = this.types.get(input.type);
      if (!def) throw JobErrors.UNKNOWN_TYPE(`Unknown job type "${input.type}"`);
      return {
        id: randomUUID(),
        hostId: input.hostId,
        type: input.type,
        params: input.params,
        secretParams: input.secretParams ? this.secrets.seal(JSON.stringify(input.secretParams)) : null,
        serialKey: def.serialKey?.(input.hostId, input.params) ?? null,
        createdById: input.actor.userId,
        createdBy: input.actor.username,
        idempotencyKey: input.idempotencyKey ?? null,
        deadlineAt: new Date(Date.now() + this.types.deadlineSeconds(def) * 1000),
      };
    });
    const createdBy = new Set(rows.map((r) => r.createdBy));
    const results = await this.jobs.insertQueued(rows, { step: 'queued', message: `queued by ${[...createdBy].join(', ')}` });
    const created = results.filter((r) => r.created).map((r) => r.job);
    if (created.length === 0) return results;
    const here = new Set(created.filter((job) => this.channel.isReadyHere(job.hostId)).map((job) => job.id));
    // The command does not wait for its watchdog to be stored in Redis: the job is in Postgres already,
    // and the periodic reconcile re-queues it should the add fail.
    const watched = this.queue.addBulk(created.map((job) => ({ name: 'deliver', data: { jobId: job.id }, opts: deliveryOptions(job.id, here.has(job.id) ? this.settings.redeliverMs : 0) })));
    for (const job of created) {
      this.publish(job);
      if (here.has(job.id)) void this.deliverDirect(job, watched);
    }
    await watched;
    return results;
  }

  /** Re-collects a host's facts; the agent's result replaces the stored facts. */
  async refreshInventory(hostId: string, actor: Actor, idempotencyKey?: string) {
    const host = await this.hosts.get(hostId);
    if (host.status !== 'approved') throw JobErrors.HOST_NOT_APPROVED(`Host ${host.hostname} is ${host.status}, not approved`);
    return this.create({ hostId, type: Command.InventoryRefresh, params: {}, actor, idempotencyKey });
  }

  /**
   * Re-collects the facts of many hosts at once (fan-out): one job per approved host, created in one
   * statement. Hosts that are missing or not approved are reported per id and get no job.
   */
  async refreshInventoryMany(hostIds: string[], actor: Actor, idempotencyKey?: string): Promise<BulkJobsResultDto> {
    const unique = [...new Set(hostIds)];
    const statuses = await this.hosts.statusesOf(unique);
    const approved = unique.filter((id) => statuses.get(id) === 'approved');
    const made = await this.createMany(approved.map((hostId) => ({
      hostId, type: Command.InventoryRefresh, params: {}, actor, ...(idempotencyKey && { idempotencyKey: `${idempotencyKey}/${hostId}` }),
    })));
    const byHost = new Map(made.map((r) => [r.job.hostId, r]));
    return {
      created: made.filter((r) => r.created).length,
      results: unique.map((hostId): BulkJobsResultItem => {
        const r = byHost.get(hostId);
        if (r) return { hostId, ok: true, jobId: r.job.id, created: r.created };
        const status = statuses.get(hostId);
        return status
          ? { hostId, ok: false, code: JobErrors.HOST_NOT_APPROVED().code, message: `Host ${hostId} is ${status}, not approved` }
          : { hostId, ok: false, code: JobErrors.HOST_NOT_FOUND().code, message: `Host ${hostId} not found` };
      }),
    };
  }

  search(q: JobQuery) {
    return this.jobs.search(q);
  }

  async getWithEvents(id: string) {
    const job = await this.jobs.findById(id);
    if (!job) throw JobErrors.NOT_FOUND();
    return { job, events: await this.events.listForJob(id) };
  }

  async cancel(id: string, actor: Actor): Promise<JobEntity> {
    const job = await this.jobs.findById(id);
    if (!job) throw JobErrors.NOT_FOUND();
    if (FINAL_JOB_STATUSES.includes(job.status)) throw JobErrors.ALREADY_FINISHED(`The job has already ${job.status}`);
    if (job.status === 'queued') {
      const done = await this.finish(job, { status: 'cancelled', error: `cancelled by ${actor.username} before it reached the host` });
      if (done) return done;
    }
    const marked = (await this.jobs.requestCancel(id)) ?? job;
    await this.events.insertServerEvent(id, 'cancel', `cancel requested by ${actor.username}`);
    const ack = await this.channel.cancelJob(job.hostId, id, this.settings.ackTimeoutMs);
    if (!ack) this.logger.log(`cancel of ${id} will be re-sent when host ${job.hostId} reconnects`);
    this.publish(marked);
    return marked;
  }

  /** One delivery attempt for a job; called by the BullMQ worker. */
  async deliver(jobId: string): Promise<DeliveryOutcome> {
    const job = await this.jobs.findById(jobId);
    if (!job || FINAL_JOB_STATUSES.includes(job.status)) return { done: true };
    const now = Date.now();
    if (job.status === 'queued') {
      const sent = await this.attemptQueued(job);
      if (sent === 'finished' || sent === 'refused') return { done: true };
      if (sent === 'blocked') return { done: false, at: now + this.settings.blockedRetryMs };
      if (sent === 'offline') return { done: false, at: Math.min(job.deadlineAt.getTime(), now + this.settings.redeliverMs) };
      return { done: false, at: now + this.settings.redeliverMs };
    }
    // Delivered: the agent owns it now. Make sure it has not gone silent for good.
    const def = this.types.get(job.type);
    const since = (job.startedAt ?? job.dispatchedAt ?? job.createdAt).getTime();
    const maxRunMs = (def?.maxRunSeconds ?? 3600) * 1000;
    if (now - since > maxRunMs) {
      await this.channel.cancelJob(job.hostId, job.id, this.settings.ackTimeoutMs);
      return this.finishDone(job, { status: 'failed', error: `no result from the host within ${Math.round(maxRunMs / 1000)} s` });
    }
    // Re-sending is safe: the agent answers a known job id from its journal and re-sends its result.
    if (await this.channel.isConnected(job.hostId)) await this.send(job);
    return { done: false, at: Math.min(since + maxRunMs + 1000, now + this.settings.redeliverMs) };
  }

  /**
   * Delivers a host's open jobs in creation order when its agent (re)connects, or when a job it was
   * waiting for went out or finished. One pass per host at a time on this replica: a call during a
   * pass makes one more pass after it, instead of a second one interleaved with it.
   */
  deliverOpenJobs(hostId: string): Promise<void> {
    const running = this.hostPasses.get(hostId);
    if (running) {
      this.hostsToPassAgain.add(hostId);
      return running;
    }
    const pass = (async () => {
      try {
        do {
          this.hostsToPassAgain.delete(hostId);
          await this.deliverOpenJobsOnce(hostId);
        } while (this.hostsToPassAgain.has(hostId));
      } finally {
        this.hostPasses.delete(hostId);
      }
    })();
    this.hostPasses.set(hostId, pass);
    return pass;
  }

  private async deliverOpenJobsOnce(hostId: string): Promise<void> {
    for (const job of await this.jobs.listOpenForHost(hostId)) {
      if (job.cancelRequestedAt && job.status !== 'queued') await this.channel.cancelJob(hostId, job.id, this.settings.ackTimeoutMs);
      else if (job.status === 'queued' && (await this.attemptQueued(job)) === 'offline') return;
    }
  }

  async onProgress(hostId: string, p: JobProgressPayload): Promise<ServerAck> {
    const updated = await this.jobs.recordProgress({ jobId: p.jobId, hostId, seq: p.seq, step: p.step, message: p.message, percent: p.percent ?? null, at: new Date(p.at) });
    if (!updated) {
      // Nothing changed: a re-sent step or a finished job is fine; another host's or an unknown job is not.
      const job = await this.jobs.findById(p.jobId);
      return job?.hostId === hostId ? { ok: true } : { ok: false, error: `unknown job ${p.jobId}` };
    }
    this.ui.publish(UiEvent.JobEvent, { jobId: p.jobId, seq: p.seq, step: p.step, message: p.message, percent: p.percent ?? null, at: p.at });
    this.publish(updated);
    return { ok: true };
  }

  async onResult(hostId: string, r: JobResultPayload): Promise<ServerAck> {
    const job = await this.jobs.findById(r.jobId);
    if (!job || job.hostId !== hostId) return { ok: false, error: `unknown job ${r.jobId}` };
    if (FINAL_JOB_STATUSES.includes(job.status)) return { ok: true }; // a re-sent result: stored already
    if (r.status !== 'succeeded') {
      await this.finish(job, { status: r.status, error: r.error ?? { cancelled: 'cancelled', expired: 'expired on the host before it started', failed: 'failed without a message' }[r.status], failedStep: r.failedStep ?? null, result: r.result ?? null });
      return { ok: true };
    }
    const def = this.types.get(job.type);
    let result: object = r.result ?? {};
    if (def?.result) {
      const parsed = parsePayload(def.result, r.result ?? {});
      if (!parsed.ok) {
        const error = `the agent sent an invalid result: ${parsed.error}`;
        await this.finish(job, { status: 'failed', error, failedStep: 'result' });
        return { ok: false, error };
      }
      result = parsed.value;
    }
    try {
      await def?.onSucceeded?.(job, result);
    } catch (e) {
      await this.finish(job, { status: 'failed', error: `storing the result failed: ${(e as Error).message}`, failedStep: 'result' });
      return { ok: true };
    }
    await this.finish(job, { status: 'succeeded', result: r.result ?? {} });
    return { ok: true };
  }

  /** A queued job: cancelled or expired when it should be, else sent unless it must wait. */
  private async attemptQueued(job: JobEntity): Promise<'finished' | 'sent' | 'blocked' | 'offline' | 'refused'> {
    if (job.cancelRequestedAt) {
      await this.finish(job, { status: 'cancelled', error: 'cancelled before it reached the host' });
      return 'finished';
    }
    if (Date.now() >= job.deadlineAt.getTime()) {
      await this.finish(job, {
        status: 'expired',
        error: `expired: the host did not take the job before its deadline (${job.deadlineAt.toISOString()}); it was offline or busy`,
      });
      return 'finished';
    }
    return this.send(job);
  }

  /**
   * Sends the command unless the job must wait; the agent's journal makes a repeat harmless. A queued
   * job waits for an older queued job of its host that could go now (creation order, whichever replica
   * or path sends them), for an older open job with its serial key, and for a free slot on its host.
   */
  private async send(job: JobEntity): Promise<'sent' | 'blocked' | 'offline' | 'refused'> {
    if (job.status === 'queued') {
      const gate = await this.jobs.sendGate(job);
      if (gate.earlierQueued || gate.earlierInSerial || gate.activeOnHost >= this.settings.hostConcurrency) {
        this.hostsWithWaitingJobs.add(job.hostId);
        return 'blocked';
      }
    }
    const params = job.secretParams ? { ...job.params, ...(JSON.parse(this.secrets.open(job.secretParams)) as Record<string, unknown>) } : job.params;
    const payload: JobCommandPayload = { jobId: job.id, type: job.type as JobCommandPayload['type'], params, deadline: job.deadlineAt.toISOString() };
    const ack = await this.channel.sendCommand(job.hostId, payload, this.settings.ackTimeoutMs);
    if (!ack) return 'offline';
    if (ack.state === 'refused') {
      await this.finish(job, { status: 'failed', error: `the agent refused the command: ${ack.reason ?? 'no reason given'}`, failedStep: 'dispatch' });
      return 'refused';
    }
    if (job.status === 'queued') {
      const dispatched = await this.jobs.markDispatched(job.id, { step: 'dispatched', message: ack.state === 'duplicate' ? 'the agent already had it' : 'delivered to the agent' });
      if (dispatched) this.publish(dispatched);
      // A younger job held back here may have been waiting for this one to go out first.
      if (dispatched && this.hostsWithWaitingJobs.delete(job.hostId)) void this.deliverOpenJobs(job.hostId).catch(() => undefined);
    } else {
      await this.jobs.countRedispatch(job.id);
    }
    return 'sent';
  }

  private async finish(job: JobEntity, outcome: JobOutcome): Promise<JobEntity | null> {
    const done = await this.jobs.finish(job.id, outcome);
    if (!done) return null;
    // Its delivery job is done too; one being processed right now finds the job final and completes.
    void this.queue.remove(job.id).catch(() => undefined);
    await this.types.get(job.type)?.onFinished?.(done).catch((e: unknown) => this.logger.error(`settling ${job.type} ${job.id}: ${(e as Error).message}`));
    this.publish(done);
    // A job of the same host or child held back here may have been waiting for this one (held back on
    // another replica, the worker there retries it within blockedRetryMs).
    if (job.status !== 'queued' && this.hostsWithWaitingJobs.delete(job.hostId)) void this.deliverOpenJobs(job.hostId).catch(() => undefined);
    return done;
  }

  private async finishDone(job: JobEntity, outcome: JobOutcome): Promise<DeliveryOutcome> {
    await this.finish(job, outcome);
    return { done: true };
  }

  /** First delivery attempt without the queue's pick-up delay; what it cannot send now goes back to the worker. */
  private async deliverDirect(job: JobEntity, watched: Promise<unknown>): Promise<void> {
    let retryInMs: number;
    try {
      const sent = await this.send(job);
      if (sent === 'sent' || sent === 'refused') return;
      retryInMs = sent === 'blocked' ? this.settings.blockedRetryMs : 0;
    } catch (e) {
      this.logger.warn(`direct delivery of ${job.id} failed, the worker retries: ${(e as Error).message}`);
      retryInMs = 0;
    }
    try {
      await watched;
      await (await this.queue.getJob(job.id))?.changeDelay(retryInMs);
    } catch {
      // Not delayed any more (the worker has it already), or never added (the reconcile re-queues it).
    }
  }

  private async requeueOpenJobs(): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const batch = await this.jobs.listOpen(after, 500);
      if (!batch.length) return;
      await this.queue.addBulk(batch.map((j) => ({ name: 'deliver', data: { jobId: j.id }, opts: deliveryOptions(j.id) })));
      after = batch[batch.length - 1].id;
    }
  }

  private publish(job: JobEntity): void {
    this.ui.publish(UiEvent.JobUpdated, toJobDto(job));
  }
}

