import { ChildListResult, Command, HostFacts, SHA512_CRYPT_PATTERN } from '@sysfleet/protocol';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { AgentChannel } from '../agent-gateway/agent-channel.service';
import type { Actor } from '../auth/auth.decorators';
import { AppError } from '../common/errors';
import { EnvironmentVariables } from '../config/config';
import type { DistributionEntity } from '../distributions/distributions.entity';
import { DistributionErrors } from '../distributions/distributions.errors';
import type { DistributionsService } from '../distributions/distributions.service';
import type { EnrollmentService } from '../enrollment/enrollment.service';
import type { HostEntity } from '../hosts/hosts.entity';
import type { HostsService } from '../hosts/hosts.service';
import { JobTypeDefinition, JobTypes } from '../jobs/job-types';
import type { JobEntity } from '../jobs/jobs.entity';
import type { CreateJobInput, JobsService } from '../jobs/jobs.service';
import { SshKeysService } from '../ssh-keys/ssh-keys.service';
import type { SshKeysRepository } from '../ssh-keys/ssh-keys.repository';
import type { SecretBox } from '../common/secret-box';
import type { CreateChildDto } from './child-hosts.dto';
import type { ChildHostEntity } from './child-hosts.entity';
import type { ChildHostsRepository, Claimed, NewChild } from './child-hosts.repository';
import { ChildHostsService, freeDiskBytes } from './child-hosts.service';
import { sha512Crypt } from './sha512-crypt';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const actor: Actor = { userId: 'u1', username: 'alice', role: 'operator' };
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';
const PASSWORD = 'correct horse battery staple';

function facts(memFreeMb: number, diskFreeGb: number): HostFacts {
  return {
    hostname: 'hv1', fqdn: 'hv1', platform: 'linux', osName: 'Debian', osVersion: '12', kernel: '6', arch: 'x64', cpuModel: 'x', cpuCount: 8,
    memoryTotalBytes: 64 * GIB, memoryFreeBytes: memFreeMb * MIB,
    disks: [{ mount: '/', sizeBytes: 50 * GIB, freeBytes: 5 * GIB }, { mount: '/var/lib/libvirt', sizeBytes: 40 * GIB, freeBytes: diskFreeGb * GIB }],
    interfaces: [], agentVersion: '0.1.0',
  };
}

