import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import {
  ChildActionResult, ChildCreateParams, ChildCreateResult, ChildInfo, ChildListResult, ChildType, Command, CommandName, fillInstallCommand,
  HostFacts, HYPERVISOR_ROLES, HYPERVISOR_TYPES, parsePayload,
} from '@sysfleet/protocol';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { AgentChannel, ReadyHost } from '../agent-gateway/agent-channel.service';
import type { Actor } from '../auth/auth.decorators';
import { EnvironmentVariables } from '../config/config';
import { DistributionEntity } from '../distributions/distributions.entity';
import { DistributionsService } from '../distributions/distributions.service';
import { EnrollmentService } from '../enrollment/enrollment.service';
import { HostEntity } from '../hosts/hosts.entity';
import { HostErrors } from '../hosts/hosts.errors';
import { HostsService } from '../hosts/hosts.service';
import { JobTypes } from '../jobs/job-types';
import { JobEntity } from '../jobs/jobs.entity';
import { JobsService } from '../jobs/jobs.service';
import { SshKeysService } from '../ssh-keys/ssh-keys.service';
import { ChildCapacityDto, ChildDto, ChildSearchQueryDto, CreateChildDto, toChildCapacityDto, toChildDto } from './child-hosts.dto';
import { BUSY_CHILD_STATES, ChildHostEntity } from './child-hosts.entity';
import { ChildErrors } from './child-hosts.errors';
import { ChildHostsRepository, Claimed } from './child-hosts.repository';
import { sha512Crypt } from './sha512-crypt';

const SYSTEM = { userId: null, username: 'system' } as const;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Where each hypervisor keeps its disks, to pick the host disk a new VM fills. */
const VM_STORE: Partial<Record<ChildType, string>> = { kvm: '/var/lib/libvirt/images', wsl: 'C:\\' };
// A well-formed stand-in, so the whole command is validated before the real token is minted.
const PLACEHOLDER_TOKEN = `sfe_${'A'.repeat(43)}`;

/** Extra life of a child's enrolment token beyond its create job's deadline plus run limit. */
const CHILD_TOKEN_SLACK_SECONDS = 300;

type JobResult = { job: JobEntity; created: boolean };

/** The free bytes of the disk a VM of `type` would land on: the one holding the VM store, else the largest. */
export function freeDiskBytes(facts: HostFacts, type: ChildType): number | null {
  const disks = facts.disks ?? [];
  if (!disks.length) return null;
  const store = VM_STORE[type]?.toLowerCase();
  const holding = store
    ? disks.filter((d) => store.startsWith(d.mount.toLowerCase())).sort((a, b) => b.mount.length - a.mount.length)[0]
    : undefined;
  return (holding ?? [...disks].sort((a, b) => b.sizeBytes - a.sizeBytes)[0]).freeBytes;
}

/** How much a new VM of one type may take on a host, and the numbers behind it. */
export interface ChildRoom {
  /** Free memory (MB) after what creates under way have claimed. */
  freeMb: number;
  /** Free disk (GB) of the disk the VM would land on, after what creates under way have claimed; null without disk facts. */
  freeGb: number | null;
  reserveMb: number;
  reserveGb: number;
  claimed: Claimed;
  /** The largest memoryMb a create is allowed now (never below 0). */
  availableMemoryMb: number;
  /** The largest diskGb a create is allowed now (never below 0); null without disk facts. */
  availableDiskGb: number | null;
}

/** The one capacity computation: the create check refuses what exceeds it, the capacity endpoint reports it. */
export function childRoom(facts: HostFacts, type: ChildType, claimed: Claimed, reserve: { memoryMb: number; diskGb: number }): ChildRoom {
  const freeMb = Math.floor(facts.memoryFreeBytes / MIB) - claimed.memoryMb;
  const freeBytes = freeDiskBytes(facts, type);
  const freeGb = freeBytes === null ? null : Math.floor(freeBytes / GIB) - claimed.diskGb;
  return {
    freeMb, freeGb, reserveMb: reserve.memoryMb, reserveGb: reserve.diskGb, claimed,
    availableMemoryMb: Math.max(0, freeMb - reserve.memoryMb),
    availableDiskGb: freeGb === null ? null : Math.max(0, freeGb - reserve.diskGb),
  };
}

