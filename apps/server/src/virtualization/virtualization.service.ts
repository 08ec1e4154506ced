import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import {
  Command, HYPERVISOR_PLATFORM, UiEvent, HypervisorType, parsePayload, VirtualizationResult, VirtualizationReport,
} from '@sysfleet/protocol';
import type { Actor } from '../auth/auth.decorators';
import { AgentChannel } from '../agent-gateway/agent-channel.service';
import { HostsService } from '../hosts/hosts.service';
import { UiEvents } from '../ui-gateway/ui-events.service';
import { JobTypes } from '../jobs/job-types';
import type { JobEntity } from '../jobs/jobs.entity';
import { JobsService } from '../jobs/jobs.service';
import { ConfigureNetworkDto, NETWORK_MODES_BY_TYPE, toVirtualizationDto } from './virtualization.dto';
import { VirtualizationErrors } from './virtualization.errors';
import { VirtualizationRepository } from './virtualization.repository';

/** Hypervisor detection, initialisation and networking of hosts, carried out as jobs by their agents. */
@Injectable()
export class VirtualizationService implements OnModuleInit {
  private readonly logger = new Logger(VirtualizationService.name);

  constructor(
    private readonly repo: VirtualizationRepository,
    private readonly hosts: HostsService,
    private readonly jobs: JobsService,
    private readonly types: JobTypes,
    private readonly channel: AgentChannel,
    private readonly ui: UiEvents,
  ) {}

  onModuleInit(): void {
    const onSucceeded = async (job: { hostId: string }, r: VirtualizationResult) => this.store(job.hostId, r.report);
    // The agent detects afresh after every initialise / network change, also a failed or cancelled one.
    const onFinished = (job: JobEntity) => this.storeFromUnsuccessfulJob(job);
    this.types.register({ type: Command.VirtualizationCheck, deadlineSeconds: 600, maxRunSeconds: 300, result: VirtualizationResult, onSucceeded });
    // Package installs can be slow on a real host.
    this.types.register({ type: Command.VirtualizationInitialize, deadlineSeconds: 3600, maxRunSeconds: 3600, result: VirtualizationResult, onSucceeded, onFinished });
    this.channel.setVirtualizationSink((hostId, report) => this.store(hostId, report));
    this.types.register({ type: Command.VirtualizationConfigureNetwork, deadlineSeconds: 3600, maxRunSeconds: 900, result: VirtualizationResult, onSucceeded, onFinished });
  }

  /** A failed or cancelled job's result carries the agent's detection after the failure: stored like any report. */
  async storeFromUnsuccessfulJob(job: JobEntity): Promise<void> {
    if (job.status === 'succeeded' || !job.result || !('report' in job.result)) return;
    const parsed = parsePayload(VirtualizationResult, { report: job.result.report });
    if (!parsed.ok) {
      this.logger.warn(`job ${job.id}: the report in the ${job.status} result is invalid and was not stored: ${parsed.error}`);
      return;
    }
    await this.store(job.hostId, parsed.value.report);
  }

  /** Stores a report (from a job or sent by the agent on connect) and the roles it grants. */
  async store(hostId: string, report: VirtualizationReport): Promise<void> {
    if (await this.repo.saveIfNewer(hostId, report, new Date(report.checkedAt))) {
      await this.hosts.setRoles(hostId, report.roles);
      this.ui.publish(UiEvent.HostVirtualization, { hostId });
    }
  }

  async get(hostId: string) {
    await this.hosts.get(hostId); // 404 for an unknown host
    const v = await this.repo.findByHost(hostId);
    if (!v) throw VirtualizationErrors.NO_REPORT();
    return toVirtualizationDto(v);
  }

  async check(hostId: string, actor: Actor, idempotencyKey?: string) {
    await this.approvedHost(hostId);
    return this.jobs.create({ hostId, type: Command.VirtualizationCheck, params: {}, actor, idempotencyKey });
  }

  async initialize(hostId: string, type: HypervisorType, actor: Actor, idempotencyKey?: string) {
    await this.fittingHost(hostId, type);
    return this.jobs.create({ hostId, type: Command.VirtualizationInitialize, params: { type }, actor, idempotencyKey });
  }

  async configureNetwork(hostId: string, type: HypervisorType, dto: ConfigureNetworkDto, actor: Actor, idempotencyKey?: string) {
    await this.fittingHost(hostId, type);
    if (!NETWORK_MODES_BY_TYPE[type].includes(dto.mode)) {
      throw VirtualizationErrors.BAD_NETWORK_MODE(`${type} supports the network modes ${NETWORK_MODES_BY_TYPE[type].join(', ')}, not "${dto.mode}"`);
    }
    if ((dto.mode === 'bridge' || dto.mode === 'bridged') && !dto.interface) {
      throw VirtualizationErrors.BAD_NETWORK_MODE(`mode "${dto.mode}" needs the host interface to bridge to ("interface")`);
    }
    return this.jobs.create({ hostId, type: Command.VirtualizationConfigureNetwork, params: { type, ...dto }, actor, idempotencyKey });
  }

  private async approvedHost(hostId: string) {
    const host = await this.hosts.get(hostId);
    if (host.status !== 'approved') throw VirtualizationErrors.HOST_NOT_APPROVED(`Host ${host.hostname} is ${host.status}, not approved`);
    return host;
  }

  private async fittingHost(hostId: string, type: HypervisorType) {
    const host = await this.approvedHost(hostId);
    if (host.platform !== HYPERVISOR_PLATFORM[type]) {
      throw VirtualizationErrors.WRONG_PLATFORM(`${type} runs on ${HYPERVISOR_PLATFORM[type]} hosts; ${host.hostname} is a ${host.platform} host`);
    }
    return host;
  }
}
