import { Command, InventoryRefreshParams } from '@sysfleet/protocol';
import { IsString } from 'class-validator';
import { SecretBox } from '../common/secret-box';
import type { EnvironmentVariables } from '../config/config';
import type { AgentChannel } from '../agent-gateway/agent-channel.service';
import type { UiEvents } from '../ui-gateway/ui-events.service';
import type { HostsService } from '../hosts/hosts.service';
import type { JobEventsRepository } from './job-events.repository';
import { JobTypes } from './job-types';
import type { JobEntity } from './jobs.entity';
import type { JobsRepository, SendGate } from './jobs.repository';
import { JobsService } from './jobs.service';
import type { JobsSettings } from './jobs.settings';

class EchoResult {
  @IsString() echoed!: string;
}

const HOST = '11111111-1111-4111-8111-111111111111';
const actor = { userId: '22222222-2222-4222-8222-222222222222', username: 'alice', role: 'operator' as const };

function makeJob(over: Partial<JobEntity> = {}): JobEntity {
  const now = new Date();
  return {
    id: '33333333-3333-4333-8333-333333333333', hostId: HOST, type: Command.InventoryRefresh, params: {}, secretParams: null, status: 'queued',
    step: null, percent: null, result: null, error: null, failedStep: null, serialKey: null, createdById: actor.userId,
    createdBy: 'alice', idempotencyKey: null, deadlineAt: new Date(now.getTime() + 60_000), cancelRequestedAt: null,
    dispatchCount: 0, createdAt: now, updatedAt: now, dispatchedAt: null, startedAt: null, finishedAt: null, ...over,
  };
}

/** The direct send runs after create() returns; wait for its effect. */
async function waitForCall(fn: jest.Mock, times = 1): Promise<void> {
  for (let i = 0; i < 100 && fn.mock.calls.length < times; i++) await new Promise((r) => setImmediate(r));
  expect(fn).toHaveBeenCalledTimes(times);
}

function setup(job: JobEntity = makeJob()) {
  const jobs = {
    insertQueued: jest.fn(async (rows: { id: string; hostId: string }[]) => rows.map((r) => ({ job: { ...job, id: r.id, hostId: r.hostId }, created: true }))),
    findById: jest.fn(async () => job),
    markDispatched: jest.fn(async () => ({ ...job, status: 'dispatched' })),
    recordProgress: jest.fn(async (e: { hostId: string }) => (e.hostId === job.hostId ? { ...job, status: 'running' } : null) as JobEntity | null),
    finish: jest.fn(async (_id: string, o: { status: string }) => ({ ...job, status: o.status })),
    requestCancel: jest.fn(async () => ({ ...job, cancelRequestedAt: new Date() })),
    listOpenForHost: jest.fn(async () => [job]),
    sendGate: jest.fn(async (): Promise<SendGate> => ({ earlierQueued: false, earlierInSerial: false, activeOnHost: 0 })),
    countRedispatch: jest.fn(async () => undefined),
    listOpen: jest.fn(async () => []),
  };
  const events = { insertServerEvent: jest.fn(async () => ({})), listForJob: jest.fn(async () => []) };
  const channel = {
    sendCommand: jest.fn(async () => ({ state: 'accepted' as const })),
    cancelJob: jest.fn(async () => ({ state: 'accepted' as const })),
    isConnected: jest.fn(async () => true),
    isReadyHere: jest.fn(() => false),
    setJobSink: jest.fn(),
    onAgentReady: jest.fn(),
  };
  const ui = { publish: jest.fn() };
  const hosts = { get: jest.fn(async () => ({ id: HOST, hostname: 'web-1', status: 'approved' })), updateFacts: jest.fn(async () => null), statusesOf: jest.fn(async () => new Map<string, string>()) };
  const watchdog = { changeDelay: jest.fn(async () => undefined) };
  const queue = { add: jest.fn(async () => undefined), addBulk: jest.fn(async () => undefined), remove: jest.fn(async () => 1), getJob: jest.fn(async () => watchdog) };
  const types = new JobTypes();
  const applied: unknown[] = [];
  types.register({ type: Command.InventoryRefresh, deadlineSeconds: 60, maxRunSeconds: 30, result: EchoResult, onSucceeded: async (_j, r) => void applied.push(r) });
  types.register({ type: Command.ChildStart, deadlineSeconds: 60, maxRunSeconds: 30, serialKey: (h, p) => `${h}:${String(p.name)}` });
  const settings = { hostConcurrency: 2, ackTimeoutMs: 1000, redeliverMs: 60_000, blockedRetryMs: 1000, reconcileIntervalMs: 30_000, workerConcurrency: 5 } as JobsSettings;
  const service = new JobsService(
    jobs as unknown as JobsRepository, events as unknown as JobEventsRepository, types,
    channel as unknown as AgentChannel, ui as unknown as UiEvents, settings,
    new SecretBox({ SYSFLEET_SECRET: 'x'.repeat(32) } as EnvironmentVariables), hosts as unknown as HostsService, queue as never,
  );
  return { service, jobs, events, channel, ui, queue, watchdog, applied, job, hosts };
}