function setup(opts: { host?: Partial<HostEntity> | null; distribution?: Partial<DistributionEntity> | null; existing?: Partial<ChildHostEntity>; claimed?: Claimed; bundle?: boolean } = {}) {
  const host = opts.host === null ? null : ({ id: 'h1', hostname: 'hv1', status: 'approved', roles: ['kvm_host'], facts: facts(16384, 200), ...opts.host } as HostEntity);
  const distribution = opts.distribution === null ? null : ({
    id: 'd1', childType: 'kvm', name: 'ubuntu', version: '24.04', displayName: 'Ubuntu 24.04', installIdentifier: 'ubuntu24.04',
    imageUrl: 'https://cloud-images.ubuntu.com/x.img', sha256: null, checksumUrl: 'https://cloud-images.ubuntu.com/SHA256SUMS', defaultVcpus: 2,
    defaultMemoryMb: 2048, defaultDiskGb: 20, appliance: false, enabled: true, notes: null,
    installCommands: ["curl -fsSL '{{serverUrl}}/agent/sysfleet-agent.cjs' -o /a.cjs", "echo '{{agentSha256}}  /a.cjs' | sha256sum -c -", "printf '%s' '{{enrollmentToken}}' > /t", 'hostname {{hostname}} # {{username}}'],
    ...opts.distribution,
  } as DistributionEntity);
  const inserted: NewChild[] = [];
  const repo = {
    settleFailedJobs: jest.fn(async () => undefined),
    linkEnrolled: jest.fn(async () => undefined),
    findByName: jest.fn(async () => (opts.existing ? ({ id: 'c0', state: 'running', createJobId: null, ...opts.existing } as ChildHostEntity) : null)),
    insertCreating: jest.fn(async (c: NewChild, check: (claimed: Claimed) => void) => {
      check(opts.claimed ?? { memoryMb: 0, diskGb: 0 });
      inserted.push(c);
      return { id: 'c1', ...c, state: 'creating' } as ChildHostEntity;
    }),
    claimedByCreates: jest.fn(async () => opts.claimed ?? { memoryMb: 0, diskGb: 0 }),
    setCreateRefs: jest.fn(async () => undefined),
    deleteById: jest.fn(async () => undefined),
    reconcile: jest.fn(async () => ({ added: 0, gone: 0 })),
    applyReported: jest.fn(async () => undefined),
    deleteByName: jest.fn(async () => ({ childHostId: 'child-host-1' })),
    findForHost: jest.fn(),
    markDeleting: jest.fn(async () => true),
    setDeleteJob: jest.fn(async () => undefined),
    restoreState: jest.fn(async () => undefined),
  };
  const jobInputs: CreateJobInput[] = [];
  const jobs = {
    create: jest.fn(async (input: CreateJobInput) => {
      jobInputs.push(input);
      return { job: { id: `job-${jobInputs.length}`, hostId: input.hostId, type: input.type, params: input.params } as JobEntity, created: true };
    }),
    search: jest.fn(async () => ({ items: [], total: 0 })),
    getWithEvents: jest.fn(),
  };
  const enrollment = { createChildToken: jest.fn(async () => ({ id: 'tok1', secret: `sfe_${'s'.repeat(43)}`, expiresAt: new Date() })), revokeToken: jest.fn(async () => ({})) };
  const hosts = { findById: jest.fn(async () => host), remove: jest.fn(async () => undefined) };
  const distributions = { get: jest.fn(async () => { if (!distribution) throw DistributionErrors.NOT_FOUND(); return distribution; }) };
  const sshKeys = new SshKeysService({ findByIds: jest.fn(async () => []) } as unknown as SshKeysRepository, {} as SecretBox);
  const types = new JobTypes();
  const channel = { onAgentReady: jest.fn() };
  const dir = mkdtempSync(path.join(tmpdir(), 'sf-bundle-'));
  const bundlePath = path.join(dir, 'sysfleet-agent.cjs');
  writeFileSync(bundlePath, 'console.log("agent")');
  const config = Object.assign(new EnvironmentVariables(), { PUBLIC_URL: 'https://fleet.example/', AGENT_BUNDLE: opts.bundle === false ? path.join(dir, 'missing.cjs') : bundlePath });
  const service = new ChildHostsService(
    repo as unknown as ChildHostsRepository, hosts as unknown as HostsService, distributions as unknown as DistributionsService, sshKeys,
    enrollment as unknown as EnrollmentService, jobs as unknown as JobsService, types, channel as unknown as AgentChannel, config,
  );
  service.onModuleInit();
  return { service, repo, jobs, jobInputs, enrollment, hosts, types, inserted, channel, bundleSha: createHash('sha256').update('console.log("agent")').digest('hex') };
}

