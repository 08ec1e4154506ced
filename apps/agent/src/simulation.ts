import * as hostSim from '@sysfleet/host-sim';
import { HypervisorType, Platform } from '@sysfleet/protocol';
import { isPlainObject } from './fs-util';

/** What the host simulator makes this host look like (libs/host-sim's simulationEnvironment()). */
export interface SimulationEnvironment {
  platform: Extract<Platform, 'linux' | 'openbsd' | 'windows'>;
  osName: string;
  osVersion: string;
  kernel: string;
  hostRoot: string;
  env: Record<string, string>;
}

const SIMULATED_PLATFORMS: readonly string[] = ['linux', 'openbsd', 'windows'];

export type SimulationProvider = (kind: HypervisorType, stateDir: string) => unknown;

/** libs/host-sim's entry point, looked up by name so the agent builds even before it exists. */
function hostSimProvider(): SimulationProvider {
  const fn = (hostSim as Record<string, unknown>).simulationEnvironment;
  if (typeof fn !== 'function') throw new Error('this agent build has no host simulator (libs/host-sim exports no simulationEnvironment)');
  return fn as SimulationProvider;
}

/** Checks what the simulator returned, so a wrong shape fails at start with a clear message. */
export function checkSimulationEnvironment(raw: unknown): SimulationEnvironment {
  const fail = (what: string): never => {
    throw new Error(`host simulator returned an invalid environment: ${what}`);
  };
  if (!isPlainObject(raw)) return fail('not an object');
  if (typeof raw.platform !== 'string' || !SIMULATED_PLATFORMS.includes(raw.platform)) fail('platform');
  for (const key of ['osName', 'osVersion', 'kernel', 'hostRoot'] as const) if (typeof raw[key] !== 'string') fail(key);
  if (!isPlainObject(raw.env) || Object.values(raw.env).some((v) => typeof v !== 'string')) fail('env');
  return raw as unknown as SimulationEnvironment;
}

/**
 * Sets up simulation for `kind`: the simulator's env (its tools first on PATH, its state dir) is merged
 * into process.env, so every run() of the drivers reaches the simulated tools.
 */
export function startSimulation(kind: HypervisorType, stateDir: string, provider: SimulationProvider = hostSimProvider()): SimulationEnvironment {
  const sim = checkSimulationEnvironment(provider(kind, stateDir));
  Object.assign(process.env, sim.env);
  return sim;
}
