import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { JobEntity, JobEventEntity } from '../../apps/server/src/jobs/jobs.entity';
import { AgentStep, JobsRepository, NewJob } from '../../apps/server/src/jobs/jobs.repository';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, insertApprovedHost, TestDatabase } from '../support/db';

/** The job writes that many agents' messages share (one statement per batch) on real PostgreSQL. */
describe('jobs on PostgreSQL', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: JobsRepository;

  const newHost = () => insertApprovedHost(ds);
  const newJob = (hostId: string, over: Partial<NewJob> = {}): NewJob => ({
    id: randomUUID(), hostId, type: 'inventory.refresh', params: {}, secretParams: null, serialKey: null, createdById: null, createdBy: 'alice',
    idempotencyKey: null, deadlineAt: new Date(Date.now() + 60_000), ...over,
  });
  const step = (job: JobEntity, seq: number, over: Partial<AgentStep> = {}): AgentStep => ({
    jobId: job.id, hostId: job.hostId, seq, step: `step-${seq}`, message: `message ${seq}`, percent: seq * 10, at: new Date(), ...over,
  });
  const eventsOf = async (jobId: string) =>
    (await ds.query(`SELECT source, seq, step, message FROM job_events WHERE "jobId" = $1 ORDER BY id`, [jobId])) as { source: string; seq: number | null; step: string; message: string }[];
  const queued = async (n: number, hostId?: string): Promise<JobEntity[]> => {
    const host = hostId ?? (await newHost());
    return (await repo.insertQueued(Array.from({ length: n }, () => newJob(host)), { step: 'queued', message: 'queued by alice' })).map((r) => r.job);
  };

  beforeAll(async () => {
    db = await createTestDatabase('jobsrepo');
    ds = await migratedDataSource(db.url, [JobEntity, JobEventEntity]);
    repo = new JobsRepository(ds.getRepository(JobEntity));
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('inserts many jobs with their queued events in one go, and returns the earlier job for a used idempotency key', async () => {
    const hostId = await newHost();
    const first = await repo.insertQueued([newJob(hostId, { idempotencyKey: 'k1' }), newJob(hostId)], { step: 'queued', message: 'queued by alice' });
    expect(first.map((r) => [r.job.status, r.created])).toEqual([['queued', true], ['queued', true]]);
    const again = await repo.insertQueued([newJob(hostId, { idempotencyKey: 'k1' }), newJob(hostId, { idempotencyKey: 'k2' })], { step: 'queued', message: 'queued by alice' });
    expect(again[0]).toEqual({ job: expect.objectContaining({ id: first[0].job.id }), created: false });
    expect(again[1].created).toBe(true);
    expect(await eventsOf(first[0].job.id)).toEqual([{ source: 'server', seq: null, step: 'queued', message: 'queued by alice' }]);
    expect(await eventsOf(again[0].job.id)).toHaveLength(1);
  });

  it('inserts the jobs of calls made in the same turn in one statement, each call answered with its own jobs', async () => {
    const hosts = await Promise.all([newHost(), newHost(), newHost()]);
    const query = jest.spyOn(ds.getRepository(JobEntity), 'query');
    try {
      const calls = hosts.map((h, i) => Array.from({ length: i + 1 }, () => newJob(h, { createdBy: `user-${i}` })));
      const answers = await Promise.all(calls.map((jobs, i) => repo.insertQueued(jobs, { step: 'queued', message: `queued by user-${i}` })));
      expect(query).toHaveBeenCalledTimes(1);
      answers.forEach((answer, i) => {
        expect(answer.map((r) => [r.job.id, r.job.hostId, r.created])).toEqual(calls[i].map((j) => [j.id, hosts[i], true]));
      });
      expect(await eventsOf(answers[2][1].job.id)).toEqual([{ source: 'server', seq: null, step: 'queued', message: 'queued by user-2' }]);
    } finally {
      query.mockRestore();
    }
  });

  it('creates one job for an idempotency key used by two calls of the same turn', async () => {
    const hostId = await newHost();
    const [a, b] = await Promise.all([
      repo.insertQueued([newJob(hostId, { idempotencyKey: 'same-turn' })], { step: 'queued', message: 'queued by alice' }),
      repo.insertQueued([newJob(hostId, { idempotencyKey: 'same-turn' })], { step: 'queued', message: 'queued by alice' }),
    ]);
    expect([a[0].created, b[0].created].sort()).toEqual([false, true]);
    expect(b[0].job.id).toBe(a[0].job.id);
    const { n } = (await ds.query(`SELECT count(*)::int AS n FROM jobs WHERE "idempotencyKey" = 'same-turn'`))[0];
    expect(n).toBe(1);
  });

  it('fails only the call with a bad row when calls of the same turn share a statement', async () => {
    const hostId = await newHost();
    const gone = randomUUID();
    const good = newJob(hostId);
    const bad = [newJob(hostId), newJob(gone)];
    const [ok, failed] = await Promise.allSettled([
      repo.insertQueued([good], { step: 'queued', message: 'queued by alice' }),
      repo.insertQueued(bad, { step: 'queued', message: 'queued by bob' }),
    ]);
    expect(ok).toMatchObject({ status: 'fulfilled', value: [{ job: { id: good.id }, created: true }] });
    expect(failed).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/foreign key/) }) });
    // Nothing of the failed call is left half-made.
    const { n } = (await ds.query(`SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[])`, [bad.map((j) => j.id)]))[0];
    expect(n).toBe(0);
  });

  it('dispatches and finishes jobs called in the same turn, each once, with one event each', async () => {
    const jobs = await queued(30);
    const dispatched = await Promise.all([
      ...jobs.map((j) => repo.markDispatched(j.id, { step: 'dispatched', message: 'delivered to the agent' })),
      repo.markDispatched(jobs[0].id, { step: 'dispatched', message: 'again' }),
    ]);
    expect(dispatched.slice(0, 30).map((j) => j?.status)).toEqual(Array(30).fill('dispatched'));
    expect(dispatched[30]).toBeNull();
    expect(await repo.markDispatched(jobs[1].id, { step: 'dispatched', message: 'late' })).toBeNull();

    const finished = await Promise.all([
      repo.finish(jobs[0].id, { status: 'succeeded', result: { facts: { hostname: 'a' } } }),
      repo.finish(jobs[1].id, { status: 'failed', error: 'disk full', failedStep: 'collect' }),
      repo.finish(jobs[0].id, { status: 'failed', error: 'a re-sent result must not win' }),
    ]);
    expect(finished[0]).toMatchObject({ status: 'succeeded', result: { facts: { hostname: 'a' } }, percent: 100, error: null });
    expect(finished[1]).toMatchObject({ status: 'failed', error: 'disk full', failedStep: 'collect', result: null });
    expect(finished[2]).toBeNull();
    expect(await repo.finish(jobs[1].id, { status: 'succeeded' })).toBeNull();
    expect((await eventsOf(jobs[0].id)).map((e) => `${e.step}: ${e.message}`)).toEqual(['queued: queued by alice', 'dispatched: delivered to the agent', 'succeeded: succeeded']);
    expect((await eventsOf(jobs[1].id)).map((e) => e.step)).toEqual(['queued', 'dispatched', 'failed']);
    expect((await repo.findById(jobs[0].id))?.finishedAt).toBeInstanceOf(Date);
  });

  it('stores each agent step once, moves the job to running at its latest step, and refuses another host\'s job', async () => {
    const [job, other] = await queued(2);
    const stranger = await newHost();
    const answers = await Promise.all([
      repo.recordProgress(step(job, 1)),
      repo.recordProgress(step(job, 2, { percent: null })),
      repo.recordProgress(step(job, 1)),
      repo.recordProgress(step(other, 1, { hostId: stranger })),
    ]);
    expect(answers[0]).toMatchObject({ id: job.id, status: 'running', step: 'step-2' });
    expect(answers[1]).toMatchObject({ id: job.id, status: 'running' });
    expect(answers[2]).toBeNull();
    expect(answers[3]).toBeNull();
    expect(await eventsOf(other.id)).toHaveLength(1);
    expect(await repo.recordProgress(step(job, 2))).toBeNull();
    const stored = await repo.findById(job.id);
    expect(stored).toMatchObject({ status: 'running', step: 'step-2', percent: 10 });
    expect((await eventsOf(job.id)).filter((e) => e.source === 'agent').map((e) => e.seq)).toEqual([1, 2]);

    await repo.finish(job.id, { status: 'succeeded' });
    expect(await repo.recordProgress(step(job, 3))).toBeNull();
    expect((await repo.findById(job.id))?.status).toBe('succeeded');
  });

  it('records the dispatch when an agent step overtakes the write of its acknowledgement, once', async () => {
    const [job] = await queued(1);
    const [progress, again] = await Promise.all([repo.recordProgress(step(job, 1)), repo.recordProgress(step(job, 1))]);
    expect(progress).toMatchObject({ id: job.id, status: 'running', step: 'step-1', dispatchCount: 1 });
    expect(again).toBeNull();
    // The acknowledgement's write comes last and finds the job on its way: nothing more is recorded.
    expect(await repo.markDispatched(job.id, { step: 'dispatched', message: 'delivered to the agent' })).toBeNull();
    expect((await eventsOf(job.id)).map((e) => `${e.source}:${e.step}`)).toEqual(['server:queued', 'server:dispatched', 'agent:step-1']);
    expect(await repo.findById(job.id)).toMatchObject({ status: 'running', dispatchCount: 1 });
    expect((await repo.findById(job.id))?.dispatchedAt).not.toBeNull();

    // Dispatched first, the usual order: the step adds no second dispatch.
    const [next] = await queued(1);
    await repo.markDispatched(next.id, { step: 'dispatched', message: 'delivered to the agent' });
    expect(await repo.recordProgress(step(next, 1))).toMatchObject({ status: 'running', dispatchCount: 1 });
    expect((await eventsOf(next.id)).map((e) => `${e.source}:${e.step}`)).toEqual(['server:queued', 'server:dispatched', 'agent:step-1']);
  });

  it('counts the active jobs of each job\'s host, for many jobs at once', async () => {
    const a = await newHost();
    const b = await newHost();
    const jobsA = await queued(3, a);
    const [jobB] = await queued(1, b);
    await repo.markDispatched(jobsA[0].id, { step: 'dispatched', message: 'x' });
    await repo.recordProgress(step(jobsA[1], 1));
    const active = () => Promise.all([jobsA[2], jobB, jobsA[2]].map(async (j) => (await repo.sendGate(j)).activeOnHost));
    expect(await active()).toEqual([2, 0, 2]);
    await repo.finish(jobsA[0].id, { status: 'succeeded' });
    expect((await active())[0]).toBe(1);
  });

  const serialWait = async (j: JobEntity) => (await repo.sendGate(j)).earlierInSerial;
  const queuedWait = async (j: JobEntity) => (await repo.sendGate(j)).earlierQueued;

  /** Inserts jobs one statement each, so each has its own createdAt, oldest first. */
  const oneByOne = async (hostId: string, overs: Partial<NewJob>[]): Promise<JobEntity[]> => {
    const out: JobEntity[] = [];
    for (const over of overs) out.push((await repo.insertQueued([newJob(hostId, over)], { step: 'queued', message: 'queued by alice' }))[0].job);
    return out;
  };

  it('holds a job back while an older open job of the same child on the same host exists, and only then', async () => {
    const host = await newHost();
    const otherHost = await newHost();
    const [vm1a, vm2, vm1b, plain, vm1c] = await oneByOne(host, [{ serialKey: 'vm1' }, { serialKey: 'vm2' }, { serialKey: 'vm1' }, {}, { serialKey: 'vm1' }]);
    const [elsewhere] = await oneByOne(otherHost, [{ serialKey: 'vm1' }]);
    const held = () => Promise.all([vm1a, vm2, vm1b, plain, vm1c, elsewhere].map((j) => serialWait(j)));
    expect(await held()).toEqual([false, false, true, false, true, false]);
    // Still open once delivered: the next job of vm1 keeps waiting until it finishes.
    await repo.markDispatched(vm1a.id, { step: 'dispatched', message: 'x' });
    expect(await held()).toEqual([false, false, true, false, true, false]);
    await repo.finish(vm1a.id, { status: 'failed', error: 'boom' });
    expect(await held()).toEqual([false, false, false, false, true, false]);
    await repo.finish(vm1b.id, { status: 'cancelled' });
    expect((await held())[4]).toBe(false);
  });

  it('orders jobs created in one statement (one createdAt) by id, the same way both order checks and the reconnect list do', async () => {
    const host = await newHost();
    const made = await repo.insertQueued([newJob(host, { serialKey: 'vm1' }), newJob(host, { serialKey: 'vm1' }), newJob(host, { serialKey: 'vm1' })], { step: 'queued', message: 'q' });
    const open = await repo.listOpenForHost(host);
    expect(new Set(open.map((j) => j.createdAt.getTime())).size).toBe(1);
    expect(open.map((j) => j.id)).toEqual(made.map((r) => r.job.id).sort());
    expect(await Promise.all(open.map((j) => serialWait(j)))).toEqual([false, true, true]);
    // The first vm1 job could go now, so a younger queued job of the host waits for it.
    const [younger] = await oneByOne(host, [{}]);
    expect(await Promise.all([...open, younger].map((j) => queuedWait(j)))).toEqual([false, true, true, true]);
  });

  it('holds a queued job back while an older queued job of its host could be sent first, not for one that cannot', async () => {
    const host = await newHost();
    const otherHost = await newHost();
    const [running] = await oneByOne(host, [{ serialKey: 'vm1' }]);
    await repo.markDispatched(running.id, { step: 'dispatched', message: 'x' });
    const [vm1Waiting, _expired, cancelledOne, first, second] = await oneByOne(host, [
      { serialKey: 'vm1' }, { deadlineAt: new Date(Date.now() - 1000) }, {}, {}, {},
    ]);
    await repo.requestCancel(cancelledOne.id);
    const [elsewhere] = await oneByOne(otherHost, [{}]);
    const waits = () => Promise.all([vm1Waiting, first, second, elsewhere].map((j) => queuedWait(j)));
    // vm1Waiting must wait for `running` (its child) and so holds nobody back; an expired or cancelled
    // job is about to be finished, not sent. `second` waits for `first`; another host's job for nothing.
    expect(await waits()).toEqual([false, false, true, false]);
    await repo.markDispatched(first.id, { step: 'dispatched', message: 'x' });
    expect(await waits()).toEqual([false, false, false, false]);
    // Once vm1's running job finishes, its waiting job could go: younger queued jobs wait for it.
    await repo.finish(running.id, { status: 'succeeded' });
    const [third] = await oneByOne(host, [{}]);
    expect(await queuedWait(third)).toBe(true);
    await repo.markDispatched(vm1Waiting.id, { step: 'dispatched', message: 'x' });
    await repo.markDispatched(second.id, { step: 'dispatched', message: 'x' });
    expect(await queuedWait(third)).toBe(false);
  });
});