const dto = (over: Partial<CreateChildDto> = {}): CreateChildDto => ({
  childType: 'kvm', distributionId: 'd1', name: 'web1', hostname: 'web1.lab', vcpus: 2, memoryMb: 2048, diskGb: 20, username: 'ops', ...over,
});

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('ChildHostsService.create refuses before anything is made', () => {
  const cases: [string, Parameters<typeof setup>[0], Partial<CreateChildDto>, string, RegExp][] = [
    ['the host is missing', { host: null }, {}, 'HOST_NOT_FOUND', /not found/],
    ['the host is pending', { host: { status: 'pending' } }, {}, 'CHILD_HOST_NOT_APPROVED', /pending, not approved/],
    ['the host lacks the role', { host: { roles: ['vmm_host'] } }, {}, 'CHILD_ROLE_MISSING', /no initialised kvm hypervisor \(role kvm_host\)/],
    ['the distribution is missing', { distribution: null }, {}, 'CHILD_DISTRIBUTION_NOT_FOUND', /not found/],
    ['the distribution is disabled', { distribution: { enabled: false } }, {}, 'CHILD_DISTRIBUTION_DISABLED', /disabled/],
    ['the distribution is of another type', { distribution: { childType: 'wsl' } }, {}, 'CHILD_DISTRIBUTION_MISMATCH', /for wsl, not kvm/],
    ['the image cannot be verified', { distribution: { sha256: null, checksumUrl: null } }, {}, 'CHILD_DISTRIBUTION_UNVERIFIABLE', /cannot be verified/],
    ['the name is taken', { existing: { state: 'stopped' } }, {}, 'CHILD_NAME_TAKEN', /already has a child VM named "web1" \(stopped\)/],
    ['memory would dip under the reserve', { host: { facts: facts(3000, 200) } }, {}, 'CHILD_INSUFFICIENT_MEMORY', /3000 MB of memory free; a VM of 2048 MB would leave 952 MB, below the reserve of 1024 MB/],
    ['creates under way claimed the memory', { host: { facts: facts(8192, 200) }, claimed: { memoryMb: 6000, diskGb: 0 } }, {}, 'CHILD_INSUFFICIENT_MEMORY', /after 6000 MB claimed by creates under way/],
    ['disk would dip under the reserve', { host: { facts: facts(16384, 25) } }, {}, 'CHILD_INSUFFICIENT_DISK', /25 GB of disk free; a 20 GB disk would leave 5 GB, below the reserve of 10 GB/],
    ['creates under way claimed the disk', { claimed: { memoryMb: 0, diskGb: 175 } }, {}, 'CHILD_INSUFFICIENT_DISK', /after 175 GB claimed/],
    ['a public key is malformed', {}, { sshPublicKeys: ['ssh-ed25519 AAAAnotakey'] }, 'SSH_KEY_INVALID', /^sshPublicKeys\.0: the public key is not valid/],
    ['the host has no facts', { host: { facts: {} as HostFacts } }, {}, 'CHILD_NO_FACTS', /refresh its inventory/],
    ['the agent bundle is missing', { bundle: false }, {}, 'CHILD_AGENT_BUNDLE_MISSING', /missing/],
  ];
  it.each(cases)('when %s', async (_what, opts, over, code, message) => {
    const t = setup(opts);
    const e = await refusal(t.service.create('h1', dto(over), actor));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(t.jobs.create).not.toHaveBeenCalled();
    expect(t.enrollment.createChildToken).not.toHaveBeenCalled();
    expect(t.inserted).toHaveLength(0);
  });

  it('leaves no row and no usable token when the job cannot be made', async () => {
    const t = setup();
    t.jobs.create.mockRejectedValueOnce(new Error('redis down'));
    await expect(t.service.create('h1', dto(), actor)).rejects.toThrow('redis down');
    expect(t.repo.deleteById).toHaveBeenCalledWith('c1');
    expect(t.enrollment.revokeToken).toHaveBeenCalledWith('tok1');
  });
});

