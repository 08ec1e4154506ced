import {
  ChildActionParams, ChildCreateParams, ChildDeleteParams, ChildInfo, ChildListParams, ChildStopParams, ChildType, HYPERVISOR_ROLES, VirtualizationCheckParams, VirtualizationConfigureNetworkParams, VirtualizationInitializeParams, VirtualizationReport } from '@sysfleet/protocol';
import { CommandHandler, JobCancelledError, JobContext, StepError } from '../jobs/handler';
import type { AgentServices } from '../services';
import { hostPlatform } from './host';
import { KvmDriver } from './kvm/kvm.driver';
import { Hypervisor } from './types';
import { VmmDriver } from './vmm/vmm.driver';
import { WslDriver } from './wsl/wsl.driver';

export function hypervisorDrivers(env: NodeJS.ProcessEnv = process.env, stateDir?: string): Hypervisor[] {
  return [new KvmDriver(env, stateDir), new VmmDriver(env, stateDir), new WslDriver(env, stateDir)];
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

/**
 * Runs a step that changes the host, then detects afresh whatever the outcome: a failed initialise may
 * still have installed packages or started a daemon, and the server must see that. On failure the fresh
 * report rides in the failed job's result (StepError.result, queued in the outbox like any result) with
 * the step that failed and its message unchanged.
 */
async function thenDetect(env: NodeJS.ProcessEnv, ctx: JobContext, change: (ctx: JobContext) => Promise<void>): Promise<Result> {
  let lastStep: string | undefined;
  const tracking: JobContext = {
    ...ctx,
    progress: (step, message, percent) => {
      lastStep = step;
      return ctx.progress(step, message, percent);
    },
  };
  try {
    await change(tracking);
  } catch (e) {
    let report: VirtualizationReport;
    try {
      report = await buildVirtualizationReport(env);
    } catch {
      throw e; // detection failing too: the original failure is what the operator needs
    }
    if (e instanceof JobCancelledError) throw new StepError(lastStep ?? 'cancelled', e.message, { report });
    if (e instanceof StepError) throw new StepError(e.step, e.message, { ...e.result, report });
    throw new StepError(lastStep ?? 'start', e instanceof Error ? e.message : String(e), { report });
  }
  return { report: await buildVirtualizationReport(env) };
}

function driverFor(type: Hypervisor['type'], env: NodeJS.ProcessEnv, stateDir?: string): Hypervisor {
  const driver = hypervisorDrivers(env, stateDir).find((d) => d.type === type);
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
    run: (params, ctx) => thenDetect(env, ctx, (c) => driverFor(params.type, env).initialize(c)),
  };
  const configureNetwork: CommandHandler<VirtualizationConfigureNetworkParams, Result> = {
    command: 'virtualization.configure-network',
    params: VirtualizationConfigureNetworkParams,
    run: (params, ctx) => thenDetect(env, ctx, (c) => driverFor(params.type, env).configureNetwork(params, c)),
  };
  return [check, initialize, configureNetwork];
}

export const hypervisorHandlers: CommandHandler[] = createHypervisorHandlers();

/** Every VM of each hypervisor that can be asked on this host (the types listed are the ones the server may reconcile). */
export async function listAllChildren(env: NodeJS.ProcessEnv, stateDir: string): Promise<{ types: ChildType[]; children: ChildInfo[] }> {
  const types: ChildType[] = [];
  const children: ChildInfo[] = [];
  for (const driver of hypervisorDrivers(env, stateDir)) {
    const list = await driver.listChildren();
    if (list === null) continue;
    types.push(driver.type);
    children.push(...list);
  }
  return { types, children };
}

/**
 * The child.* command handlers (create, start, stop, restart, delete, list). Results carry `children`,
 * the VMs of that type afterwards, so the server reconciles without asking again.
 */
export function createChildHandlers(services: Pick<AgentServices, 'stateDir'>, env: NodeJS.ProcessEnv = process.env): CommandHandler[] {
  const driver = (type: ChildType): Hypervisor => {
    const d = driverFor(type, env, services.stateDir);
    if (!d.applies()) throw new StepError('validate', `${type} VMs cannot be made on this host`, { cleanedUp: true });
    return d;
  };
  const after = async (d: Hypervisor) => (await d.listChildren()) ?? [];
  const create: CommandHandler<ChildCreateParams> = {
    command: 'child.create',
    params: ChildCreateParams,
    run: async (params, ctx) => ({ ...(await driver(params.childType).children.create(params, ctx)) }),
  };
  const start: CommandHandler<ChildActionParams> = {
    command: 'child.start',
    params: ChildActionParams,
    run: async (params, ctx) => {
      const d = driver(params.childType);
      return { child: await d.children.start(params.name, ctx), children: await after(d) };
    },
  };
  const stop: CommandHandler<ChildStopParams> = {
    command: 'child.stop',
    params: ChildStopParams,
    run: async (params, ctx) => {
      const d = driver(params.childType);
      const child = await d.children.stop(params.name, params.force, ctx);
      return { ...(child ? { child } : {}), children: await after(d) };
    },
  };
  const restart: CommandHandler<ChildActionParams> = {
    command: 'child.restart',
    params: ChildActionParams,
    run: async (params, ctx) => {
      const d = driver(params.childType);
      return { child: await d.children.restart(params.name, ctx), children: await after(d) };
    },
  };
  const remove: CommandHandler<ChildDeleteParams> = {
    command: 'child.delete',
    params: ChildDeleteParams,
    run: async (params, ctx) => {
      const d = driver(params.childType);
      await d.children.delete(params.name, params.deleteDisk, ctx);
      return { children: await after(d) };
    },
  };
  const list: CommandHandler<ChildListParams> = {
    command: 'child.list',
    params: ChildListParams,
    run: async (_params, ctx) => {
      await ctx.progress('list', 'listing child VMs', 10);
      return listAllChildren(env, services.stateDir);
    },
  };
  return [create, start, stop, restart, remove, list];
}