/**
 * Child VMs of hosts: creation (checked and refused before anything is made), lifecycle jobs, and
 * reconciliation of the table with what the host's agent reports.
 */
@Injectable()
export class ChildHostsService implements OnModuleInit {
  private readonly logger = new Logger('ChildHosts');
  private bundle: { key: string; sha256: string } | null = null;

  constructor(
    private readonly repo: ChildHostsRepository,
    private readonly hosts: HostsService,
    private readonly distributions: DistributionsService,
    private readonly sshKeys: SshKeysService,
    private readonly enrollment: EnrollmentService,
    private readonly jobs: JobsService,
    private readonly types: JobTypes,
    private readonly channel: AgentChannel,
    private readonly config: EnvironmentVariables,
  ) {}

  onModuleInit(): void {
    const serialKey = (hostId: string, params: Record<string, unknown>) => `child:${hostId}:${String(params.name)}`;
    // A create or delete that failed, was cancelled or expired leaves its row settled at once.
    const onFinished = (job: JobEntity) => (job.status === 'succeeded' ? Promise.resolve() : this.repo.settleFailedJobs(job.hostId));
    // Fetching an image and installing packages in the guest can be slow on a real host.
    this.types.register({
      type: Command.ChildCreate, deadlineSeconds: 3600, maxRunSeconds: 3600, result: ChildCreateResult, serialKey, onFinished,
      onSucceeded: (job, r: ChildCreateResult) => this.onCreated(job, r),
    });
    for (const type of [Command.ChildStart, Command.ChildStop, Command.ChildRestart]) {
      this.types.register({ type, deadlineSeconds: 600, maxRunSeconds: 600, result: ChildActionResult, serialKey, onSucceeded: (job, r: ChildActionResult) => this.onActed(job, r) });
    }
    this.types.register({
      type: Command.ChildDelete, deadlineSeconds: 600, maxRunSeconds: 900, result: ChildActionResult, serialKey, onFinished,
      onSucceeded: (job, r: ChildActionResult) => this.onDeleted(job, r),
    });
    this.types.register({ type: Command.ChildList, deadlineSeconds: 600, maxRunSeconds: 300, result: ChildListResult, onSucceeded: (job, r: ChildListResult) => this.onListed(job.hostId, r) });
    this.channel.onAgentReady((hostId, host) => void this.listIfHypervisor(hostId, host).catch((e) => this.logger.warn(`child.list for ${hostId}: ${(e as Error).message}`)));
  }

  async search(q: ChildSearchQueryDto): Promise<{ items: ChildDto[]; total: number }> {
    const { items, total } = await this.repo.search(q);
    return { items: items.map(toChildDto), total };
  }

  async list(hostId: string): Promise<ChildDto[]> {
    await this.hostOrThrow(hostId);
    await this.repo.settleFailedJobs(hostId);
    await this.repo.linkEnrolled(hostId);
    return (await this.repo.listForHost(hostId)).map(toChildDto);
  }

  /** What a create of `childType` on the host would be allowed right now (see childRoom). */
  async capacity(hostId: string, childType: ChildType): Promise<ChildCapacityDto> {
    const host = await this.hostOrThrow(hostId);
    const room = this.room(host, this.factsOrThrow(host), childType, await this.repo.claimedByCreates(hostId));
    return toChildCapacityDto(childType, room);
  }

