import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateNested,
} from 'class-validator';
import { HOSTNAME_PATTERN, HYPERVISOR_TYPES, HypervisorType, INTERFACE_PATTERN, NAME_PATTERN, NETWORK_MODES, NetworkMode, USERNAME_PATTERN } from './commands';

/**
 * The child.* commands: create, start, stop, restart, delete and list the child VMs of a host.
 *
 * Contract for the agent:
 * - Every child.* command names its hypervisor with `childType` (kvm | vmm | wsl) and the VM with `name`
 *   (NAME_PATTERN). Jobs of one child are serialized by the server (serial key `child:<hostId>:<name>`).
 * - child.create receives FINAL install commands: the server has filled every `{{placeholder}}`.
 *   The agent runs them one by one, in order, as root in the guest: over SSH as `username` wrapped as
 *   `sudo -n sh -c '<command>'` (Linux) or `doas -n sh -c '<command>'` (OpenBSD), and for WSL as
 *   `wsl.exe -d <name> -u root -- sh -c '<command>'`. It reports each command's exit status and output tail
 *   as progress, and stops at the first failing command with an error naming it.
 * - `agentInstall` and `distribution.installCommands` carry the child's enrolment token: they arrive
 *   through the job's secret parameters and must never be logged or echoed back in progress messages
 *   (report the command with the token replaced by `***`).
 * - A failed create cleans up what it made unless `keepOnFailure`; the failed job.result carries
 *   ChildCreateFailure so the server knows whether anything is left.
 * - child.delete and child.stop of a VM that does not exist succeed (idempotent); the result has no `child`.
 * - Results may carry `children`: the full list of VMs of that `childType` after the action, so the
 *   server can reconcile without a separate child.list.
 */
export const CHILD_TYPES = HYPERVISOR_TYPES;
export type ChildType = HypervisorType;

/** States an agent reports for a VM. */
export const CHILD_VM_STATES = ['running', 'stopped', 'paused', 'creating', 'error'] as const;
export type ChildVmState = (typeof CHILD_VM_STATES)[number];

/**
 * The firmware a guest boots with. `bios` (the default) is SeaBIOS, what cloud images boot; `uefi` is
 * OVMF, needed by UEFI-only images such as Home Assistant OS (KVM: virt-install `--boot uefi`).
 */
export const FIRMWARE_TYPES = ['bios', 'uefi'] as const;
export type Firmware = (typeof FIRMWARE_TYPES)[number];

/** One OpenSSH public key line: type, base64 blob, optional comment (no newlines). */
export const SSH_PUBLIC_KEY_PATTERN = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+={0,3}( [^\r\n\0]{1,200})?$/;
export const SHA256_HEX_PATTERN = /^[a-f0-9]{64}$/;
/** SHA-512 crypt ("$6$"), as `chpasswd -e` and cloud-init `passwd:` take it. */
export const SHA512_CRYPT_PATTERN = /^\$6\$(rounds=\d{4,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}$/;
/** Enrolment token secrets (`sfe_` + 43 base64url characters). */
export const ENROLLMENT_TOKEN_PATTERN = /^sfe_[A-Za-z0-9_-]{43}$/;

/** Placeholders an install command template may use; the server fills them before sending. */
export const INSTALL_PLACEHOLDERS = ['serverUrl', 'enrollmentToken', 'agentSha256', 'hostname', 'username'] as const;
export type InstallPlaceholder = (typeof INSTALL_PLACEHOLDERS)[number];
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** Placeholders used in `template` that are not in INSTALL_PLACEHOLDERS. */
export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(INSTALL_PLACEHOLDERS);
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((name) => !known.has(name));
}

/** Fills `{{name}}` placeholders. Values are validated by their patterns before this, so they are shell-safe. */
export function fillInstallCommand(template: string, values: Record<InstallPlaceholder, string>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => ((INSTALL_PLACEHOLDERS as readonly string[]).includes(name) ? values[name as InstallPlaceholder] : whole));
}

export const MAX_INSTALL_COMMANDS = 50;
export const MAX_INSTALL_COMMAND_LENGTH = 4000;

