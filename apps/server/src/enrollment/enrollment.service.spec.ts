import { HostFacts } from '@sysfleet/protocol';
import type { DataSource } from 'typeorm';
import type { AuditInput, AuditService } from '../audit/audit.service';
import type { Actor } from '../auth/auth.decorators';
import { HostEntity } from '../hosts/hosts.entity';
import type { HostsRepository, NewHost } from '../hosts/hosts.repository';
import type { HostsService } from '../hosts/hosts.service';
import { tokenState } from './enrollment.dto';
import { EnrollmentTokenEntity } from './enrollment.entity';
import type { EnrollmentTokensRepository, NewToken } from './enrollment.repository';
import { EnrollmentService, hashSecret } from './enrollment.service';

const facts: HostFacts = {
  hostname: 'vm-1', fqdn: 'vm-1.lan', platform: 'linux', osName: 'Debian', osVersion: '12', kernel: '6.1', arch: 'x64', cpuModel: 'x',
  cpuCount: 1, memoryTotalBytes: 1, memoryFreeBytes: 1, disks: [], interfaces: [], agentVersion: '0.1.0',
};
const PARENT = '11111111-1111-4111-8111-111111111111';
const actor: Actor = { userId: 'u1', username: 'root', role: 'admin' };

/** Tokens in memory; consume() applies the same conditions as the SQL. */
class FakeTokens {
  rows: EnrollmentTokenEntity[] = [];
  async create(t: NewToken) {
    const row = Object.assign(new EnrollmentTokenEntity(), { ...t, id: `tok-${this.rows.length + 1}`, usedCount: 0, revokedAt: null, lastUsedAt: null, createdAt: new Date() });
    this.rows.push(row);
    return row;
  }
  async list(): Promise<[EnrollmentTokenEntity[], number]> { return [this.rows, this.rows.length]; }
  async findBySecretHash(h: string) { return this.rows.find((r) => r.secretHash === h) ?? null; }
  async consumeMany(h: string, n: number) {
    const t = this.rows.find((r) => r.secretHash === h);
    if (!t || t.usedCount >= t.uses || t.revokedAt || t.expiresAt.getTime() <= Date.now()) return null;
    const granted = Math.min(n, t.uses - t.usedCount);
    t.usedCount += granted;
    return { token: { ...t }, granted };
  }
  async giveBack(h: string, n: number) {
    const t = this.rows.find((r) => r.secretHash === h)!;
    t.usedCount -= n;
    return { ...t };
  }
}

class FakeHosts {
  rows: HostEntity[] = [];
  /** Like ON CONFLICT (fingerprint) DO NOTHING: known keys are skipped. */
  async insertMany(hs: NewHost[]) {
    const stored: HostEntity[] = [];
    for (const h of hs) if (!this.rows.some((r) => r.fingerprint === h.fingerprint)) stored.push(await this.insert(h));
    return stored;
  }
  async findByFingerprint(fp: string) { return this.rows.find((h) => h.fingerprint === fp) ?? null; }
  async existsById(id: string) { return id === PARENT; }
  async insert(h: NewHost) {
    const row = Object.assign(new HostEntity(), { ...h, id: `host-${this.rows.length + 1}`, hostname: h.facts.hostname });
    this.rows.push(row);
    return row;
  }
}