  /** Checks everything, then makes the row, the child's enrolment token and the child.create job. */
  async create(hostId: string, dto: CreateChildDto, actor: Actor, idempotencyKey?: string): Promise<JobResult> {
    const host = await this.hostOrThrow(hostId);
    if (host.status !== 'approved') throw ChildErrors.HOST_NOT_APPROVED(`Host ${host.hostname} is ${host.status}, not approved`);
    const role = HYPERVISOR_ROLES[dto.childType];
    if (!host.roles.includes(role)) {
      throw ChildErrors.ROLE_MISSING(`Host ${host.hostname} has no initialised ${dto.childType} hypervisor (role ${role}); run a virtualization check or initialise it first`);
    }
    const distribution = await this.usableDistribution(dto.distributionId, dto.childType);
    await this.repo.settleFailedJobs(hostId);
    const existing = await this.repo.findByName(hostId, dto.name);
    if (existing) {
      const replay = idempotencyKey ? await this.replayedCreate(existing, actor, idempotencyKey) : null;
      if (replay) return replay;
      throw ChildErrors.NAME_TAKEN(`Host ${host.hostname} already has a child VM named "${dto.name}" (${existing.state})`);
    }
    const facts = this.factsOrThrow(host);
    const sshPublicKeys = await this.collectKeys(dto);
    const passwordHash = dto.password !== undefined ? sha512Crypt(dto.password) : undefined;
    const agentSha256 = distribution.appliance ? null : await this.agentBundleSha256();

    const params = {
      childType: dto.childType, name: dto.name, hostname: dto.hostname, vcpus: dto.vcpus, memoryMb: dto.memoryMb, diskGb: dto.diskGb,
      username: dto.username, sshPublicKeys, ...(dto.network && { network: { ...dto.network } }),
      distribution: {
        name: distribution.name, version: distribution.version, installIdentifier: distribution.installIdentifier,
        ...(distribution.imageUrl && { imageUrl: distribution.imageUrl }), ...(distribution.sha256 && { sha256: distribution.sha256 }),
        ...(distribution.checksumUrl && { checksumUrl: distribution.checksumUrl }), appliance: distribution.appliance,
        installCommands: distribution.installCommands,
      },
      // Only a non-default firmware is sent: an agent that predates the field refuses the create rather than boot a UEFI image with BIOS.
      ...(distribution.firmware && distribution.firmware !== 'bios' && { firmware: distribution.firmware }),
      keepOnFailure: dto.keepOnFailure ?? false,
    };
    const secretsFor = (token: string) => ({
      ...(passwordHash && { passwordHash }),
      ...(agentSha256
        ? {
          agentInstall: { serverUrl: this.serverUrl(), enrollmentToken: token, agentSha256 },
          distribution: { ...params.distribution, installCommands: this.fillCommands(distribution, { serverUrl: this.serverUrl(), enrollmentToken: token, agentSha256, hostname: dto.hostname, username: dto.username }) },
        }
        : { agentInstall: null }),
    });
    // What the agent will receive must pass the agent's own check now, before anything is made.
    const check = parsePayload(ChildCreateParams, { ...params, ...secretsFor(PLACEHOLDER_TOKEN) });
    if (!check.ok) throw ChildErrors.INVALID(`The VM cannot be made from this request: ${check.error}`);

    const row = await this.repo.insertCreating(
      { hostId, name: dto.name, childType: dto.childType, distributionId: distribution.id, hostname: dto.hostname, vcpus: dto.vcpus, memoryMb: dto.memoryMb, diskGb: dto.diskGb, username: dto.username, createdBy: actor.username },
      (claimed) => this.checkCapacity(host, facts, dto, claimed),
    );
    if (row === 'taken') throw ChildErrors.NAME_TAKEN(`Host ${host.hostname} already has a child VM named "${dto.name}"`);
    let tokenId: string | null = null;
    try {
      let secret = PLACEHOLDER_TOKEN;
      if (agentSha256) {
        const token = await this.enrollment.createChildToken(hostId, actor.username, this.childTokenSeconds());
        tokenId = token.id;
        secret = token.secret;
      }
      const result = await this.jobs.create({ hostId, type: Command.ChildCreate, params, secretParams: secretsFor(secret), actor, idempotencyKey });
      await this.repo.setCreateRefs(row.id, { enrollmentTokenId: tokenId, createJobId: result.job.id });
      return result;
    } catch (e) {
      // Nothing half-made: the row goes, and an unused token is revoked.
      await this.repo.deleteById(row.id);
      if (tokenId) await this.enrollment.revokeToken(tokenId).catch(() => undefined);
      throw e;
    }
  }

