import 'reflect-metadata';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { HANDSHAKE_MAX_SKEW_MS } from '@sysfleet/protocol';
import { AgentHandshakeService } from '../../apps/server/src/agent-gateway/agent-handshake.service';
import type { AuditInput, AuditService } from '../../apps/server/src/audit/audit.service';
import type { UiEvents } from '../../apps/server/src/ui-gateway/ui-events.service';
import { AuthService } from '../../apps/server/src/auth/auth.service';
import type { SessionsService, StartedSession } from '../../apps/server/src/auth/sessions.service';
import { EnvironmentVariables } from '../../apps/server/src/config/config';
import { AUTO_PIPELINE, closeRedis } from '../../apps/server/src/database/redis';
import { redisOptionsFromUrl } from '../../apps/server/src/database/redis-options';
import type { HostsService } from '../../apps/server/src/hosts/hosts.service';
import { JOBS_QUEUE } from '../../apps/server/src/jobs/jobs.service';
import type { UserEntity } from '../../apps/server/src/users/users.entity';
import type { UsersService } from '../../apps/server/src/users/users.service';
import { TEST_REDIS_URL, uniqueRedisPrefix } from '../support/db';
import { FakeAgent } from '../support/fake-agent';
import { waitFor } from '../support/ports';

/** The server's Redis uses: login failure counters, single-use handshake nonces, the BullMQ jobs queue. */
describe('Redis: login limits, handshake nonces, the jobs queue', () => {
  const prefix = uniqueRedisPrefix('redis');
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });

  afterAll(async () => {
    const left = await redis.keys(`${prefix}:*`);
    if (left.length) await redis.del(...left);
    await redis.quit();
  });

  describe('login rate limiter (AuthService)', () => {
    const WINDOW_SECONDS = 2;
    const config = Object.assign(new EnvironmentVariables(), {
      REDIS_PREFIX: prefix, LOGIN_MAX_FAILURES_PER_USER: 3, LOGIN_MAX_FAILURES_PER_IP: 20, LOGIN_FAILURE_WINDOW_SECONDS: WINDOW_SECONDS,
    });
    const alice = { id: 'u1', username: 'alice', role: 'operator', disabled: false } as UserEntity;
    const users = {
      verifyCredentials: async (username: string, password: string) => (username.toLowerCase() === 'alice' && password === 'right-password' ? alice : null),
      recordLogin: async () => undefined,
    } as unknown as UsersService;
    const session: StartedSession = { sessionId: 's1', token: 'tok', csrfToken: 'csrf', expiresAt: new Date() };
    const sessions = { start: async () => session } as unknown as SessionsService;
    // Two replicas of the server: each has its own client, both share the counters in Redis.
    const clients: Redis[] = [];
    const replica = () => {
      const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
      clients.push(client);
      return new AuthService(users, sessions, config, client, { closeSession: () => undefined } as unknown as UiEvents);
    };
    const userKey = (name: string) => `${prefix}:login-failures:user:${name}`;
    const ipKey = (ip: string) => `${prefix}:login-failures:ip:${ip}`;
    const from = (ip: string) => ({ sourceIp: ip, userAgent: 'jest' });

    afterAll(async () => {
      for (const c of clients) await c.quit();
    });

    it('counts failures per username and per IP in Redis, each with the window as its expiry', async () => {
      const auth = replica();
      await expect(auth.login('Alice', 'nope', from('10.0.0.1'))).rejects.toMatchObject({ code: 'AUTH_INVALID_CREDENTIALS' });
      expect((await redis.keys(`${prefix}:login-failures:*`)).sort()).toEqual([ipKey('10.0.0.1'), userKey('alice')]);
      expect(await redis.mget(userKey('alice'), ipKey('10.0.0.1'))).toEqual(['1', '1']);
      for (const key of [userKey('alice'), ipKey('10.0.0.1')]) {
        const ttl = await redis.ttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(WINDOW_SECONDS);
      }
      // The right password forgives the username, not the address.
      await expect(auth.login('alice', 'right-password', from('10.0.0.1'))).resolves.toMatchObject({ user: { id: 'u1' } });
      expect(await redis.exists(userKey('alice'))).toBe(0);
      expect(await redis.get(ipKey('10.0.0.1'))).toBe('1');
      await redis.del(ipKey('10.0.0.1'));
    });

    it('adds up concurrent failures on two replicas, refuses the username on both, and lets it in again once the window has passed', async () => {
      const [a, b] = [replica(), replica()];
      const attempts = [a, b, a].map((auth, i) => auth.login('alice', `guess-${i}`, from(`10.0.1.${i}`)));
      for (const r of await Promise.allSettled(attempts)) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_INVALID_CREDENTIALS' } });
      expect(await redis.get(userKey('alice'))).toBe('3');

      for (const auth of [a, b]) {
        const err = await auth.login('alice', 'right-password', from('10.0.9.9')).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'AUTH_RATE_LIMITED', status: 429 });
        const { retryAfterSeconds } = (err as { details: { retryAfterSeconds: number } }).details;
        expect(retryAfterSeconds).toBeGreaterThan(0);
        expect(retryAfterSeconds).toBeLessThanOrEqual(WINDOW_SECONDS);
      }
      // A refused attempt does not count: the counter stays at the limit.
      expect(await redis.get(userKey('alice'))).toBe('3');

      await waitFor('the failure window to pass', async () => (await redis.exists(userKey('alice'))) === 0, (WINDOW_SECONDS + 2) * 1000);
      await expect(b.login('alice', 'right-password', from('10.0.9.9'))).resolves.toMatchObject({ user: { id: 'u1' } });
    });
  });

  describe('handshake nonce store (AgentHandshakeService)', () => {
    const config = Object.assign(new EnvironmentVariables(), { REDIS_PREFIX: prefix });
    const hosts = { findById: async () => null, findByFingerprint: async () => null } as unknown as HostsService;
    const audits: AuditInput[] = [];
    const audit = { record: async (a: AuditInput) => void audits.push(a) } as unknown as AuditService;
    const clients: Redis[] = [];
    const replica = () => {
      const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
      clients.push(client);
      return new AgentHandshakeService(hosts, client, config, audit);
    };

    afterAll(async () => {
      for (const c of clients) await c.quit();
    });

    it('accepts a handshake once; a replay is refused on any replica; the nonce is kept for twice the clock skew allowed', async () => {
      const [a, b] = [replica(), replica()];
      const agent = new FakeAgent('http://127.0.0.1:1');
      const auth = agent.handshake();
      expect(await a.verify(auth, '10.0.0.5')).toMatchObject({ ok: true, identity: { fingerprint: agent.fingerprint } });

      const nonceKey = `${prefix}:agent-nonce:${agent.fingerprint}:${auth.nonce}`;
      expect(await redis.exists(nonceKey)).toBe(1);
      const pttl = await redis.pttl(nonceKey);
      expect(pttl).toBeGreaterThan(2 * HANDSHAKE_MAX_SKEW_MS - 10_000);
      expect(pttl).toBeLessThanOrEqual(2 * HANDSHAKE_MAX_SKEW_MS);

      for (const service of [a, b]) expect(await service.verify(auth, '10.0.0.6')).toMatchObject({ ok: false, code: 'NONCE_REUSED' });
      expect(audits.map((e) => [e.action, e.outcome, e.details?.code])).toEqual([
        ['agent.handshake', 'failure', 'NONCE_REUSED'],
        ['agent.handshake', 'failure', 'NONCE_REUSED'],
      ]);
      // A new handshake of the same agent has a new nonce and gets in.
      expect(await b.verify(agent.handshake(), '10.0.0.5')).toMatchObject({ ok: true });
    });

    it('keeps nonces per key: another agent may use the same nonce', async () => {
      const service = replica();
      const nonce = 'shared-nonce-0123456789';
      const first = new FakeAgent('http://127.0.0.1:1');
      const second = new FakeAgent('http://127.0.0.1:1');
      expect(await service.verify(first.handshake({ nonce }), null)).toMatchObject({ ok: true });
      expect(await service.verify(second.handshake({ nonce }), null)).toMatchObject({ ok: true });
      expect(await service.verify(first.handshake({ nonce }), null)).toMatchObject({ ok: false, code: 'NONCE_REUSED' });
    });
  });

  describe('jobs queue (BullMQ)', () => {
    // As the server's JobsModule and JobsService set it up: the deployment's prefix, one delivery job per job id.
    let queue: Queue;
    const jobId = '44444444-4444-4444-8444-444444444444';
    const deliver = (delay: number) => queue.add('deliver', { jobId }, { jobId, delay, removeOnComplete: true, removeOnFail: 1000, attempts: 1000 });

    beforeAll(() => {
      queue = new Queue(JOBS_QUEUE, { connection: redisOptionsFromUrl(TEST_REDIS_URL), prefix: `${prefix}:bull` });
    });

    afterAll(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });

    it('keeps one delivery job when the same job id is added twice; the second add changes nothing', async () => {
      const first = await deliver(60_000);
      const second = await deliver(0);
      expect(second.id).toBe(first.id);
      expect(await queue.getJobCounts('delayed', 'wait', 'active')).toEqual({ delayed: 1, wait: 0, active: 0 });
      const job = await queue.getJob(jobId);
      expect(job?.data).toEqual({ jobId });
      expect(job?.delay).toBe(60_000);
      expect(await job?.getState()).toBe('delayed');
      // Under the deployment's prefix, so deployments and test runs sharing one Redis do not see each other's queue.
      expect(await redis.exists(`${prefix}:bull:${JOBS_QUEUE}:${jobId}`)).toBe(1);
    });
  });
  it('closeRedis sends what an auto-pipelining client was given in the same turn before it closes', async () => {
    const key = `${prefix}:close`;
    const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null, ...AUTO_PIPELINE });
    await client.ping();
    // Issued and not awaited, as socket.io's adapter publishes; a bare QUIT overtakes it.
    const set = client.set(key, 'sent');
    await closeRedis(client);
    await expect(set).resolves.toBe('OK');
    expect(await redis.get(key)).toBe('sent');
  });
});
