import type { ChildCreateParams, ChildCreateResult, ChildInfo, HypervisorStatus, HypervisorType, VirtualizationConfigureNetworkParams } from '@sysfleet/protocol';
import type { JobContext } from '../jobs/handler';

/** One hypervisor driver (KVM, vmd, WSL): detection, initialisation, network set-up. */
export interface Hypervisor {
  readonly type: HypervisorType;
  /** True on the platform this hypervisor runs on; other drivers report themselves unavailable without running tools. */
  applies(): boolean;
  detect(signal?: AbortSignal): Promise<HypervisorStatus>;
  /** Installs / enables what is missing, step by step; an initialised host passes through with "already" steps. */
  initialize(ctx: JobContext): Promise<void>;
  configureNetwork(params: VirtualizationConfigureNetworkParams, ctx: JobContext): Promise<void>;

  /** The hypervisor's child VMs. */
  readonly children: ChildOperations;
  /** Every VM of this hypervisor; null when it does not apply to the host or cannot be asked (not installed / not running). */
  listChildren(): Promise<ChildInfo[] | null>;
}

/** What a hypervisor does with its child VMs, one implementation per driver. */
export interface ChildOperations {
  /**
   * child.create: makes the VM step by step; a failure removes what was made (unless keepOnFailure) and
   * throws a StepError whose `result` is ChildCreateFailure.
   */
  create(params: ChildCreateParams, ctx: JobContext): Promise<ChildCreateResult>;
  /** Each returns the VM afterwards (stop: undefined when it does not exist, which is not an error). */
  start(name: string, ctx: JobContext): Promise<ChildInfo>;
  stop(name: string, force: boolean, ctx: JobContext): Promise<ChildInfo | undefined>;
  restart(name: string, ctx: JobContext): Promise<ChildInfo>;
  /** Idempotent: a VM that is not there is already deleted. */
  delete(name: string, deleteDisk: boolean, ctx: JobContext): Promise<void>;
  /** Every VM; null when the hypervisor cannot be asked. */
  list(): Promise<ChildInfo[] | null>;
}

/** Output a parser did not expect: never guess, say what was wrong. */
export class ParseError extends Error {
  constructor(what: string, problem: string, line?: string) {
    super(`cannot parse ${what}: ${problem}${line !== undefined ? ` (line: ${JSON.stringify(line.slice(0, 200))})` : ''}`);
  }
}