describe('ChildHostsService.create', () => {
  it('queues child.create with final commands and keeps every secret out of the visible params', async () => {
    const t = setup();
    const { job } = await t.service.create('h1', dto({ password: PASSWORD, sshPublicKeys: [ED25519], keepOnFailure: true }), actor, 'key-1');
    expect(job.id).toBe('job-1');
    const input = t.jobInputs[0];
    expect(input).toMatchObject({ hostId: 'h1', type: Command.ChildCreate, idempotencyKey: 'key-1' });
    expect(t.types.get(Command.ChildCreate)!.serialKey!('h1', input.params)).toBe('child:h1:web1');
    const visible = JSON.stringify(input.params);
    expect(visible).not.toContain(PASSWORD);
    expect(visible).not.toContain('$6$');
    expect(visible).not.toContain('sfe_');
    expect(input.params).toMatchObject({ name: 'web1', keepOnFailure: true, sshPublicKeys: [ED25519], distribution: { checksumUrl: 'https://cloud-images.ubuntu.com/SHA256SUMS' } });
    const secret = input.secretParams as { passwordHash: string; agentInstall: Record<string, string>; distribution: { installCommands: string[] } };
    expect(JSON.stringify(secret)).not.toContain(PASSWORD);
    expect(secret.passwordHash).toMatch(SHA512_CRYPT_PATTERN);
    const salt = secret.passwordHash.split('$')[2];
    expect(sha512Crypt(PASSWORD, salt)).toBe(secret.passwordHash);
    expect(secret.agentInstall).toEqual({ serverUrl: 'https://fleet.example', enrollmentToken: `sfe_${'s'.repeat(43)}`, agentSha256: t.bundleSha });
    expect(secret.distribution.installCommands).toEqual([
      "curl -fsSL 'https://fleet.example/agent/sysfleet-agent.cjs' -o /a.cjs",
      `echo '${t.bundleSha}  /a.cjs' | sha256sum -c -`,
      `printf '%s' 'sfe_${'s'.repeat(43)}' > /t`,
      'hostname web1.lab # ops',
    ]);
    expect(t.enrollment.createChildToken).toHaveBeenCalledWith('h1', 'alice', 3600 + 3600 + 300);
    expect(t.repo.setCreateRefs).toHaveBeenCalledWith('c1', { enrollmentTokenId: 'tok1', createJobId: 'job-1' });
  });

  it('mints the child token to outlive the create job: its deadline (JOB_DEADLINES too) plus its run limit', async () => {
    const t = setup();
    t.types.setDeadlineOverrides({ 'child.create': 7200 });
    const tokenMintedAt = Date.now();
    await t.service.create('h1', dto(), actor);
    const [, , seconds] = t.enrollment.createChildToken.mock.calls[0] as unknown as [string, string, number];
    const def = t.types.get(Command.ChildCreate)!;
    // The job is made after the token: its latest end is its deadline (from when it is made) plus its run limit.
    const jobLatestEnd = Date.now() + t.types.deadlineSeconds(def) * 1000 + def.maxRunSeconds * 1000;
    expect(t.types.deadlineSeconds(def)).toBe(7200);
    expect(tokenMintedAt + seconds * 1000).toBeGreaterThanOrEqual(jobLatestEnd);
  });

  it('imports an appliance without a token or commands', async () => {
    const t = setup({ distribution: { appliance: true, installCommands: [], sha256: 'a'.repeat(64), checksumUrl: null } });
    await t.service.create('h1', dto(), actor);
    expect(t.enrollment.createChildToken).not.toHaveBeenCalled();
    expect(t.jobInputs[0].secretParams).toEqual({ agentInstall: null });
  });

  it('passes a uefi distribution\'s firmware to the agent, and sends none for bios', async () => {
    const uefi = setup({ distribution: { appliance: true, installCommands: [], sha256: 'a'.repeat(64), checksumUrl: null, firmware: 'uefi' } });
    await uefi.service.create('h1', dto(), actor);
    expect(uefi.jobInputs[0].params).toMatchObject({ firmware: 'uefi', distribution: { appliance: true } });
    const bios = setup({ distribution: { firmware: 'bios' } });
    await bios.service.create('h1', dto(), actor);
    expect(bios.jobInputs[0].params).not.toHaveProperty('firmware');
  });

  it('returns the same job for a repeated Idempotency-Key instead of refusing the name', async () => {
    const t = setup({ existing: { state: 'creating', createJobId: 'job-9' } });
    const job = { id: 'job-9', idempotencyKey: 'k', createdBy: 'alice' } as JobEntity;
    t.jobs.getWithEvents.mockResolvedValue({ job, events: [] });
    await expect(t.service.create('h1', dto(), actor, 'k')).resolves.toEqual({ job, created: false });
    expect(t.jobs.create).not.toHaveBeenCalled();
  });
});

