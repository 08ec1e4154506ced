import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsISO8601, IsOptional, IsString, Matches, MaxLength, ValidateIf, ValidateNested } from 'class-validator';
import { HYPERVISOR_ROLES, HYPERVISOR_TYPES, HypervisorType, INTERFACE_PATTERN, NAME_PATTERN } from './commands';
import { PLATFORMS, Platform } from './messages';

/** Forward modes a hypervisor network can have: libvirt's, vmd's, WSL's. */
export const HYPERVISOR_NETWORK_MODES = ['nat', 'bridge', 'route', 'open', 'isolated', 'local', 'bridged', 'routed'] as const;
export type HypervisorNetworkMode = (typeof HYPERVISOR_NETWORK_MODES)[number];

export class HypervisorNetwork {
  @IsString() @Matches(NAME_PATTERN) name!: string;
  @IsBoolean() active!: boolean;
  @IsBoolean() autostart!: boolean;
  @IsIn(HYPERVISOR_NETWORK_MODES) mode!: HypervisorNetworkMode;
  /** Host bridge / interface the network uses. */
  @IsOptional() @IsString() @Matches(INTERFACE_PATTERN) bridge?: string;
  /** IPv4 CIDR of a NAT / routed network. */
  @IsOptional() @IsString() @Matches(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/) subnet?: string;
}

/** What one hypervisor looks like on a host: found by `virtualization.check`. */
export class HypervisorStatus {
  @IsIn(HYPERVISOR_TYPES) type!: HypervisorType;
  /** The hypervisor belongs to this host's platform (KVM on Linux, vmd on OpenBSD, WSL on Windows). */
  @IsBoolean() available!: boolean;
  @IsBoolean() installed!: boolean;
  @IsBoolean() enabled!: boolean;
  @IsBoolean() running!: boolean;
  /** Installed, enabled, running, with a network: the host can take child VMs. */
  @IsBoolean() initialized!: boolean;
  @IsBoolean() cpuSupported!: boolean;
  @IsBoolean() kernelSupported!: boolean;
  @IsBoolean() needsInstall!: boolean;
  @IsBoolean() needsEnable!: boolean;
  @IsBoolean() needsReboot!: boolean;
  /**
   * The hypervisor's version as its tools print it, e.g. "libvirt 9.0.0, QEMU 7.2.0"; null when unknown
   * (not installed, not on this platform). This agent always sends it; a missing one (an agent of the
   * same protocol version built before it was) is taken as unknown, so those agents are not refused.
   */
  @ValidateIf((_, v: unknown) => v !== null && v !== undefined) @IsString() @MaxLength(200) version!: string | null;
  @IsArray() @ArrayMaxSize(64) @ValidateNested({ each: true }) @Type(() => HypervisorNetwork) networks!: HypervisorNetwork[];
  /** Human-readable findings, e.g. "/dev/kvm missing: enable VT-x/AMD-V in the BIOS". */
  @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) @MaxLength(500, { each: true }) details!: string[];
}

/** Result of every virtualization.* command: `{ report }`. */
export class VirtualizationReport {
  @IsIn(PLATFORMS) platform!: Platform;
  /** Roles of the host: HYPERVISOR_ROLES of each initialised hypervisor (kvm_host, vmm_host, wsl_host). */
  @IsArray() @ArrayMaxSize(8) @IsIn(Object.values(HYPERVISOR_ROLES), { each: true }) roles!: string[];
  @IsArray() @ArrayMaxSize(8) @ValidateNested({ each: true }) @Type(() => HypervisorStatus) hypervisors!: HypervisorStatus[];
  @IsISO8601() checkedAt!: string;
}

/** `job.result` payload of the virtualization.* commands. */
export class VirtualizationResult {
  @ValidateNested() @Type(() => VirtualizationReport) report!: VirtualizationReport;
}
