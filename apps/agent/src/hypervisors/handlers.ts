import { HYPERVISOR_ROLES, VirtualizationCheckParams, VirtualizationConfigureNetworkParams, VirtualizationInitializeParams, VirtualizationReport } from '@sysfleet/protocol';
import type { CommandHandler } from '../jobs/handler';
import { hostPlatform } from './host';
import { KvmDriver } from './kvm/kvm.driver';
import { Hypervisor } from './types';
import { VmmDriver } from './vmm/vmm.driver';
import { WslDriver } from './wsl/wsl.driver';

export function hypervisorDrivers(env: NodeJS.ProcessEnv = process.env): Hypervisor[] {
  return [new KvmDriver(env), new VmmDriver(env), new WslDriver(env)];
}

/** Detects every hypervisor (drivers of other platforms answer "not available" without running tools). */
export async function buildVirtualizationReport(env: NodeJS.ProcessEnv = process.env): Promise<VirtualizationReport> {
  const hypervisors = [];
  for (const driver of hypervisorDrivers(env)) hypervisors.push(await driver.detect());
  return {
    platform: hostPlatform(env),
    roles: hypervisors.filter((h) => h.initialized).map((h) => HYPERVISOR_ROLES[h.type]),
    hypervisors,
    checkedAt: new Date().toISOString(),
  };
}

type Result = { report: VirtualizationReport };

function driverFor(type: Hypervisor['type'], env: NodeJS.ProcessEnv): Hypervisor {
  const driver = hypervisorDrivers(env).find((d) => d.type === type);
  if (!driver) throw new Error(`no driver for ${type}`);
  return driver;
}

/**
 * The virtualization.* command handlers. `env` is read at each call (process.env by default), so the CLI's
 * --simulate may set SYSFLEET_HOST_ROOT / SYSFLEET_HOST_PLATFORM / PATH before or after building them.
 */
export function createHypervisorHandlers(env: NodeJS.ProcessEnv = process.env): CommandHandler[] {
  const check: CommandHandler<VirtualizationCheckParams, Result> = {
    command: 'virtualization.check',
    params: VirtualizationCheckParams,
    run: async (_params, ctx) => {
      await ctx.progress('detect', 'detecting hypervisors', 10);
      return { report: await buildVirtualizationReport(env) };
    },
  };
  const initialize: CommandHandler<VirtualizationInitializeParams, Result> = {
    command: 'virtualization.initialize',
    params: VirtualizationInitializeParams,
    run: async (params, ctx) => {
      await driverFor(params.type, env).initialize(ctx);
      return { report: await buildVirtualizationReport(env) };
    },
  };
  const configureNetwork: CommandHandler<VirtualizationConfigureNetworkParams, Result> = {
    command: 'virtualization.configure-network',
    params: VirtualizationConfigureNetworkParams,
    run: async (params, ctx) => {
      await driverFor(params.type, env).configureNetwork(params, ctx);
      return { report: await buildVirtualizationReport(env) };
    },
  };
  return [check, initialize, configureNetwork];
}

export const hypervisorHandlers: CommandHandler[] = createHypervisorHandlers();
