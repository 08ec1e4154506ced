import type { HypervisorStatus, HypervisorType, VirtualizationConfigureNetworkParams } from '@sysfleet/protocol';
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
}

/** Output a parser did not expect: never guess, say what was wrong. */
export class ParseError extends Error {
  constructor(what: string, problem: string, line?: string) {
    super(`cannot parse ${what}: ${problem}${line !== undefined ? ` (line: ${JSON.stringify(line.slice(0, 200))})` : ''}`);
  }
}