describe('EnrollmentService', () => {
  let tokens: FakeTokens;
  let hostsRepo: FakeHosts;
  let audits: AuditInput[];
  let announced: HostEntity[];
  let service: EnrollmentService;

  beforeEach(() => {
    tokens = new FakeTokens();
    hostsRepo = new FakeHosts();
    audits = [];
    announced = [];
    const dataSource = { transaction: (fn: (m: unknown) => Promise<unknown>) => fn({}) } as unknown as DataSource;
    const audit = { record: async (a: AuditInput) => void audits.push(a), recordMany: async (as: AuditInput[]) => void audits.push(...as) } as unknown as AuditService;
    const hosts = { announceEnrolled: (h: HostEntity) => announced.push(h) } as unknown as HostsService;
    service = new EnrollmentService(tokens as unknown as EnrollmentTokensRepository, hostsRepo as unknown as HostsRepository, hosts, dataSource, audit);
  });

  const enroll = (fingerprint: string, token?: string) => service.enroll({ publicKey: 'pem', fingerprint, facts, token });

  it('shows the secret once, in the sfe_ format, and stores only its SHA-256', async () => {
    const created = await service.createToken({ uses: 3, expiresInSeconds: 600, autoApprove: false }, actor);
    expect(created.secret).toMatch(/^sfe_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ state: 'active', uses: 3, usesLeft: 3, createdBy: 'root' });
    expect(tokens.rows[0].secretHash).toBe(hashSecret(created.secret));
    expect(JSON.stringify(tokens.rows[0])).not.toContain(created.secret);
    const listed = await service.listTokens(10, 0);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
  });

  it('a new key without a token is stored pending and announced, and audited as host.enroll', async () => {
    const { host, created } = await enroll('SHA256:a');
    expect(created).toBe(true);
    expect(host.status).toBe('pending');
    expect(announced.map((h) => h.id)).toEqual([host.id]);
    expect(audits).toEqual([expect.objectContaining({ action: 'host.enroll', actor: `agent:${host.id}`, outcome: 'success' })]);
  });

  it('new keys without a token arriving together are stored with one insert and no token use, a key twice stored once', async () => {
    const inserts: number[] = [];
    const insertMany = hostsRepo.insertMany.bind(hostsRepo);
    hostsRepo.insertMany = async (hs: NewHost[]) => (inserts.push(hs.length), insertMany(hs));
    const results = await Promise.all(['SHA256:a', 'SHA256:b', 'SHA256:a', 'SHA256:c'].map((fp) => enroll(fp)));
    expect(inserts).toEqual([4]);
    expect(hostsRepo.rows.map((h) => h.fingerprint)).toEqual(['SHA256:a', 'SHA256:b', 'SHA256:c']);
    expect(results.map((r) => [r.host.fingerprint, r.host.status, r.created])).toEqual([
      ['SHA256:a', 'pending', true], ['SHA256:b', 'pending', true], ['SHA256:a', 'pending', false], ['SHA256:c', 'pending', true],
    ]);
    expect(audits.map((a) => a.action)).toEqual(['host.enroll', 'host.enroll', 'host.enroll']);
    expect(tokens.rows).toHaveLength(0);
  });

  it('a known key is returned as it is, without a new host', async () => {
    const first = await enroll('SHA256:a');
    const again = await enroll('SHA256:a');
    expect(again).toEqual({ host: first.host, created: false });
    expect(hostsRepo.rows).toHaveLength(1);
  });

  it('a child token approves on arrival, links the parent, and works once only', async () => {
    const child = await service.createChildToken(PARENT, 'system');
    expect(child.expiresAt.getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
    const first = await enroll('SHA256:child', child.secret);
    expect(first.host).toMatchObject({ status: 'approved', parentHostId: PARENT, enrollmentTokenId: child.id, approvedBy: `token:${child.id}` });
    const second = await enroll('SHA256:other', child.secret);
    expect(second.host).toMatchObject({ status: 'pending', parentHostId: null, enrollmentTokenId: null });
    expect(audits.filter((a) => a.action === 'enrollment-token.use').map((a) => [a.outcome, a.details?.reason])).toEqual([['success', undefined], ['failure', 'used-up']]);
  });

  it('a child token lasts as long as asked for (a long create), never less than an hour', async () => {
    const long = await service.createChildToken(PARENT, 'system', 7200 + 3600 + 300);
    expect(long.expiresAt.getTime() - Date.now()).toBeGreaterThan((11_100 - 5) * 1000);
    expect(long.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(11_100 * 1000);
    const short = await service.createChildToken(PARENT, 'system', 60);
    expect(short.expiresAt.getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(short.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(3600 * 1000);
  });

  it('refuses a child token for an unknown parent', async () => {
    await expect(service.createChildToken('22222222-2222-4222-8222-222222222222', 'system')).rejects.toMatchObject({ code: 'ENROLLMENT_PARENT_NOT_FOUND' });
  });

  it('an expired, revoked or unknown token leaves the host pending and audits why', async () => {
    const expired = await service.createToken({ uses: 5, expiresInSeconds: 60, autoApprove: true }, actor);
    tokens.rows[0].expiresAt = new Date(Date.now() - 1000);
    const revoked = await service.createToken({ uses: 5, expiresInSeconds: 600, autoApprove: true }, actor);
    tokens.rows[1].revokedAt = new Date();
    for (const [fp, secret] of [['SHA256:1', expired.secret], ['SHA256:2', revoked.secret], ['SHA256:3', 'sfe_not-a-real-token-at-all']]) {
      expect((await enroll(fp, secret)).host.status).toBe('pending');
    }
    expect(audits.filter((a) => a.action === 'enrollment-token.use').map((a) => [a.outcome, a.details?.reason])).toEqual([
      ['failure', 'expired'], ['failure', 'revoked'], ['failure', 'unknown'],
    ]);
  });

  it('enrolments arriving together with one token are one batch: uses up to the limit, the rest pending, a key twice stored once', async () => {
    const t = await service.createToken({ uses: 2, expiresInSeconds: 600, autoApprove: true }, actor);
    const consumeMany = tokens.consumeMany.bind(tokens);
    const batches: number[] = [];
    tokens.consumeMany = async (h: string, n: number) => (batches.push(n), consumeMany(h, n));
    const results = await Promise.all(['SHA256:1', 'SHA256:2', 'SHA256:3', 'SHA256:3'].map((fp) => enroll(fp, t.secret)));
    expect(batches).toEqual([4]);
    expect(results.map((r) => [r.host.fingerprint, r.host.status, r.created])).toEqual([
      ['SHA256:1', 'approved', true], ['SHA256:2', 'approved', true], ['SHA256:3', 'pending', true], ['SHA256:3', 'pending', false],
    ]);
    expect(results[3].host.id).toBe(results[2].host.id);
    expect(tokens.rows[0].usedCount).toBe(2);
    expect(audits.filter((a) => a.action === 'enrollment-token.use').map((a) => [a.outcome, a.details?.reason ?? a.details?.usedCount])).toEqual([
      ['success', 1], ['success', 2], ['failure', 'used-up'],
    ]);
  });

  it('gives a use back when its key was already stored', async () => {
    const t = await service.createToken({ uses: 5, expiresInSeconds: 600, autoApprove: true }, actor);
    const first = await enroll('SHA256:dup');
    const again = await service.enroll({ publicKey: 'pem', fingerprint: 'SHA256:dup', facts, token: t.secret, existing: null });
    expect(again).toEqual({ host: first.host, created: false });
    expect(tokens.rows[0].usedCount).toBe(0);
  });

  it('fails every enrolment of a batch when it cannot be stored, and the next batch still runs', async () => {
    const t = await service.createToken({ uses: 5, expiresInSeconds: 600, autoApprove: true }, actor);
    const insertMany = hostsRepo.insertMany.bind(hostsRepo);
    hostsRepo.insertMany = async () => { throw new Error('database down'); };
    await expect(Promise.all([enroll('SHA256:x1', t.secret), enroll('SHA256:x2', t.secret)])).rejects.toThrow('database down');
    hostsRepo.insertMany = insertMany;
    await expect(enroll('SHA256:x3', t.secret)).resolves.toMatchObject({ created: true, host: { status: 'approved' } });
  });

  it('stores an auto-approved host of a connected agent online, a pending one offline', async () => {
    const t = await service.createToken({ uses: 1, expiresInSeconds: 600, autoApprove: true }, actor);
    expect((await service.enroll({ publicKey: 'pem', fingerprint: 'SHA256:on', facts, token: t.secret, connected: true })).host).toMatchObject({ status: 'approved', online: true });
    expect((await service.enroll({ publicKey: 'pem', fingerprint: 'SHA256:off', facts, connected: true })).host).toMatchObject({ status: 'pending', online: false });
  });

  it('skips the lookup when the caller says the key has no host yet', async () => {
    const first = await enroll('SHA256:a');
    hostsRepo.findByFingerprint = async () => { throw new Error('looked up again'); };
    await expect(service.enroll({ publicKey: 'pem', fingerprint: 'SHA256:b', facts, existing: null })).resolves.toMatchObject({ created: true });
    await expect(service.enroll({ publicKey: 'pem', fingerprint: 'SHA256:a', facts, existing: first.host })).resolves.toEqual({ host: first.host, created: false });
  });

  it('a valid token that does not auto-approve counts a use but leaves the host pending', async () => {
    const t = await service.createToken({ uses: 2, expiresInSeconds: 600, autoApprove: false }, actor);
    expect((await enroll('SHA256:x', t.secret)).host).toMatchObject({ status: 'pending', enrollmentTokenId: t.id });
    expect(tokens.rows[0].usedCount).toBe(1);
  });
});

describe('tokenState', () => {
  const base = { revokedAt: null, usedCount: 0, uses: 1, expiresAt: new Date(Date.now() + 60_000) };
  it('is revoked before used-up before expired before active', () => {
    expect(tokenState(base)).toBe('active');
    expect(tokenState({ ...base, expiresAt: new Date(Date.now() - 1) })).toBe('expired');
    expect(tokenState({ ...base, usedCount: 1, expiresAt: new Date(Date.now() - 1) })).toBe('used-up');
    expect(tokenState({ ...base, usedCount: 1, revokedAt: new Date() })).toBe('revoked');
  });
});