  async start(hostId: string, childId: string, actor: Actor, idempotencyKey?: string): Promise<JobResult> {
    return this.action(hostId, childId, Command.ChildStart, {}, actor, idempotencyKey);
  }

  async stop(hostId: string, childId: string, force: boolean, actor: Actor, idempotencyKey?: string): Promise<JobResult> {
    return this.action(hostId, childId, Command.ChildStop, { force }, actor, idempotencyKey);
  }

  async restart(hostId: string, childId: string, actor: Actor, idempotencyKey?: string): Promise<JobResult> {
    return this.action(hostId, childId, Command.ChildRestart, {}, actor, idempotencyKey);
  }

  /** Marks the child `deleting` and asks the agent to remove the VM; success forgets the row and the child's host. */
  async remove(hostId: string, childId: string, deleteDisk: boolean, actor: Actor, idempotencyKey?: string): Promise<JobResult> {
    await this.approvedHost(hostId);
    await this.repo.settleFailedJobs(hostId);
    const child = await this.childOrThrow(hostId, childId);
    if (!(await this.repo.markDeleting(child.id))) throw ChildErrors.BUSY(`Child VM ${child.name} is ${child.state}: wait for that to finish`);
    try {
      const result = await this.jobs.create({ hostId, type: Command.ChildDelete, params: { childType: child.childType, name: child.name, deleteDisk }, actor, idempotencyKey });
      await this.repo.setDeleteJob(child.id, result.job.id);
      return result;
    } catch (e) {
      await this.repo.restoreState(child.id, child.state);
      throw e;
    }
  }

  /** Asks the host for its VMs (unless such a request is already waiting). */
  async requestList(hostId: string): Promise<void> {
    const waiting = await this.jobs.search({ hostId, type: Command.ChildList, status: 'queued', limit: 1, offset: 0 });
    if (waiting.total > 0) return;
    await this.jobs.create({ hostId, type: Command.ChildList, params: {}, actor: SYSTEM });
  }

  /** Applies an agent's list: see ChildHostsRepository.reconcile for the rules. */
  async onListed(hostId: string, r: ChildListResult): Promise<void> {
    await this.repo.settleFailedJobs(hostId);
    const { added, gone } = await this.repo.reconcile(hostId, r.types, r.children);
    await this.repo.linkEnrolled(hostId);
    if (added || gone) this.logger.log(`host ${hostId}: ${added} VM(s) found, ${gone} gone`);
  }

  private async onCreated(job: JobEntity, r: ChildCreateResult): Promise<void> {
    const { name, childType } = job.params as { name: string; childType: ChildType };
    await this.repo.applyReported(job.hostId, { ...r.child, name, childType });
    await this.afterAction(job.hostId, childType, r.children);
    await this.repo.linkEnrolled(job.hostId);
  }

  private async onActed(job: JobEntity, r: ChildActionResult): Promise<void> {
    const { name, childType } = job.params as { name: string; childType: ChildType };
    if (r.child) await this.repo.applyReported(job.hostId, { ...r.child, name, childType });
    await this.afterAction(job.hostId, childType, r.children);
  }

  private async onDeleted(job: JobEntity, r: ChildActionResult): Promise<void> {
    const { name, childType } = job.params as { name: string; childType: ChildType };
    await this.repo.linkEnrolled(job.hostId);
    const removed = await this.repo.deleteByName(job.hostId, name);
    if (removed?.childHostId) {
      await this.hosts.remove(removed.childHostId).catch((e) => this.logger.warn(`removing the host record of child ${name}: ${(e as Error).message}`));
    }
    await this.afterAction(job.hostId, childType, r.children);
  }

  /** A result that carries the type's list is reconciled at once; otherwise a child.list is asked for. */
  private async afterAction(hostId: string, childType: ChildType, children: ChildInfo[] | undefined): Promise<void> {
    if (children) await this.repo.reconcile(hostId, [childType], children);
    else void this.requestList(hostId).catch((e) => this.logger.warn(`child.list for ${hostId}: ${(e as Error).message}`));
  }

