/** Shapes of the JSON the server answers with: the DTOs in each feature folder of apps/server/src. */

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  username: string;
  role: Role;
  disabled?: boolean;
  createdAt?: string;
  lastLoginAt?: string | null;
}

export interface ListResult<T> {
  items: T[];
  total: number;
}

export const HOST_STATUSES = ['pending', 'approved', 'rejected', 'revoked'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

export interface Disk {
  mount: string;
  sizeBytes: number;
  freeBytes: number;
}

export interface NetInterface {
  name: string;
  mac?: string | null;
  addresses?: string[];
}

export interface HostFacts {
  cpuModel?: string;
  cpuCount?: number;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  disks?: Disk[];
  interfaces?: NetInterface[];
  [key: string]: unknown;
}

export interface Host {
  id: string;
  hostname: string;
  fqdn?: string | null;
  fingerprint: string;
  status: HostStatus;
  platform: string;
  osName?: string | null;
  osVersion?: string | null;
  arch?: string | null;
  agentVersion?: string | null;
  online: boolean;
  lastSeenAt?: string | null;
  firstSeenAt?: string | null;
  roles: string[];
  parentHostId?: string | null;
  statusReason?: string | null;
  approvedAt?: string | null;
  approvedBy?: string | null;
  createdAt?: string;
  /** Only on GET /api/hosts/:id; lists and live events leave it out. */
  facts?: HostFacts | null;
}

export const JOB_STATUSES = ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'expired'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export interface JobEvent {
  /** null for events the server added itself. */
  seq: number | null;
  source?: 'agent' | 'server';
  step: string;
  message?: string | null;
  percent?: number | null;
  at: string;
}

export interface Job {
  id: string;
  hostId: string | null;
  type: string;
  params?: unknown;
  status: JobStatus;
  step?: string | null;
  percent?: number | null;
  result?: unknown;
  error?: string | null;
  /** The step a failed job stopped at. */
  failedStep?: string | null;
  createdBy?: string | null;
  deadlineAt?: string;
  cancelRequestedAt?: string | null;
  startedAt?: string | null;
  createdAt: string;
  updatedAt?: string;
  finishedAt?: string | null;
  events?: JobEvent[];
}

export const HYPERVISOR_TYPES = ['kvm', 'vmm', 'wsl'] as const;
export type HypervisorType = (typeof HYPERVISOR_TYPES)[number];
/** Host roles the agent reports for each hypervisor (protocol HYPERVISOR_ROLES). */
export const HOST_ROLES = ['kvm_host', 'vmm_host', 'wsl_host'] as const;
/** Forward modes a reported network can have (protocol HYPERVISOR_NETWORK_MODES). */
export const HYPERVISOR_NETWORK_MODES = ['nat', 'bridge', 'route', 'open', 'isolated', 'local', 'bridged', 'routed'] as const;
export const PLATFORMS = ['linux', 'openbsd', 'windows', 'darwin', 'freebsd'] as const;

export interface VirtNetwork {
  name: string;
  active: boolean;
  autostart: boolean;
  mode: string;
}

export interface Hypervisor {
  type: HypervisorType;
  available: boolean;
  installed: boolean;
  enabled: boolean;
  running: boolean;
  initialized: boolean;
  cpuSupported: boolean;
  kernelSupported: boolean;
  needsInstall: boolean;
  needsEnable: boolean;
  needsReboot: boolean;
  version?: string | null;
  networks: VirtNetwork[];
  details: string[];
}

export interface Virtualization {
  platform: string;
  roles: string[];
  hypervisors: Hypervisor[];
  checkedAt?: string | null;
}

export interface Distribution {
  id: string;
  childType: HypervisorType;
  name: string;
  version: string;
  displayName: string;
  installIdentifier: string;
  imageUrl?: string | null;
  sha256?: string | null;
  checksumUrl?: string | null;
  defaultVcpus: number;
  defaultMemoryMb: number;
  defaultDiskGb: number;
  installCommands: string[];
  enabled: boolean;
  appliance?: boolean;
  /** How the VM boots (KVM only): `uefi` for images that need it, e.g. Home Assistant OS. */
  firmware?: 'bios' | 'uefi';
  notes?: string | null;
}

export const CHILD_STATES = ['creating', 'running', 'stopped', 'paused', 'error', 'gone', 'deleting'] as const;
export type ChildState = (typeof CHILD_STATES)[number];

export interface ChildVm {
  id: string;
  hostId: string;
  name: string;
  childType: HypervisorType;
  distributionId?: string | null;
  hostname: string;
  state: ChildState;
  ip?: string | null;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  username?: string;
  /** The enrolled guest's own host record, once its agent has enrolled. */
  childHostId?: string | null;
  childHostStatus?: string | null;
  childHostOnline?: boolean | null;
  createJobId?: string | null;
  deleteJobId?: string | null;
  /** Why the last create or delete failed. */
  error?: string | null;
  createdAt: string;
}

/**
 * GET /api/hosts/:id/children/capacity?childType=: the biggest VM the server accepts now, i.e. the host's free
 * memory and disk less the reserve it keeps and what creates under way have claimed.
 */
export interface ChildCapacity {
  childType: HypervisorType;
  availableMemoryMb: number;
  availableDiskGb: number;
  reserveMemoryMb: number;
  reserveDiskGb: number;
}

export interface EnrollmentToken {
  id: string;
  secret?: string;
  uses: number;
  usesLeft?: number;
  usedCount?: number;
  expiresAt?: string | null;
  autoApprove: boolean;
  note?: string | null;
  createdAt?: string;
  revokedAt?: string | null;
  state?: 'active' | 'expired' | 'used-up' | 'revoked';
}

export interface SshKey {
  id: string;
  name: string;
  fingerprint?: string;
  publicKey?: string;
  /** True when the server made the pair and keeps the private half. */
  generated?: boolean;
  createdBy?: string;
  createdAt?: string;
}

export interface AuditEvent {
  id: string;
  actor: string;
  actorId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  outcome: string;
  sourceIp?: string | null;
  details?: unknown;
  createdAt: string;
}