export class ChildNetwork {
  /** Defaults to the hypervisor's configured network (kvm: nat, vmm: local, wsl: nat). */
  @IsOptional() @IsIn(NETWORK_MODES) mode?: NetworkMode;
  /** Host interface or bridge for bridge / bridged modes. */
  @IsOptional() @IsString() @Matches(INTERFACE_PATTERN) interface?: string;
}

/** The catalogue entry the VM is made from. */
export class ChildDistribution {
  @IsString() @Matches(NAME_PATTERN) name!: string;
  @IsString() @MinLength(1) @MaxLength(64) version!: string;
  /** WSL: the `wsl --install -d` name (e.g. Ubuntu-24.04); kvm: the virt-install --osinfo name; vmm: informative. */
  @IsString() @MinLength(1) @MaxLength(128) @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/) installIdentifier!: string;
  /** Cloud image, install image or ISO (http/https). Compressed images end in .xz or .gz and are unpacked after the check. */
  @IsOptional() @IsString() @MaxLength(2048) @Matches(/^https?:\/\/[^\s"'`\\]+$/) imageUrl?: string;
  /** Pinned SHA-256 of the downloaded file (as downloaded, before unpacking). Wins over checksumUrl. */
  @IsOptional() @IsString() @Matches(SHA256_HEX_PATTERN) sha256?: string;
  /**
   * A checksum list to look the image up in when no sha256 is pinned: GNU lines (`<hex>  [*]<file>`),
   * BSD lines (`SHA256 (<file>) = <hex>`, also SHA512), or a file holding only one hash. The algorithm
   * follows the hash length (64 hex = SHA-256, 128 hex = SHA-512). The entry matching the image's file
   * name is used; no entry, or a mismatch, fails the create before anything is made.
   */
  @IsOptional() @IsString() @MaxLength(2048) @Matches(/^https?:\/\/[^\s"'`\\]+$/) checksumUrl?: string;
  /** An appliance (e.g. Home Assistant OS) is imported as it is: no cloud-init user, no SSH, no agent. */
  @IsBoolean() appliance!: boolean;
  /** Final commands (placeholders filled), run in order as root in the guest. Empty for appliances. */
  @IsArray() @ArrayMaxSize(MAX_INSTALL_COMMANDS) @IsString({ each: true }) @MinLength(1, { each: true }) @MaxLength(MAX_INSTALL_COMMAND_LENGTH, { each: true })
  @Matches(/^[^\0]+$/, { each: true })
  installCommands!: string[];
}

/** What the guest needs to fetch, check and enrol the agent. */
export class ChildAgentInstall {
  /** The server's public URL; the bundle is at `${serverUrl}/agent/sysfleet-agent.cjs`. */
  @IsString() @MaxLength(2048) @Matches(/^https?:\/\/[^\s"'`\\]+$/) serverUrl!: string;
  /** The child's own single-use, auto-approving token that names its parent. Secret. */
  @IsString() @Matches(ENROLLMENT_TOKEN_PATTERN) enrollmentToken!: string;
  /** SHA-256 of the agent bundle the server serves. */
  @IsString() @Matches(SHA256_HEX_PATTERN) agentSha256!: string;
}

export class ChildCreateParams {
  @IsIn(CHILD_TYPES) childType!: ChildType;
  @IsString() @Matches(NAME_PATTERN) name!: string;
  @IsString() @Matches(HOSTNAME_PATTERN) hostname!: string;
  @IsInt() @Min(1) @Max(256) vcpus!: number;
  @IsInt() @Min(128) @Max(4 * 1024 * 1024) memoryMb!: number;
  @IsInt() @Min(1) @Max(65536) diskGb!: number;
  /** The guest user made by cloud-init / autoinstall / WSL, with sudo (doas) rights. */
  @IsString() @Matches(USERNAME_PATTERN) username!: string;
  /** SHA-512 crypt of the user's password; never the password. Absent: key-only login. Secret. */
  @IsOptional() @IsString() @Matches(SHA512_CRYPT_PATTERN) passwordHash?: string;
  /** Authorised keys for `username` (besides the one-off key the agent makes for itself). */
  @IsArray() @ArrayMaxSize(32) @IsString({ each: true }) @Matches(SSH_PUBLIC_KEY_PATTERN, { each: true }) sshPublicKeys!: string[];
  @IsOptional() @ValidateNested() @Type(() => ChildNetwork) network?: ChildNetwork;
  @ValidateNested() @Type(() => ChildDistribution) distribution!: ChildDistribution;
  /** The distribution's firmware; absent means bios. kvm boots uefi with OVMF (virt-install --boot uefi). */
  @IsOptional() @IsIn(FIRMWARE_TYPES) firmware?: Firmware;
  /** Null for appliances: nothing is installed. Secret (holds the enrolment token). */
  @IsOptional() @ValidateNested() @Type(() => ChildAgentInstall) agentInstall!: ChildAgentInstall | null;
  /** Keep the disk, domain and seed of a failed create for debugging instead of removing them. */
  @IsBoolean() keepOnFailure!: boolean;
}

export class ChildActionParams {
  @IsIn(CHILD_TYPES) childType!: ChildType;
  @IsString() @Matches(NAME_PATTERN) name!: string;
}

export class ChildStopParams extends ChildActionParams {
  /** Power off at once (virsh destroy, vmctl stop -f, wsl --terminate) instead of a clean shutdown. */
  @IsBoolean() force!: boolean;
}

export class ChildDeleteParams extends ChildActionParams {
  /** Remove the VM's disks too (virsh undefine --remove-all-storage, vmctl disk file, wsl --unregister always does). */
  @IsBoolean() deleteDisk!: boolean;
}

/** child.list lists every hypervisor of the host that is initialised. */
export class ChildListParams {}

/** One VM as the agent sees it. */
export class ChildInfo {
  @IsString() @Matches(NAME_PATTERN) name!: string;
  @IsIn(CHILD_TYPES) childType!: ChildType;
  @IsIn(CHILD_VM_STATES) state!: ChildVmState;
  @IsOptional() @IsInt() @Min(0) @Max(4096) vcpus?: number;
  @IsOptional() @IsInt() @Min(0) memoryMb?: number;
  @IsOptional() @IsInt() @Min(0) diskGb?: number;
  /** The guest's address (DHCP lease, vmd local address, WSL eth0). */
  @IsOptional() @IsString() @MaxLength(64) @Matches(/^[0-9a-fA-F.:]+$/) ip?: string;
  /** Free text from the tool (e.g. WSL version, vmd console tty). */
  @IsOptional() @IsString() @MaxLength(500) details?: string;
}

export class ChildListResult {
  /** The hypervisors that were listed; the server marks missing VMs gone only for these. */
  @IsArray() @ArrayMaxSize(3) @IsIn(CHILD_TYPES, { each: true }) types!: ChildType[];
  @IsArray() @ArrayMaxSize(4096) @ValidateNested({ each: true }) @Type(() => ChildInfo) children!: ChildInfo[];
}

export class ChildCreateResult {
  @ValidateNested() @Type(() => ChildInfo) child!: ChildInfo;
  /** True once the agent was installed and started in the guest (false for appliances). */
  @IsBoolean() agentInstalled!: boolean;
  /** Every VM of the child's type after the create. */
  @IsOptional() @IsArray() @ArrayMaxSize(4096) @ValidateNested({ each: true }) @Type(() => ChildInfo) children?: ChildInfo[];
}

/** The `result` of a FAILED child.create (sent with status failed). */
export class ChildCreateFailure {
  /** True when nothing of the VM is left on the host (the server then forgets the child). */
  @IsBoolean() cleanedUp!: boolean;
  /** What was kept for debugging (keepOnFailure), e.g. "domain web1, disk /var/lib/libvirt/images/web1.qcow2". */
  @IsOptional() @IsString() @MaxLength(2000) kept?: string;
}

export class ChildActionResult {
  /** The VM after the action; absent when it does not exist (any more). */
  @IsOptional() @ValidateNested() @Type(() => ChildInfo) child?: ChildInfo;
  @IsOptional() @IsArray() @ArrayMaxSize(4096) @ValidateNested({ each: true }) @Type(() => ChildInfo) children?: ChildInfo[];
}
