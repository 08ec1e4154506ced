import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobProgressPayload, JobResultPayload, parsePayload } from '@sysfleet/protocol';
import { RunningAgent, startAgent } from './agent';
import type { AgentConfig } from './config';
import { silentLogger } from './log';
import { FakeServer, startFakeServer, until } from './testing/fake-server';

const HOST_ID = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const JOB = '11111111-2222-4333-8444-555555555555';

describe('agent (wired together) against a socket.io server', () => {
  let server: FakeServer;
  let dir: string;
  let agent: RunningAgent | undefined;
  let received: string[];
  let ackResults: boolean;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sfa-agent-'));
    received = [];
    ackResults = true;
    server = await startFakeServer();
    server.helloAnswer = () => ({ hostId: HOST_ID, status: 'approved' });
    server.io.of('/agent').on('connection', (socket) => {
      socket.on('job.progress', (p: unknown, ack: (r: unknown) => void) => {
        const v = parsePayload(JobProgressPayload, p);
        received.push(v.ok ? `progress:${v.value.seq}:${v.value.step}` : `invalid:${v.error}`);
        ack({ ok: true });
      });
      socket.on('job.result', (p: unknown, ack: (r: unknown) => void) => {
        const v = parsePayload(JobResultPayload, p);
        received.push(v.ok ? `result:${v.value.status}:${Object.keys(v.value.result ?? {}).join(',')}` : `invalid:${v.error}`);
        if (ackResults) ack({ ok: true });
      });
      socket.on('agent.facts', (_p: unknown, ack: (r: unknown) => void) => {
        received.push('facts');
        ack({ ok: true });
      });
    });
  });

  afterEach(async () => {
    agent?.stop();
    agent = undefined;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = (): AgentConfig => ({ server: server.url, stateDir: dir, logLevel: 'error', maxConcurrentJobs: 4 });
  const outboxFiles = () => readdirSync(path.join(dir, 'outbox')).filter((n) => n.endsWith('.json'));
  const sendInventoryRefresh = () => server.sockets.at(-1)!.timeout(5000).emitWithAck('job.command', { jobId: JOB, type: 'inventory.refresh', params: {}, deadline: '2099-01-01T00:00:00.000Z' });

  it('runs inventory.refresh: accepted, progress steps, facts report, one result; nothing left in the outbox', async () => {
    agent = startAgent(config(), silentLogger);
    await until('hello', () => server.hellos.length === 1);
    expect(await sendInventoryRefresh()).toEqual({ state: 'accepted' });
    await until('result', () => received.some((r) => r.startsWith('result')));
    expect(received.filter((r) => r !== 'facts')).toEqual(['progress:1:collect', 'progress:2:report', 'result:succeeded:facts']);
    expect(received).toContain('facts');
    await until('outbox drained', () => outboxFiles().length === 0);
    expect(await sendInventoryRefresh()).toEqual({ state: 'duplicate' });
  });

  it('keeps an unacknowledged result across a restart and resends it on reconnect', async () => {
    ackResults = false;
    agent = startAgent(config(), silentLogger);
    await until('hello', () => server.hellos.length === 1);
    await sendInventoryRefresh();
    await until('result sent', () => received.some((r) => r.startsWith('result')));
    agent.stop();
    expect(outboxFiles()).toHaveLength(1);

    ackResults = true;
    received = [];
    agent = startAgent(config(), silentLogger);
    await until('result resent', () => received.includes('result:succeeded:facts'));
    await until('outbox drained', () => outboxFiles().length === 0);
    expect(received.filter((r) => r.startsWith('progress'))).toEqual([]);
  });

  it('refuses a second agent on the same state dir', () => {
    agent = startAgent(config(), silentLogger);
    expect(() => startAgent(config(), silentLogger)).toThrow(/another agent \(pid \d+\) is running/);
  });
});