  private async listIfHypervisor(hostId: string, known?: ReadyHost): Promise<void> {
    const host = known ?? (await this.hosts.findById(hostId));
    if (!host || host.status !== 'approved') return;
    if (HYPERVISOR_TYPES.some((t) => host.roles.includes(HYPERVISOR_ROLES[t]))) await this.requestList(hostId);
  }

  private async action(hostId: string, childId: string, type: CommandName, extra: Record<string, unknown>, actor: Actor, idempotencyKey?: string): Promise<JobResult> {
    await this.approvedHost(hostId);
    await this.repo.settleFailedJobs(hostId);
    const child = await this.childOrThrow(hostId, childId);
    if (BUSY_CHILD_STATES.includes(child.state)) throw ChildErrors.BUSY(`Child VM ${child.name} is ${child.state}: wait for that to finish`);
    if (child.state === 'gone') throw ChildErrors.GONE(`Child VM ${child.name} is no longer on the host; delete it to forget it`);
    return this.jobs.create({ hostId, type, params: { childType: child.childType, name: child.name, ...extra }, actor, idempotencyKey });
  }

  /** The same Idempotency-Key from the same user returns the create job it started. */
  private async replayedCreate(existing: ChildHostEntity, actor: Actor, idempotencyKey: string): Promise<JobResult | null> {
    if (!existing.createJobId) return null;
    const { job } = await this.jobs.getWithEvents(existing.createJobId);
    return job.idempotencyKey === idempotencyKey && job.createdBy === actor.username ? { job, created: false } : null;
  }

  private async usableDistribution(id: string, childType: ChildType): Promise<DistributionEntity> {
    const d = await this.distributions.get(id).catch(() => null);
    if (!d) throw ChildErrors.DISTRIBUTION_NOT_FOUND(`Distribution ${id} not found`);
    if (!d.enabled) throw ChildErrors.DISTRIBUTION_DISABLED(`Distribution ${d.displayName} is disabled`);
    if (d.childType !== childType) throw ChildErrors.DISTRIBUTION_MISMATCH(`Distribution ${d.displayName} is for ${d.childType}, not ${childType}`);
    if (d.imageUrl && !d.sha256 && !d.checksumUrl) {
      throw ChildErrors.DISTRIBUTION_UNVERIFIABLE(`Distribution ${d.displayName} has neither a sha256 nor a checksumUrl: its image cannot be verified`);
    }
    return d;
  }

  private room(host: HostEntity, facts: HostFacts, childType: ChildType, claimed: Claimed): ChildRoom & { freeGb: number; availableDiskGb: number } {
    const room = childRoom(facts, childType, claimed, { memoryMb: this.config.CHILD_RESERVE_MEMORY_MB, diskGb: this.config.CHILD_RESERVE_DISK_GB });
    if (room.freeGb === null || room.availableDiskGb === null) throw ChildErrors.NO_FACTS(`Host ${host.hostname} has not reported its disks; refresh its inventory first`);
    return room as ChildRoom & { freeGb: number; availableDiskGb: number };
  }

  private checkCapacity(host: HostEntity, facts: HostFacts, dto: CreateChildDto, claimed: Claimed): void {
    const room = this.room(host, facts, dto.childType, claimed);
    const { freeMb, freeGb, reserveMb, reserveGb } = room;
    if (dto.memoryMb > room.availableMemoryMb) {
      throw ChildErrors.INSUFFICIENT_MEMORY(
        `Host ${host.hostname} has ${freeMb} MB of memory free${claimed.memoryMb ? ` (after ${claimed.memoryMb} MB claimed by creates under way)` : ''}; ` +
        `a VM of ${dto.memoryMb} MB would leave ${freeMb - dto.memoryMb} MB, below the reserve of ${reserveMb} MB`,
        { freeMb, requestedMb: dto.memoryMb, reserveMb, claimedMb: claimed.memoryMb, availableMemoryMb: room.availableMemoryMb },
      );
    }
    if (dto.diskGb > room.availableDiskGb) {
      throw ChildErrors.INSUFFICIENT_DISK(
        `Host ${host.hostname} has ${freeGb} GB of disk free${claimed.diskGb ? ` (after ${claimed.diskGb} GB claimed by creates under way)` : ''}; ` +
        `a ${dto.diskGb} GB disk would leave ${freeGb - dto.diskGb} GB, below the reserve of ${reserveGb} GB`,
        { freeGb, requestedGb: dto.diskGb, reserveGb, claimedGb: claimed.diskGb, availableDiskGb: room.availableDiskGb },
      );
    }
  }

