import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InventoryRefreshParams, JobProgressPayload, JobResultPayload, VirtualizationInitializeParams } from '@sysfleet/protocol';
import { silentLogger } from '../log';
import { CommandHandler, JobContext, StepError } from './handler';
import { Journal } from './journal';
import { Outbox } from './outbox';
import { HandlerRegistry } from './registry';
import { JobRunner } from './runner';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const future = '2099-01-01T00:00:00.000Z';
const command = (n: number, type = 'inventory.refresh', params: Record<string, unknown> = {}, deadline = future) => ({ jobId: id(n), type, params, deadline });

/** Waits (polling, bounded) until `check` holds; the jobs run on real fs writes, not fake timers. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

type Sent = { result: JobResultPayload } | { progress: JobProgressPayload };

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

describe('JobRunner', () => {
  let root: string;
  let registry: HandlerRegistry;
  let calls: { jobId: string; resumed: boolean }[];
  let gates: Map<string, ReturnType<typeof deferred>>;

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'sfa-runner-'));
    calls = [];
    gates = new Map();
    registry = new HandlerRegistry();
    // inventory.refresh stand-in: two steps, optionally held at a gate between them.
    const steps: CommandHandler<InventoryRefreshParams, { done: boolean }> = {
      command: 'inventory.refresh',
      params: InventoryRefreshParams,
      async run(_p, ctx: JobContext) {
        calls.push({ jobId: ctx.jobId, resumed: ctx.resumed });
        await ctx.progress('first', 'step one', 10);
        await gates.get(ctx.jobId)?.promise;
        ctx.throwIfCancelled();
        await ctx.progress('second', 'step two', 90);
        return { done: true };
      },
    };
    registry.register(steps);
    registry.register<VirtualizationInitializeParams, Record<string, unknown>>({
      command: 'virtualization.initialize',
      params: VirtualizationInitializeParams,
      async run(p, ctx) {
        await ctx.progress('install', `installing ${p.type}`);
        if (p.type === 'wsl') throw new StepError('enable', 'wsl.exe exited with 1: reboot required');
        throw new Error('apt-get failed');
      },
    });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function makeRunner(maxConcurrent = 4, stepDelayMs?: number) {
    const journal = new Journal(path.join(root, 'journal'), silentLogger);
    const outbox = new Outbox(path.join(root, 'outbox'), silentLogger);
    let notified = 0;
    const runner = new JobRunner({ journal, outbox, registry, log: silentLogger, maxConcurrent, stepDelayMs, onOutbox: () => notified++ });
    const sent = () => outbox.pending().map((e): Sent => (e.event === 'job.result' ? { result: e.payload as JobResultPayload } : { progress: e.payload as JobProgressPayload }));
    const resultOf = (n: number) => sent().find((s) => 'result' in s && s.result.jobId === id(n)) as { result: JobResultPayload } | undefined;
    return { journal, outbox, runner, sent, resultOf, notified: () => notified };
  }

  it('acks accepted only after journaling, then streams progress and one result to the outbox', async () => {
    const { runner, journal, sent, notified } = makeRunner();
    expect(runner.handleCommand(command(1))).toEqual({ state: 'accepted' });
    expect(journal.get(id(1))?.state).toBe('accepted');
    await runner.idle();
    expect(sent()).toEqual([
      { progress: expect.objectContaining({ jobId: id(1), seq: 1, step: 'first', message: 'step one', percent: 10 }) },
      { progress: expect.objectContaining({ jobId: id(1), seq: 2, step: 'second', percent: 90 }) },
      { result: expect.objectContaining({ jobId: id(1), status: 'succeeded', result: { done: true } }) },
    ]);
    expect(journal.get(id(1))).toMatchObject({ state: 'finished', resultQueued: true });
    expect(notified()).toBeGreaterThanOrEqual(3);
  });

  it('never runs a redelivered command twice and re-queues its result if it was already delivered', async () => {
    const { runner, outbox, sent } = makeRunner();
    runner.handleCommand(command(1));
    await runner.idle();
    expect(runner.handleCommand(command(1))).toEqual({ state: 'duplicate' });
    expect(sent().filter((s) => 'result' in s)).toHaveLength(1);
    await outbox.flush({ isConnected: () => true, send: async () => ({ ok: true }) });
    expect(outbox.pending()).toHaveLength(0);
    // the server lost the result (e.g. restarted before storing it) and asks again
    expect(runner.handleCommand(command(1))).toEqual({ state: 'duplicate' });
    await runner.idle();
    expect(sent()).toEqual([{ result: expect.objectContaining({ jobId: id(1), status: 'succeeded' }) }]);
    expect(calls).toHaveLength(1);
  });

  it('answers duplicate for a command that is still running', async () => {
    const { runner } = makeRunner();
    gates.set(id(1), deferred());
    runner.handleCommand(command(1));
    expect(runner.handleCommand(command(1))).toEqual({ state: 'duplicate' });
    gates.get(id(1))!.release();
    await runner.idle();
    expect(calls).toHaveLength(1);
  });

  it('refuses a malformed command without recording it', () => {
    const { runner, journal } = makeRunner();
    expect(runner.handleCommand({ jobId: 'not-a-uuid', type: 'inventory.refresh', params: {}, deadline: future })).toEqual({ state: 'refused', reason: expect.stringContaining('jobId') });
    expect(runner.handleCommand({ ...command(2), type: 'rm -rf' })).toEqual({ state: 'refused', reason: expect.stringContaining('type') });
    expect(journal.get(id(2))).toBeUndefined();
  });

  it('accepts then fails a command with invalid params or without a handler', async () => {
    const { runner, resultOf } = makeRunner();
    expect(runner.handleCommand(command(1, 'virtualization.initialize', { type: 'xen' }))).toEqual({ state: 'accepted' });
    expect(runner.handleCommand(command(2, 'virtualization.initialize', { type: 'kvm', extra: true }))).toEqual({ state: 'accepted' });
    expect(runner.handleCommand(command(3, 'child.create', {}))).toEqual({ state: 'accepted' });
    await runner.idle();
    expect(resultOf(1)?.result).toMatchObject({ status: 'failed', failedStep: 'validate', error: expect.stringMatching(/invalid parameters for virtualization.initialize: .*type/) });
    expect(resultOf(2)?.result).toMatchObject({ status: 'failed', error: expect.stringContaining('extra') });
    expect(resultOf(3)?.result).toMatchObject({ status: 'failed', error: 'this agent does not support the command child.create' });
  });

  it('names the failed step: from StepError, else the last progress step', async () => {
    const { runner, resultOf } = makeRunner();
    runner.handleCommand(command(1, 'virtualization.initialize', { type: 'wsl' }));
    runner.handleCommand(command(2, 'virtualization.initialize', { type: 'kvm' }));
    await runner.idle();
    expect(resultOf(1)?.result).toMatchObject({ status: 'failed', failedStep: 'enable', error: 'wsl.exe exited with 1: reboot required' });
    expect(resultOf(2)?.result).toMatchObject({ status: 'failed', failedStep: 'install', error: 'apt-get failed' });
  });

  it('cancels a running job at its next safe point', async () => {
    const { runner, resultOf, sent } = makeRunner();
    gates.set(id(1), deferred());
    runner.handleCommand(command(1));
    await new Promise((r) => setImmediate(r));
    expect(runner.handleCancel({ jobId: id(1) })).toEqual({ state: 'accepted' });
    gates.get(id(1))!.release();
    await runner.idle();
    expect(resultOf(1)?.result).toMatchObject({ status: 'cancelled', failedStep: 'first' });
    expect(sent().filter((s) => 'progress' in s)).toHaveLength(1);
  });

  it('a cancel cuts the step-delay test knob short', async () => {
    const { runner, resultOf } = makeRunner(4, 3_600_000);
    runner.handleCommand(command(1));
    await until(() => calls.length === 1);
    expect(runner.handleCancel({ jobId: id(1) })).toEqual({ state: 'accepted' });
    await runner.idle();
    expect(resultOf(1)?.result).toMatchObject({ status: 'cancelled' });
  });

  it('fails inventory.refresh given parameters it does not take', async () => {
    const { runner, resultOf } = makeRunner();
    runner.handleCommand(command(1, 'inventory.refresh', { all: true }));
    await runner.idle();
    expect(resultOf(1)?.result).toMatchObject({ status: 'failed', error: expect.stringContaining('takes no fields (got all)') });
  });

  it('cancels a queued job without running it, and refuses to cancel unknown or finished jobs', async () => {
    const { runner, resultOf } = makeRunner(1);
    gates.set(id(1), deferred());
    runner.handleCommand(command(1));
    runner.handleCommand(command(2));
    expect(runner.handleCancel({ jobId: id(2) })).toEqual({ state: 'accepted' });
    expect(resultOf(2)?.result).toMatchObject({ status: 'cancelled' });
    gates.get(id(1))!.release();
    await runner.idle();
    expect(calls.map((c) => c.jobId)).toEqual([id(1)]);
    expect(runner.handleCancel({ jobId: id(1) })).toEqual({ state: 'refused', reason: expect.stringContaining('already finished') });
    expect(runner.handleCancel({ jobId: id(9) })).toEqual({ state: 'refused', reason: expect.stringContaining('not known') });
    expect(runner.handleCancel({ jobId: 'x' })).toMatchObject({ state: 'refused' });
  });

  it('runs at most maxConcurrent jobs at once and the rest in arrival order', async () => {
    const { runner } = makeRunner(2);
    for (const n of [1, 2, 3, 4]) {
      gates.set(id(n), deferred());
      runner.handleCommand(command(n));
    }
    await new Promise((r) => setImmediate(r));
    expect(runner.activeJobIds()).toEqual({ running: [id(1), id(2)], queued: [id(3), id(4)] });
    gates.get(id(2))!.release();
    await until(() => runner.activeJobIds().queued.length === 1);
    expect(runner.activeJobIds()).toEqual({ running: [id(1), id(3)], queued: [id(4)] });
    [1, 3, 4].forEach((n) => gates.get(id(n))!.release());
    await runner.idle();
    expect(calls.map((c) => c.jobId)).toEqual([id(1), id(2), id(3), id(4)]);
  });

  it('expires a job whose deadline passed while it waited in the agent\'s queue, without running it', async () => {
    const { runner, resultOf, journal } = makeRunner(1);
    gates.set(id(1), deferred());
    runner.handleCommand(command(1));
    runner.handleCommand(command(2, 'inventory.refresh', {}, new Date(Date.now() + 50).toISOString()));
    await new Promise((r) => setTimeout(r, 100));
    gates.get(id(1))!.release();
    await runner.idle();
    expect(resultOf(1)?.result.status).toBe('succeeded');
    expect(resultOf(2)?.result).toMatchObject({ status: 'expired', error: expect.stringMatching(/^expired: the job's deadline .* passed before it could start/) });
    expect(resultOf(2)?.result.failedStep).toBeUndefined();
    expect(journal.get(id(2))?.state).toBe('finished');
    expect(calls.map((c) => c.jobId)).toEqual([id(1)]);
  });

  it('after a crash, runs unfinished jobs again (started ones with resumed) and produces one result each', async () => {
    const first = makeRunner();
    gates.set(id(1), deferred());
    first.runner.handleCommand(command(1));
    await new Promise((r) => setImmediate(r));
    expect(first.journal.get(id(1))?.state).toBe('running');
    // accepted but never started when the "process" died:
    first.journal.accept(command(2) as never);
    // a finished job whose result never reached the outbox:
    first.journal.accept(command(3) as never);
    first.journal.finish(id(3), { jobId: id(3), status: 'succeeded', finishedAt: new Date().toISOString() });

    gates.clear();
    calls = [];
    const second = makeRunner();
    second.runner.resumeUnfinished();
    await second.runner.idle();
    expect(calls).toEqual([{ jobId: id(1), resumed: true }, { jobId: id(2), resumed: false }]);
    const results = second.sent().filter((s) => 'result' in s).map((s) => ('result' in s ? s.result.jobId : ''));
    expect(results.sort()).toEqual([id(1), id(2), id(3)].sort());
    // progress seq keeps counting from before the crash
    const seqs = second.sent().filter((s) => 'progress' in s && s.progress.jobId === id(1)).map((s) => ('progress' in s ? s.progress.seq : 0));
    expect(seqs).toEqual([1, 2, 3]);
    const third = makeRunner();
    third.runner.resumeUnfinished();
    await third.runner.idle();
    expect(calls).toHaveLength(2);
  });
});
