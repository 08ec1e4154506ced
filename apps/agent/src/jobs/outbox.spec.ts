import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobProgressPayload, JobResultPayload } from '@sysfleet/protocol';
import { silentLogger } from '../log';
import { Outbox, OutboxTransport } from './outbox';

const JOB_A = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const JOB_B = '7f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const at = '2026-01-01T00:00:00.000Z';
const progress = (jobId: string, seq: number): JobProgressPayload => ({ jobId, seq, step: `step-${seq}`, message: 'working', at });
const result = (jobId: string): JobResultPayload => ({ jobId, status: 'succeeded', result: { ok: 1 }, finishedAt: at });

/** A server stand-in: records what it got and answers with the next scripted ack. */
function fakeServer(answer: (event: string, payload: { jobId: string }) => unknown = () => ({ ok: true })) {
  const received: string[] = [];
  let connected = true;
  const transport: OutboxTransport = {
    isConnected: () => connected,
    send: async (event, payload) => {
      const p = payload as { jobId: string; seq?: number };
      received.push(`${event}:${p.jobId.slice(0, 1)}:${p.seq ?? 'r'}`);
      const a = answer(event, p);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { transport, received, setConnected: (c: boolean) => (connected = c) };
}

describe('Outbox', () => {
  let dir: string;
  beforeEach(() => (dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'sfa-outbox-')), 'outbox')));
  afterEach(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  const files = () => readdirSync(dir).filter((n) => n.endsWith('.json'));

  it('writes each message to disk before it is sent and removes it on ok', async () => {
    const outbox = new Outbox(dir, silentLogger);
    outbox.add('job.progress', progress(JOB_A, 1));
    expect(files()).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(dir, files()[0]), 'utf8'))).toEqual({ event: 'job.progress', payload: progress(JOB_A, 1) });
    const server = fakeServer();
    expect(await outbox.flush(server.transport)).toBe('drained');
    expect(server.received).toEqual(['job.progress:6:1']);
    expect(files()).toHaveLength(0);
    expect(outbox.pending()).toHaveLength(0);
  });

  it('survives a restart: a new instance resends what was written, in order', async () => {
    const before = new Outbox(dir, silentLogger);
    before.add('job.progress', progress(JOB_A, 1));
    before.add('job.progress', progress(JOB_B, 1));
    before.add('job.progress', progress(JOB_A, 2));
    before.add('job.result', result(JOB_A));
    // the "process" dies here without sending anything
    const after = new Outbox(dir, silentLogger);
    after.add('job.result', result(JOB_B));
    const server = fakeServer();
    await after.flush(server.transport);
    expect(server.received).toEqual(['job.progress:6:1', 'job.progress:7:1', 'job.progress:6:2', 'job.result:6:r', 'job.result:7:r']);
    expect(files()).toHaveLength(0);
  });

  it('keeps messages that were not acknowledged and resends them first', async () => {
    const outbox = new Outbox(dir, silentLogger);
    outbox.add('job.progress', progress(JOB_A, 1));
    outbox.add('job.progress', progress(JOB_A, 2));
    let calls = 0;
    const flaky = fakeServer(() => (++calls === 2 ? new Error('operation has timed out') : { ok: true }));
    expect(await outbox.flush(flaky.transport)).toBe('interrupted');
    expect(outbox.pending().map((e) => (e.payload as JobProgressPayload).seq)).toEqual([2]);
    outbox.add('job.result', result(JOB_A));
    const server = fakeServer();
    await outbox.flush(server.transport);
    expect(server.received).toEqual(['job.progress:6:2', 'job.result:6:r']);
  });

  it('sends nothing while disconnected', async () => {
    const outbox = new Outbox(dir, silentLogger);
    outbox.add('job.result', result(JOB_A));
    const server = fakeServer();
    server.setConnected(false);
    expect(await outbox.flush(server.transport)).toBe('interrupted');
    expect(server.received).toEqual([]);
    expect(files()).toHaveLength(1);
  });

  it('moves a message the server refuses to outbox/rejected and goes on', async () => {
    const outbox = new Outbox(dir, silentLogger);
    outbox.add('job.result', result(JOB_A));
    outbox.add('job.result', result(JOB_B));
    const server = fakeServer((_e, p) => (p.jobId === JOB_A ? { ok: false, error: 'unknown job' } : { ok: true }));
    expect(await outbox.flush(server.transport)).toBe('drained');
    expect(files()).toHaveLength(0);
    const rejected = readdirSync(path.join(dir, 'rejected'));
    expect(rejected).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(dir, 'rejected', rejected[0]), 'utf8'))).toMatchObject({ event: 'job.result', payload: { jobId: JOB_A }, error: 'unknown job' });
    // and it is never sent again
    await new Outbox(dir, silentLogger).flush(server.transport);
    expect(server.received).toEqual(['job.result:6:r', 'job.result:7:r']);
  });

  it('keeps a message when the ack is not a valid ServerAck', async () => {
    const outbox = new Outbox(dir, silentLogger);
    outbox.add('job.result', result(JOB_A));
    expect(await outbox.flush(fakeServer(() => 'yes').transport)).toBe('interrupted');
    expect(outbox.pending()).toHaveLength(1);
  });

  it('sets aside a corrupt file found at start instead of sending it', () => {
    new Outbox(dir, silentLogger);
    writeFileSync(path.join(dir, '0000000000000001.json'), '{"event":"job.result","payload":{"jobId":"nope"}}');
    const outbox = new Outbox(dir, silentLogger);
    expect(outbox.pending()).toHaveLength(0);
    expect(readdirSync(path.join(dir, 'rejected'))).toEqual(['0000000000000001.json']);
  });

  it('refuses to queue an invalid message', () => {
    const outbox = new Outbox(dir, silentLogger);
    expect(() => outbox.add('job.progress', { ...progress(JOB_A, 1), jobId: 'x' })).toThrow(/invalid job.progress/);
    expect(files()).toHaveLength(0);
  });

  it('shares one flush between concurrent callers and picks up messages added meanwhile', async () => {
    const outbox = new Outbox(dir, silentLogger);
    outbox.add('job.progress', progress(JOB_A, 1));
    const server = fakeServer();
    const first = outbox.flush(server.transport);
    outbox.add('job.progress', progress(JOB_A, 2));
    const second = outbox.flush(server.transport);
    await Promise.all([first, second]);
    expect(server.received).toEqual(['job.progress:6:1', 'job.progress:6:2']);
  });
});
