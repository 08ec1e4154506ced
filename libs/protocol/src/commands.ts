import { Type } from 'class-transformer';
import { IsIn, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { HostFacts } from './messages';

/**
 * Parameters of each command, validated by the agent before it runs anything.
 * Later commands (child.*) add their classes here.
 */
export const HYPERVISOR_TYPES = ['kvm', 'vmm', 'wsl'] as const;
export type HypervisorType = (typeof HYPERVISOR_TYPES)[number];
export const HYPERVISOR_ROLES: Record<HypervisorType, string> = { kvm: 'kvm_host', vmm: 'vmm_host', wsl: 'wsl_host' };
/** Which platform each hypervisor runs on. */
export const HYPERVISOR_PLATFORM: Record<HypervisorType, string> = { kvm: 'linux', vmm: 'openbsd', wsl: 'windows' };

/** Names that reach a tool (VMs, users, hosts, interfaces) must match these before use. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
export const HOSTNAME_PATTERN = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
export const USERNAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
export const INTERFACE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,14}$/;

export class InventoryRefreshParams {}

/** Result of inventory.refresh: the facts collected afresh. */
export class InventoryRefreshResult {
  @ValidateNested() @Type(() => HostFacts) facts!: HostFacts;
}
export class VirtualizationCheckParams {}

export class VirtualizationInitializeParams {
  @IsIn(HYPERVISOR_TYPES) type!: HypervisorType;
}

export const NETWORK_MODES = ['nat', 'bridge', 'local', 'bridged', 'routed'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export class VirtualizationConfigureNetworkParams {
  @IsIn(HYPERVISOR_TYPES) type!: HypervisorType;
  @IsIn(NETWORK_MODES) mode!: NetworkMode;
  /** Host interface for bridge / bridged / routed modes. */
  @IsOptional() @IsString() @Matches(INTERFACE_PATTERN) interface?: string;
  /** IPv4 subnet in CIDR for NAT / routed modes. */
  @IsOptional() @IsString() @MaxLength(18) @Matches(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/) subnet?: string;
  /** Remove what a previous routed set-up added (vmd). */
  @IsOptional() remove?: boolean;
}