describe('JobsService', () => {
  it('creates a queued job, enqueues it under the same id and tells the UI', async () => {
    const { service, jobs, queue, ui } = setup();
    const { job, created } = await service.create({ hostId: HOST, type: Command.InventoryRefresh, params: {} satisfies InventoryRefreshParams, actor });
    expect(created).toBe(true);
    expect(jobs.insertQueued).toHaveBeenCalledWith([expect.objectContaining({ id: job.id, hostId: HOST, createdBy: 'alice', serialKey: null })], { step: 'queued', message: 'queued by alice' });
    expect(queue.addBulk).toHaveBeenCalledWith([{ name: 'deliver', data: { jobId: job.id }, opts: expect.objectContaining({ jobId: job.id, delay: 0 }) }]);
    expect(ui.publish).toHaveBeenCalledWith('job.updated', expect.objectContaining({ id: job.id, status: 'queued' }));
  });

  it('sends at once to an agent connected to this replica and leaves the BullMQ job as a delayed watchdog', async () => {
    const { service, channel, jobs, queue } = setup();
    channel.isReadyHere.mockReturnValue(true);
    const { job } = await service.create({ hostId: HOST, type: Command.InventoryRefresh, params: {}, actor });
    expect(queue.addBulk).toHaveBeenCalledWith([{ name: 'deliver', data: { jobId: job.id }, opts: expect.objectContaining({ jobId: job.id, delay: 60_000 }) }]);
    await waitForCall(jobs.markDispatched);
    expect(channel.sendCommand).toHaveBeenCalledWith(HOST, expect.objectContaining({ jobId: job.id }), 1000);
  });

  it('hands a directly sent job back to the worker when the host is busy or did not answer', async () => {
    const { service, channel, jobs, watchdog } = setup();
    channel.isReadyHere.mockReturnValue(true);
    jobs.sendGate.mockResolvedValueOnce({ earlierQueued: false, earlierInSerial: false, activeOnHost: 2 });
    await service.create({ hostId: HOST, type: Command.InventoryRefresh, params: {}, actor });
    await waitForCall(watchdog.changeDelay);
    expect(watchdog.changeDelay).toHaveBeenLastCalledWith(1000);
    expect(channel.sendCommand).not.toHaveBeenCalled();
    channel.sendCommand.mockResolvedValueOnce(null as never);
    await service.create({ hostId: HOST, type: Command.InventoryRefresh, params: {}, actor });
    await waitForCall(watchdog.changeDelay, 2);
    expect(watchdog.changeDelay).toHaveBeenLastCalledWith(0);
    expect(jobs.markDispatched).not.toHaveBeenCalled();
  });

  it('refreshes many hosts with one insert, one enqueue, and a per-host report of those it skipped', async () => {
    const { service, jobs, queue, hosts } = setup();
    const [a, b, pending, missing] = ['a', 'b', 'c', 'd'].map((c) => `${c.repeat(8)}-${c.repeat(4)}-4${c.repeat(3)}-8${c.repeat(3)}-${c.repeat(12)}`);
    hosts.statusesOf.mockResolvedValueOnce(new Map([[a, 'approved'], [b, 'approved'], [pending, 'pending']]));
    const report = await service.refreshInventoryMany([a, b, a, pending, missing], actor, 'run-7');
    expect(jobs.insertQueued).toHaveBeenCalledTimes(1);
    expect(jobs.insertQueued.mock.calls[0][0]).toEqual([
      expect.objectContaining({ hostId: a, type: 'inventory.refresh', idempotencyKey: `run-7/${a}` }),
      expect.objectContaining({ hostId: b, type: 'inventory.refresh', idempotencyKey: `run-7/${b}` }),
    ]);
    expect(queue.addBulk).toHaveBeenCalledTimes(1);
    expect(report).toEqual({
      created: 2,
      results: [
        { hostId: a, ok: true, jobId: expect.any(String), created: true },
        { hostId: b, ok: true, jobId: expect.any(String), created: true },
        { hostId: pending, ok: false, code: 'JOB_HOST_NOT_APPROVED', message: expect.stringContaining('pending') },
        { hostId: missing, ok: false, code: 'JOB_HOST_NOT_FOUND', message: expect.stringContaining('not found') },
      ],
    });
  });

  it('returns the existing job for a repeated idempotency key without enqueueing again', async () => {
    const { service, jobs, queue } = setup();
    jobs.insertQueued.mockResolvedValueOnce([{ job: makeJob(), created: false }]);
    const { created } = await service.create({ hostId: HOST, type: Command.InventoryRefresh, params: {}, actor, idempotencyKey: 'k1' });
    expect(created).toBe(false);
    expect(queue.addBulk).not.toHaveBeenCalled();
  });

  it('stores secret parameters sealed and sends them only to the agent', async () => {
    const { service, jobs, channel } = setup();
    await service.create({ hostId: HOST, type: Command.InventoryRefresh, params: { name: 'vm1' }, secretParams: { token: 'sfe_secret' }, actor });
    const stored = jobs.insertQueued.mock.calls[0][0] as unknown as [{ params: object; secretParams: string }];
    expect(JSON.stringify(stored[0])).not.toContain('sfe_secret');
    jobs.findById.mockResolvedValueOnce(makeJob({ params: { name: 'vm1' }, secretParams: stored[0].secretParams }));
    await service.deliver(makeJob().id);
    expect(channel.sendCommand).toHaveBeenCalledWith(HOST, expect.objectContaining({ params: { name: 'vm1', token: 'sfe_secret' } }), 1000);
  });

  it('refuses an inventory refresh on a host that is not approved', async () => {
    const { service, hosts, jobs } = setup();
    hosts.get.mockResolvedValueOnce({ id: HOST, hostname: 'web-1', status: 'pending' });
    await expect(service.refreshInventory(HOST, actor)).rejects.toMatchObject({ code: 'JOB_HOST_NOT_APPROVED', message: expect.stringContaining('pending') });
    expect(jobs.insertQueued).not.toHaveBeenCalled();
  });

  it('refuses an unknown job type', async () => {
    const { service } = setup();
    await expect(service.create({ hostId: HOST, type: 'rm -rf', params: {}, actor })).rejects.toMatchObject({ code: 'JOB_UNKNOWN_TYPE' });
  });

  it('delivers a queued job and marks it dispatched', async () => {
    const { service, channel, jobs } = setup();
    const outcome = await service.deliver(makeJob().id);
    expect(channel.sendCommand).toHaveBeenCalledWith(HOST, expect.objectContaining({ type: 'inventory.refresh' }), 1000);
    expect(jobs.markDispatched).toHaveBeenCalled();
    expect(outcome).toEqual({ done: false, at: expect.any(Number) });
  });

  it('keeps a job queued while the host is offline and wakes at the deadline at the latest', async () => {
    const job = makeJob({ deadlineAt: new Date(Date.now() + 5_000) });
    const { service, channel, jobs } = setup(job);
    channel.sendCommand.mockResolvedValueOnce(null as never);
    const outcome = await service.deliver(job.id);
    expect(jobs.markDispatched).not.toHaveBeenCalled();
    expect(outcome).toEqual({ done: false, at: job.deadlineAt.getTime() });
  });

  it('expires a job whose deadline passed before delivery, with a reason', async () => {
    const job = makeJob({ deadlineAt: new Date(Date.now() - 1) });
    const { service, channel, jobs } = setup(job);
    expect(await service.deliver(job.id)).toEqual({ done: true });
    expect(channel.sendCommand).not.toHaveBeenCalled();
    expect(jobs.finish).toHaveBeenCalledWith(job.id, expect.objectContaining({ status: 'expired', error: expect.stringMatching(/deadline/) }));
  });

  it('holds a job while an older job of the same child runs, or while the host is at its limit', async () => {
    const { service, channel, jobs } = setup(makeJob({ type: Command.ChildStart, serialKey: `${HOST}:vm1` }));
    jobs.sendGate.mockResolvedValueOnce({ earlierQueued: false, earlierInSerial: true, activeOnHost: 0 });
    expect(await service.deliver('x')).toEqual({ done: false, at: expect.any(Number) });
    jobs.sendGate.mockResolvedValueOnce({ earlierQueued: false, earlierInSerial: false, activeOnHost: 2 });
    await service.deliver('x');
    expect(channel.sendCommand).not.toHaveBeenCalled();
  });

  it('sends a held-back job as soon as the job it waited for finishes, and looks no further otherwise', async () => {
    const waiting = makeJob({ id: '55555555-5555-4555-8555-555555555555', type: Command.ChildStart, serialKey: `${HOST}:vm1` });
    const { service, channel, jobs } = setup(makeJob({ status: 'running' }));
    const result = { status: 'succeeded' as const, result: { echoed: 'x' }, finishedAt: new Date().toISOString() };
    await service.onResult(HOST, { jobId: makeJob().id, ...result });
    expect(jobs.listOpenForHost).not.toHaveBeenCalled();

    jobs.findById.mockResolvedValueOnce(waiting);
    jobs.sendGate.mockResolvedValueOnce({ earlierQueued: false, earlierInSerial: true, activeOnHost: 0 });
    await service.deliver(waiting.id);
    expect(channel.sendCommand).not.toHaveBeenCalled();
    jobs.listOpenForHost.mockResolvedValueOnce([waiting]);
    await service.onResult(HOST, { jobId: makeJob().id, ...result });
    await waitForCall(channel.sendCommand);
    expect(channel.sendCommand).toHaveBeenCalledWith(HOST, expect.objectContaining({ jobId: waiting.id }), 1000);
  });

  it('holds a job back while an older queued job of its host can go first', async () => {
    const { service, channel, jobs } = setup();
    jobs.sendGate.mockResolvedValueOnce({ earlierQueued: true, earlierInSerial: false, activeOnHost: 0 });
    expect(await service.deliver('x')).toEqual({ done: false, at: expect.any(Number) });
    expect(channel.sendCommand).not.toHaveBeenCalled();
    expect(jobs.sendGate).toHaveBeenCalledWith(expect.objectContaining({ id: makeJob().id }));
  });

  it('delivers a host\'s open jobs in one pass at a time, oldest first, expiring and cancelling stale ones instead of sending them', async () => {
    const ids = ['a', 'b', 'c', 'd'].map((c) => `${c.repeat(8)}-${c.repeat(4)}-4${c.repeat(3)}-8${c.repeat(3)}-${c.repeat(12)}`);
    const open = [
      makeJob({ id: ids[0] }),
      makeJob({ id: ids[1], deadlineAt: new Date(Date.now() - 1) }),
      makeJob({ id: ids[2], cancelRequestedAt: new Date() }),
      makeJob({ id: ids[3] }),
    ];
    const { service, channel, jobs } = setup();
    jobs.listOpenForHost.mockResolvedValue(open);
    const sent: string[] = [];
    let inFlight = 0;
    (channel.sendCommand as jest.Mock).mockImplementation(async (_h: string, p: { jobId: string }) => {
      expect(++inFlight).toBe(1);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      sent.push(p.jobId);
      return { state: 'accepted' as const };
    });
    await Promise.all([service.deliverOpenJobs(HOST), service.deliverOpenJobs(HOST), service.deliverOpenJobs(HOST)]);
    // The two calls during the first pass make one more pass, after it.
    expect(jobs.listOpenForHost).toHaveBeenCalledTimes(2);
    expect(sent).toEqual([ids[0], ids[3], ids[0], ids[3]]);
    expect(jobs.finish).toHaveBeenCalledWith(ids[1], expect.objectContaining({ status: 'expired' }));
    expect(jobs.finish).toHaveBeenCalledWith(ids[2], expect.objectContaining({ status: 'cancelled' }));
  });

  it('stores each progress step once and moves the job to running', async () => {
    const { service, jobs, ui } = setup();
    const p = { jobId: makeJob().id, seq: 1, step: 'collect', message: 'collecting facts', percent: 50, at: new Date().toISOString() };
    expect(await service.onProgress(HOST, p)).toEqual({ ok: true });
    expect(jobs.recordProgress).toHaveBeenCalledWith(expect.objectContaining({ jobId: p.jobId, seq: 1, step: 'collect', percent: 50 }));
    expect(ui.publish).toHaveBeenCalledWith('job.event', expect.objectContaining({ seq: 1, step: 'collect' }));
    expect(ui.publish).toHaveBeenCalledWith('job.updated', expect.objectContaining({ status: 'running' }));
    // A re-sent step is acknowledged and changes nothing.
    jobs.recordProgress.mockResolvedValueOnce(null);
    ui.publish.mockClear();
    expect(await service.onProgress(HOST, p)).toEqual({ ok: true });
    expect(ui.publish).not.toHaveBeenCalled();
  });

  it('refuses progress and results for another host\'s job', async () => {
    const { service } = setup();
    const other = '44444444-4444-4444-8444-444444444444';
    const at = new Date().toISOString();
    expect(await service.onProgress(other, { jobId: makeJob().id, seq: 1, step: 's', message: 'm', at })).toMatchObject({ ok: false });
    expect(await service.onResult(other, { jobId: makeJob().id, status: 'succeeded', result: { echoed: 'x' }, finishedAt: at })).toMatchObject({ ok: false });
  });

  it('stores a valid success, applies it and drops its delivery job', async () => {
    const { service, jobs, applied, queue } = setup(makeJob({ status: 'running' }));
    const ack = await service.onResult(HOST, { jobId: makeJob().id, status: 'succeeded', result: { echoed: 'hi' }, finishedAt: new Date().toISOString() });
    expect(ack).toEqual({ ok: true });
    expect(applied).toEqual([expect.objectContaining({ echoed: 'hi' })]);
    expect(jobs.finish).toHaveBeenCalledWith(makeJob().id, expect.objectContaining({ status: 'succeeded' }));
    expect(queue.remove).toHaveBeenCalledWith(makeJob().id);
  });

  it('refuses an invalid result and records the job as failed, not succeeded', async () => {
    const { service, jobs, applied } = setup(makeJob({ status: 'running' }));
    const ack = await service.onResult(HOST, { jobId: makeJob().id, status: 'succeeded', result: { echoed: 42 }, finishedAt: new Date().toISOString() });
    expect(ack).toEqual({ ok: false, error: expect.stringContaining('echoed') });
    expect(applied).toEqual([]);
    expect(jobs.finish).toHaveBeenCalledWith(makeJob().id, expect.objectContaining({ status: 'failed', error: expect.stringContaining('invalid result') }));
  });

  it('stores a job the agent reports expired (its deadline passed in the agent\'s queue) as expired, with the agent\'s reason', async () => {
    const { service, jobs, applied } = setup(makeJob({ status: 'dispatched' }));
    const error = "expired: the job's deadline (2026-01-01T00:00:00.000Z) passed before it could start on the host; nothing was run";
    expect(await service.onResult(HOST, { jobId: makeJob().id, status: 'expired', error, finishedAt: new Date().toISOString() })).toEqual({ ok: true });
    expect(jobs.finish).toHaveBeenCalledWith(makeJob().id, expect.objectContaining({ status: 'expired', error }));
    expect(applied).toEqual([]);
  });

  it('acknowledges a re-sent result of a finished job without storing it again', async () => {
    const { service, jobs } = setup(makeJob({ status: 'succeeded' }));
    const ack = await service.onResult(HOST, { jobId: makeJob().id, status: 'succeeded', result: { echoed: 'hi' }, finishedAt: new Date().toISOString() });
    expect(ack).toEqual({ ok: true });
    expect(jobs.finish).not.toHaveBeenCalled();
  });

  it('cancels a queued job at once and asks the agent to stop a running one', async () => {
    const queued = setup();
    expect((await queued.service.cancel(makeJob().id, actor)).status).toBe('cancelled');
    expect(queued.channel.cancelJob).not.toHaveBeenCalled();

    const running = setup(makeJob({ status: 'running' }));
    running.jobs.finish.mockClear();
    await running.service.cancel(makeJob().id, actor);
    expect(running.jobs.requestCancel).toHaveBeenCalled();
    expect(running.channel.cancelJob).toHaveBeenCalledWith(HOST, makeJob().id, 1000);
    expect(running.jobs.finish).not.toHaveBeenCalled();
  });

  it('refuses to cancel a finished job', async () => {
    const { service } = setup(makeJob({ status: 'failed' }));
    await expect(service.cancel(makeJob().id, actor)).rejects.toMatchObject({ code: 'JOB_ALREADY_FINISHED' });
  });

  it('fails a delivered job whose agent stays silent past the run limit', async () => {
    const job = makeJob({ status: 'dispatched', dispatchedAt: new Date(Date.now() - 31_000) });
    const { service, jobs } = setup(job);
    expect(await service.deliver(job.id)).toEqual({ done: true });
    expect(jobs.finish).toHaveBeenCalledWith(job.id, expect.objectContaining({ status: 'failed', error: expect.stringMatching(/no result/) }));
  });
});