describe('ChildHostsService job results and reconciliation', () => {
  const job = (type: string, params: Record<string, unknown>) => ({ id: 'j', hostId: 'h1', type, params } as JobEntity);
  const handler = (t: ReturnType<typeof setup>, type: string) => t.types.get(type) as JobTypeDefinition<object>;

  it('reconciles a child.list report for the types it covers', async () => {
    const t = setup();
    const report: ChildListResult = { types: ['kvm'], children: [{ name: 'by-hand', childType: 'kvm', state: 'running' }] };
    await handler(t, Command.ChildList).onSucceeded!(job(Command.ChildList, {}), report);
    expect(t.repo.reconcile).toHaveBeenCalledWith('h1', ['kvm'], report.children);
  });

  it('marks a created child running and reconciles the list the result carries', async () => {
    const t = setup();
    const children = [{ name: 'web1', childType: 'kvm' as const, state: 'running' as const, ip: '10.0.0.5' }];
    await handler(t, Command.ChildCreate).onSucceeded!(job(Command.ChildCreate, { name: 'web1', childType: 'kvm' }), { child: children[0], agentInstalled: true, children });
    expect(t.repo.applyReported).toHaveBeenCalledWith('h1', expect.objectContaining({ name: 'web1', state: 'running', ip: '10.0.0.5' }));
    expect(t.repo.reconcile).toHaveBeenCalledWith('h1', ['kvm'], children);
    expect(t.jobs.create).not.toHaveBeenCalled();
  });

  it('asks for a child.list after an action whose result carries no list', async () => {
    const t = setup();
    await handler(t, Command.ChildStop).onSucceeded!(job(Command.ChildStop, { name: 'web1', childType: 'kvm', force: true }), { child: { name: 'web1', childType: 'kvm', state: 'stopped' } });
    await new Promise((r) => setImmediate(r));
    expect(t.repo.applyReported).toHaveBeenCalledWith('h1', expect.objectContaining({ state: 'stopped' }));
    expect(t.jobInputs.map((j) => j.type)).toEqual([Command.ChildList]);
  });

  it('forgets a deleted child and removes its own host record', async () => {
    const t = setup();
    await handler(t, Command.ChildDelete).onSucceeded!(job(Command.ChildDelete, { name: 'web1', childType: 'kvm', deleteDisk: true }), { children: [] });
    expect(t.repo.deleteByName).toHaveBeenCalledWith('h1', 'web1');
    expect(t.hosts.remove).toHaveBeenCalledWith('child-host-1');
    expect(t.repo.reconcile).toHaveBeenCalledWith('h1', ['kvm'], []);
  });

  it('asks a hypervisor host for its VMs when its agent comes online, once', async () => {
    const t = setup();
    const ready = t.channel.onAgentReady.mock.calls[0][0] as (hostId: string) => void;
    ready('h1');
    await new Promise((r) => setTimeout(r, 10));
    expect(t.jobInputs.map((j) => [j.type, j.actor.username])).toEqual([[Command.ChildList, 'system']]);
    t.jobs.search.mockResolvedValue({ items: [], total: 1 });
    ready('h1');
    await new Promise((r) => setTimeout(r, 10));
    expect(t.jobInputs).toHaveLength(1);
  });

  it('uses the host row the hello just wrote instead of reading it again', async () => {
    const t = setup({ host: { roles: [] } });
    const ready = t.channel.onAgentReady.mock.calls[0][0] as (hostId: string, host?: object) => void;
    ready('h1', { id: 'h1', status: 'approved', roles: ['kvm_host'] });
    await new Promise((r) => setTimeout(r, 10));
    expect(t.hosts.findById).not.toHaveBeenCalled();
    expect(t.jobInputs.map((j) => j.type)).toEqual([Command.ChildList]);
  });

  it('does not ask a host without a hypervisor role', async () => {
    const t = setup({ host: { roles: [] } });
    (t.channel.onAgentReady.mock.calls[0][0] as (hostId: string) => void)('h1');
    await new Promise((r) => setTimeout(r, 10));
    expect(t.jobs.create).not.toHaveBeenCalled();
  });
});

