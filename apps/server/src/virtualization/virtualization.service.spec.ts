import { Logger } from '@nestjs/common';
import { Command, HostStatus, HypervisorType, Platform, UiEvent, VirtualizationReport } from '@sysfleet/protocol';
import type { AgentChannel } from '../agent-gateway/agent-channel.service';
import type { Actor } from '../auth/auth.decorators';
import { AppError } from '../common/errors';
import { HostErrors } from '../hosts/hosts.errors';
import type { HostsService } from '../hosts/hosts.service';
import type { UiEvents } from '../ui-gateway/ui-events.service';
import { JobTypes } from '../jobs/job-types';
import type { JobEntity } from '../jobs/jobs.entity';
import type { CreateJobInput, JobsService } from '../jobs/jobs.service';
import type { ConfigureNetworkDto } from './virtualization.dto';
import type { VirtualizationRepository } from './virtualization.repository';
import { VirtualizationService } from './virtualization.service';

const actor: Actor = { userId: 'u1', username: 'alice', role: 'operator' };

function setup(host: { status?: HostStatus; platform?: Platform } | null = {}) {
  const stored: { hostId: string; report: object; checkedAt: Date }[] = [];
  const repo = {
    findByHost: jest.fn(async () => null),
    saveIfNewer: jest.fn(async (hostId: string, report: object, checkedAt: Date) => {
      stored.push({ hostId, report, checkedAt });
      return true;
    }),
  };
  const hosts = {
    get: jest.fn(async (id: string) => {
      if (!host) throw HostErrors.NOT_FOUND(`Host ${id} not found`);
      return { id, hostname: 'hv1', status: 'approved', platform: 'linux', roles: [], ...host };
    }),
    setRoles: jest.fn(async () => undefined),
  };
  const jobInputs: CreateJobInput[] = [];
  const jobs = {
    create: jest.fn(async (input: CreateJobInput) => {
      jobInputs.push(input);
      return { job: { id: 'job-1', hostId: input.hostId, type: input.type, params: input.params, status: 'queued' } as JobEntity, created: true };
    }),
  };
  const types = new JobTypes();
  const channel = { setVirtualizationSink: jest.fn() };
  const ui = { publish: jest.fn() };
  const service = new VirtualizationService(
    repo as unknown as VirtualizationRepository, hosts as unknown as HostsService, jobs as unknown as JobsService, types,
    channel as unknown as AgentChannel, ui as unknown as UiEvents,
  );
  service.onModuleInit();
  return { service, repo, hosts, jobs, jobInputs, types, ui, stored };
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

const network = (over: Partial<ConfigureNetworkDto> = {}): ConfigureNetworkDto => ({ mode: 'nat', ...over });

/** The three operator POSTs, each on a Linux host with KVM where a type is asked for. */
const posts: [string, (s: VirtualizationService) => Promise<unknown>][] = [
  ['check', (s) => s.check('h1', actor)],
  ['kvm initialize', (s) => s.initialize('h1', 'kvm', actor)],
  ['kvm network', (s) => s.configureNetwork('h1', 'kvm', network(), actor)],
];

describe('VirtualizationService refuses before making a job', () => {
  describe.each<HostStatus>(['pending', 'rejected', 'revoked'])('a %s host', (status) => {
    it.each(posts)('%s: refused as not approved, naming the host and its status', async (_what, call) => {
      const t = setup({ status });
      const e = await refusal(call(t.service));
      expect(e.code).toBe('VIRTUALIZATION_HOST_NOT_APPROVED');
      expect(e.status).toBe(409);
      expect(e.message).toBe(`Host hv1 is ${status}, not approved`);
      expect(t.jobs.create).not.toHaveBeenCalled();
    });
  });

  it.each(posts)('%s on an unknown host: 404, no job', async (_what, call) => {
    const t = setup(null);
    const e = await refusal(call(t.service));
    expect(e.status).toBe(404);
    expect(t.jobs.create).not.toHaveBeenCalled();
  });

  it.each<[HypervisorType, Platform, RegExp]>([
    ['kvm', 'openbsd', /^kvm runs on linux hosts; hv1 is a openbsd host$/],
    ['vmm', 'linux', /^vmm runs on openbsd hosts; hv1 is a linux host$/],
    ['wsl', 'linux', /^wsl runs on windows hosts; hv1 is a linux host$/],
    ['kvm', 'windows', /^kvm runs on linux hosts; hv1 is a windows host$/],
  ])('%s on a %s host: initialize and network refused as the wrong platform', async (type, platform, message) => {
    const t = setup({ platform });
    for (const call of [() => t.service.initialize('h1', type, actor), () => t.service.configureNetwork('h1', type, network({ mode: type === 'vmm' ? 'local' : 'nat' }), actor)]) {
      const e = await refusal(call());
      expect(e.code).toBe('VIRTUALIZATION_WRONG_PLATFORM');
      expect(e.status).toBe(409);
      expect(e.message).toMatch(message);
    }
    expect(t.jobs.create).not.toHaveBeenCalled();
  });

  it('a network mode of another hypervisor, or a bridge without its interface, is refused', async () => {
    const t = setup({ platform: 'openbsd' });
    expect((await refusal(t.service.configureNetwork('h1', 'vmm', network({ mode: 'nat' }), actor))).message).toBe('vmm supports the network modes local, bridged, routed, not "nat"');
    expect((await refusal(t.service.configureNetwork('h1', 'vmm', network({ mode: 'bridged' }), actor))).message).toMatch(/needs the host interface to bridge to/);
    expect(t.jobs.create).not.toHaveBeenCalled();
  });
});

describe('VirtualizationService makes a job for a valid request', () => {
  it('check on an approved host of any platform', async () => {
    const t = setup({ platform: 'windows' });
    const r = await t.service.check('h1', actor, 'key-1');
    expect(r).toMatchObject({ created: true, job: { id: 'job-1', type: Command.VirtualizationCheck } });
    expect(t.jobInputs).toEqual([{ hostId: 'h1', type: Command.VirtualizationCheck, params: {}, actor, idempotencyKey: 'key-1' }]);
  });

  it.each<[HypervisorType, Platform]>([['kvm', 'linux'], ['vmm', 'openbsd'], ['wsl', 'windows']])('%s initialize on a %s host', async (type, platform) => {
    const t = setup({ platform });
    await t.service.initialize('h1', type, actor);
    expect(t.jobInputs).toEqual([{ hostId: 'h1', type: Command.VirtualizationInitialize, params: { type }, actor, idempotencyKey: undefined }]);
  });

  it('vmd routed network: the job carries the type and every field of the request', async () => {
    const t = setup({ platform: 'openbsd' });
    await t.service.configureNetwork('h1', 'vmm', network({ mode: 'routed', interface: 'em0', subnet: '10.77.0.0/24' }), actor);
    expect(t.jobInputs).toEqual([{
      hostId: 'h1', type: Command.VirtualizationConfigureNetwork, params: { type: 'vmm', mode: 'routed', interface: 'em0', subnet: '10.77.0.0/24' }, actor, idempotencyKey: undefined,
    }]);
  });
});

describe('VirtualizationService stores the detection of a failed initialise', () => {
  const report = (checkedAt: string): VirtualizationReport => ({
    platform: 'linux', roles: [], checkedAt,
    hypervisors: [{
      type: 'kvm', available: true, installed: true, enabled: false, running: false, initialized: false, cpuSupported: true, kernelSupported: true,
      needsInstall: false, needsEnable: true, needsReboot: false, version: 'libvirt 9.0.0', networks: [], details: ['libvirtd is disabled and stopped'],
    }],
  });
  const failedJob = (result: Record<string, unknown> | null, status = 'failed') => ({ id: 'job-1', hostId: 'h1', type: Command.VirtualizationInitialize, status, result } as unknown as JobEntity);

  it('the report in a failed result becomes the host\'s report and roles', async () => {
    const t = setup();
    await t.types.get(Command.VirtualizationInitialize)!.onFinished!(failedJob({ report: report('2026-12-02T13:00:00.000Z') }));
    expect(t.stored).toEqual([{ hostId: 'h1', report: expect.objectContaining({ checkedAt: '2026-12-02T13:00:00.000Z', hypervisors: [expect.objectContaining({ installed: true })] }), checkedAt: new Date('2026-12-02T13:00:00.000Z') }]);
    expect(t.hosts.setRoles).toHaveBeenCalledWith('h1', []);
    expect(t.ui.publish).toHaveBeenCalledWith(UiEvent.HostVirtualization, { hostId: 'h1' });
    // configure-network likewise; a cancelled job too.
    await t.types.get(Command.VirtualizationConfigureNetwork)!.onFinished!(failedJob({ report: report('2026-12-02T13:01:00.000Z') }, 'cancelled'));
    expect(t.stored).toHaveLength(2);
  });

  it('ignores a failed job without a report, an invalid report, and succeeded jobs (stored by onSucceeded)', async () => {
    const t = setup();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const onFinished = t.types.get(Command.VirtualizationInitialize)!.onFinished!;
    await onFinished(failedJob(null));
    await onFinished(failedJob({ report: { ...report('2026-12-02T13:00:00.000Z'), roles: ['root_host'] } }));
    await onFinished(failedJob({ report: report('2026-12-02T13:00:00.000Z') }, 'succeeded'));
    expect(t.repo.saveIfNewer).not.toHaveBeenCalled();
    // The invalid one is logged, saying why.
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/job job-1: the report in the failed result is invalid and was not stored: .*roles/);
    warn.mockRestore();
  });
});