  /**
   * How long a child's enrolment token must last: the create job may wait for its host until its
   * deadline (JOB_DEADLINES can change it) and then run up to its run limit, and the child enrols at
   * the very end. The slack covers the moments between minting the token and making the job, and the
   * watchdog noticing an overrun.
   */
  private childTokenSeconds(): number {
    const def = this.types.get(Command.ChildCreate);
    if (!def) throw new Error('child.create is not registered');
    return this.types.deadlineSeconds(def) + def.maxRunSeconds + CHILD_TOKEN_SLACK_SECONDS;
  }

  private factsOrThrow(host: HostEntity): HostFacts {
    const f = host.facts as Partial<HostFacts> | null;
    if (!f || typeof f.memoryFreeBytes !== 'number' || !Array.isArray(f.disks)) {
      throw ChildErrors.NO_FACTS(`Host ${host.hostname} has not reported its memory and disks; refresh its inventory first`);
    }
    return f as HostFacts;
  }

  private async collectKeys(dto: CreateChildDto): Promise<string[]> {
    const typed = (dto.sshPublicKeys ?? []).map((line, i) => {
      const k = this.sshKeys.parse(line, `sshPublicKeys.${i}`);
      return k.comment ? `${k.canonical} ${k.comment}` : k.canonical;
    });
    const stored = dto.sshKeyIds?.length ? await this.sshKeys.publicKeysOf(dto.sshKeyIds) : [];
    return [...new Set([...typed, ...stored])];
  }

  private fillCommands(d: DistributionEntity, values: { serverUrl: string; enrollmentToken: string; agentSha256: string; hostname: string; username: string }): string[] {
    return d.installCommands.map((c) => fillInstallCommand(c, values));
  }

  private serverUrl(): string {
    return this.config.PUBLIC_URL.replace(/\/+$/, '');
  }

  /** SHA-256 of the agent bundle the server serves at /agent/sysfleet-agent.cjs, cached per file version. */
  private async agentBundleSha256(): Promise<string> {
    const file = this.config.AGENT_BUNDLE;
    const stat = file ? await fs.stat(file).catch(() => null) : null;
    if (!file || !stat?.isFile()) {
      throw ChildErrors.AGENT_BUNDLE_MISSING(`The server has no agent bundle to install in the guest (AGENT_BUNDLE ${file ? `${file} is missing` : 'is not set'})`);
    }
    const key = `${file}:${stat.size}:${stat.mtimeMs}`;
    if (this.bundle?.key !== key) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      this.bundle = { key, sha256: hash.digest('hex') };
    }
    return this.bundle.sha256;
  }

  private async hostOrThrow(hostId: string): Promise<HostEntity> {
    const host = await this.hosts.findById(hostId);
    if (!host) throw HostErrors.NOT_FOUND(`Host ${hostId} not found`);
    return host;
  }

  private async approvedHost(hostId: string): Promise<HostEntity> {
    const host = await this.hostOrThrow(hostId);
    if (host.status !== 'approved') throw ChildErrors.HOST_NOT_APPROVED(`Host ${host.hostname} is ${host.status}, not approved`);
    return host;
  }

  private async childOrThrow(hostId: string, childId: string): Promise<ChildHostEntity> {
    const child = await this.repo.findForHost(hostId, childId);
    if (!child) throw ChildErrors.NOT_FOUND(`Child VM ${childId} not found on host ${hostId}`);
    return child;
  }
}