describe('ChildHostsService lifecycle', () => {
  it('refuses a start while a create runs, and a delete while one runs', async () => {
    const t = setup();
    t.repo.findForHost.mockResolvedValue({ id: 'c1', name: 'web1', childType: 'kvm', state: 'creating' });
    expect((await refusal(t.service.start('h1', 'c1', actor))).code).toBe('CHILD_BUSY');
    t.repo.markDeleting.mockResolvedValue(false);
    expect((await refusal(t.service.remove('h1', 'c1', true, actor))).code).toBe('CHILD_BUSY');
    expect(t.jobs.create).not.toHaveBeenCalled();
  });

  it('queues a force stop and a delete with disk for the child', async () => {
    const t = setup();
    t.repo.findForHost.mockResolvedValue({ id: 'c1', name: 'web1', childType: 'kvm', state: 'running' });
    await t.service.stop('h1', 'c1', true, actor);
    await t.service.remove('h1', 'c1', true, actor);
    expect(t.jobInputs.map((j) => [j.type, j.params])).toEqual([
      [Command.ChildStop, { childType: 'kvm', name: 'web1', force: true }],
      [Command.ChildDelete, { childType: 'kvm', name: 'web1', deleteDisk: true }],
    ]);
    expect(t.repo.setDeleteJob).toHaveBeenCalledWith('c1', 'job-2');
  });
});

describe('ChildHostsService.capacity', () => {
  it('reports free minus reserve minus what creates under way claim, on the VM store disk', async () => {
    // 16384 MB and 200 GB (on /var/lib/libvirt, not the 5 GB root) free; creates under way hold 3000 MB and 50 GB.
    const t = setup({ claimed: { memoryMb: 3000, diskGb: 50 } });
    await expect(t.service.capacity('h1', 'kvm')).resolves.toEqual({
      childType: 'kvm', availableMemoryMb: 16384 - 3000 - 1024, availableDiskGb: 200 - 50 - 10, reserveMemoryMb: 1024, reserveDiskGb: 10,
    });
    expect(t.repo.claimedByCreates).toHaveBeenCalledWith('h1');
    // vmd has no known store: the largest disk (the 50 GB root with 5 GB free) is the one used, and nothing fits.
    await expect(t.service.capacity('h1', 'vmm')).resolves.toMatchObject({ childType: 'vmm', availableDiskGb: 0 });
  });

  it('is exactly what the create check allows: the reported amount passes, one more is refused', async () => {
    const claimed = { memoryMb: 2500, diskGb: 30 };
    const t = setup({ host: { facts: facts(8192, 100) }, claimed });
    const cap = await t.service.capacity('h1', 'kvm');
    expect(cap).toMatchObject({ availableMemoryMb: 8192 - 2500 - 1024, availableDiskGb: 100 - 30 - 10 });
    await expect(t.service.create('h1', dto({ memoryMb: cap.availableMemoryMb, diskGb: cap.availableDiskGb }), actor)).resolves.toBeDefined();
    expect((await refusal(setup({ host: { facts: facts(8192, 100) }, claimed }).service.create('h1', dto({ memoryMb: cap.availableMemoryMb + 1 }), actor))).code)
      .toBe('CHILD_INSUFFICIENT_MEMORY');
    expect((await refusal(setup({ host: { facts: facts(8192, 100) }, claimed }).service.create('h1', dto({ name: 'web2', diskGb: cap.availableDiskGb + 1 }), actor))).code)
      .toBe('CHILD_INSUFFICIENT_DISK');
  });

  it('never reports less than nothing, and refuses a host without facts or an unknown host', async () => {
    await expect(setup({ host: { facts: facts(500, 5) } }).service.capacity('h1', 'kvm')).resolves.toMatchObject({ availableMemoryMb: 0, availableDiskGb: 0 });
    expect((await refusal(setup({ host: { facts: {} as HostFacts } }).service.capacity('h1', 'kvm'))).code).toBe('CHILD_NO_FACTS');
    expect((await refusal(setup({ host: null }).service.capacity('h1', 'kvm'))).code).toBe('HOST_NOT_FOUND');
  });
});

describe('freeDiskBytes', () => {
  it('uses the disk holding the VM store, else the largest disk', () => {
    expect(freeDiskBytes(facts(1, 33), 'kvm')).toBe(33 * GIB);
    expect(freeDiskBytes(facts(1, 33), 'vmm')).toBe(5 * GIB);
  });
});

describe('sha512Crypt', () => {
  it('matches the specification test vectors', () => {
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe('$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1');
    expect(sha512Crypt('Hello world!', 'saltstringsaltstring', 10000)).toBe(
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    );
  });

  it('salts each hash afresh', () => {
    expect(sha512Crypt('pw')).not.toBe(sha512Crypt('pw'));
  });
});
