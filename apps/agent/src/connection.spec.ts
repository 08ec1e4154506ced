import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostFacts } from '@sysfleet/protocol';
import { AgentConnection, ConnectionOptions } from './connection';
import { Identity, StateStore } from './identity';
import { silentLogger } from './log';
import { FakeServer, startFakeServer, until } from './testing/fake-server';

const HOST_ID = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const TOKEN = 'enrol-token-0123456789';
const facts: HostFacts = {
  hostname: 'h', fqdn: 'h', platform: 'linux', osName: 'Debian', osVersion: '12', kernel: '6.1', arch: 'x64', cpuModel: 'c', cpuCount: 1,
  memoryTotalBytes: 10, memoryFreeBytes: 5, disks: [], interfaces: [], agentVersion: '0.0.0-dev',
};

describe('AgentConnection against a socket.io server', () => {
  let server: FakeServer;
  let dir: string;
  let connection: AgentConnection | undefined;
  let ready: number;
  const commands: unknown[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sfa-conn-'));
    ready = 0;
    server = await startFakeServer();
  });

  afterEach(async () => {
    connection?.stop();
    connection = undefined;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function connect(overrides: Partial<ConnectionOptions> = {}) {
    connection = new AgentConnection({
      server: server.url,
      identity: Identity.loadOrCreate(dir),
      stateStore: new StateStore(dir),
      enrollmentToken: TOKEN,
      log: silentLogger,
      collectFacts: async () => facts,
      onCommand: (raw) => {
        commands.push(raw);
        return { state: 'accepted' };
      },
      onCancel: () => ({ state: 'refused', reason: 'unknown job' }),
      onReady: () => ready++,
      backoff: { initialMs: 10, maxMs: 50, factor: 2, jitter: 0.5 },
      ackTimeoutMs: 2_000,
      ...overrides,
    });
    connection.start();
    return connection;
  }

  it('enrols with a signed handshake, facts and token, then follows its status to approved', async () => {
    const c = connect();
    await until('hello', () => server.hellos.length === 1);
    expect(server.handshakes[0].hostId).toBeUndefined();
    expect(server.hellos[0]).toMatchObject({ enrollmentToken: TOKEN, facts: { hostname: 'h' } });
    await until('pending state', () => c.status === 'pending');
    expect(new StateStore(dir).load()).toEqual({ hostId: HOST_ID, status: 'pending' });
    expect(ready).toBe(0);

    server.sockets[0].emit('host.status', { hostId: HOST_ID, status: 'approved' });
    await until('approved', () => c.isReady());
    expect(ready).toBe(1);
    expect(new StateStore(dir).load()).toEqual({ hostId: HOST_ID, status: 'approved' });

    // an invalid message from the server is dropped, not applied
    server.sockets[0].emit('host.status', { hostId: HOST_ID, status: 'owner' });
    // a server-side disconnect is followed by a reconnect that signs with the host id and sends no token
    server.helloAnswer = () => ({ hostId: HOST_ID, status: 'approved' });
    server.sockets[0].disconnect(true);
    await until('second hello', () => server.hellos.length === 2);
    expect(server.handshakes[1].hostId).toBe(HOST_ID);
    expect(server.handshakes[1].nonce).not.toBe(server.handshakes[0].nonce);
    expect(server.hellos[1].enrollmentToken).toBeUndefined();
    await until('ready again', () => ready === 2);
  });

  it('answers job.command through the runner callback and validates acks of its own messages', async () => {
    server.helloAnswer = () => ({ hostId: HOST_ID, status: 'approved' });
    const c = connect();
    await until('ready', () => c.isReady());
    const ack = await server.sockets[0].timeout(2000).emitWithAck('job.command', { jobId: HOST_ID });
    expect(ack).toEqual({ state: 'accepted' });
    expect(commands).toEqual([{ jobId: HOST_ID }]);
    expect(await server.sockets[0].timeout(2000).emitWithAck('job.cancel', { jobId: HOST_ID })).toEqual({ state: 'refused', reason: 'unknown job' });

    server.sockets[0].on('agent.facts', (_p: unknown, cb: (r: unknown) => void) => cb({ ok: true }));
    expect(await c.sendFacts(facts)).toBe(true);
    server.sockets[0].removeAllListeners('agent.facts');
    server.sockets[0].on('agent.facts', (_p: unknown, cb: (r: unknown) => void) => cb({ ok: false, error: 'facts.cpuCount: bad' }));
    expect(await c.sendFacts(facts)).toBe(false);
  });

  it('retries with a fresh signature after the server refuses the handshake', async () => {
    let refusals = 2;
    server.refuse = () => (refusals-- > 0 ? { message: 'nonce already used', code: 'NONCE_REUSED' } : undefined);
    connect();
    await until('hello after refusals', () => server.hellos.length === 1);
    expect(server.handshakes).toHaveLength(3);
    expect(new Set(server.handshakes.map((h) => h.nonce)).size).toBe(3);
  });

  it('comes back at the short backoff, warning not erring, from a stopping server that refuses the handshake or drops the hello', async () => {
    const logged: { level: string; msg: string }[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (msg: string) => void logged.push({ level: 'warn', msg }), error: (msg: string) => void logged.push({ level: 'error', msg }) };
    let unavailable = 1;
    server.refuse = () => (unavailable-- > 0 ? { message: 'the server is shutting down; try again later', code: 'SERVER_UNAVAILABLE' } : undefined);
    let drops = 1;
    server.helloAnswer = () => (drops-- > 0 ? undefined : { hostId: HOST_ID, status: 'approved' });
    // A capped (slow) retry would take a minute here: only the short backoff gets through in time.
    const c = connect({ log, backoff: { initialMs: 10, maxMs: 60_000, factor: 2, jitter: 0 } });
    await until('ready after a refused handshake and a dropped hello', () => c.isReady());
    expect(server.handshakes).toHaveLength(3);
    expect(server.hellos).toHaveLength(2);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(logged.map((l) => l.msg)).toEqual(expect.arrayContaining(['cannot connect', 'disconnected']));
  });

  it('forgets an unknown host id and enrols again as a new host', async () => {
    new StateStore(dir).save({ hostId: HOST_ID, status: 'approved' });
    server.refuse = (auth) => (auth.hostId ? { message: 'this host is not known', code: 'HOST_UNKNOWN' } : undefined);
    const newId = '9f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
    server.helloAnswer = () => ({ hostId: newId, status: 'pending' });
    const c = connect();
    await until('re-enrolment hello', () => server.hellos.length === 1);
    expect(server.handshakes.map((h) => h.hostId)).toEqual([HOST_ID, undefined]);
    expect(server.hellos[0].enrollmentToken).toBe(TOKEN);
    await until('new host id', () => c.hostId === newId);
  });

  it('keeps retrying a revoked host at the slow cap, without a busy loop', async () => {
    server.refuse = () => ({ message: 'host revoked by admin', code: 'HOST_REVOKED' });
    const c = connect({ backoff: { initialMs: 10, maxMs: 200, factor: 2, jitter: 0 } });
    await until('two attempts', () => server.handshakes.length >= 2);
    const seen = server.handshakes.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.handshakes.length).toBeLessThanOrEqual(seen + 1);
    expect(c.status).toBe('revoked');
    // re-approved: the next attempt goes through
    server.refuse = () => undefined;
    server.helloAnswer = () => ({ hostId: HOST_ID, status: 'approved' });
    await until('approved again', () => c.isReady());
  });
});
