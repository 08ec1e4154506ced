import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { readConfig, readState, SimConfig, SimState, STATE_FILE } from './state';
import { LINUX_TOOLS, linuxToolInstalled } from './tools/linux';
import { OPENBSD_TOOLS } from './tools/openbsd';
import { WINDOWS_TOOLS } from './tools/windows';
import { join } from 'node:path';

export interface ToolCall {
  tool: string;
  args: string[];
  stateDir: string;
  hostRoot: string;
  config: SimConfig;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface ToolOutput {
  stdout?: string | Buffer;
  stderr?: string;
  code: number;
}

export type ToolImpl = (call: ToolCall) => ToolOutput;

const TOOLS: Record<string, ToolImpl> = { ...LINUX_TOOLS, ...OPENBSD_TOOLS, ...WINDOWS_TOOLS };

/** True when the config's `fail` key names this call: the tool, then its words in order among the arguments. */
export function matchesFailure(key: string, tool: string, args: string[]): boolean {
  const [keyTool, ...words] = key.trim().split(/\s+/);
  if (keyTool !== tool) return false;
  let i = 0;
  for (const a of args) if (i < words.length && a === words[i]) i++;
  return i === words.length;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether the simulated host has this program at all (a package not installed yet has not). */
function installed(tool: string, state: SimState, config: SimConfig): boolean {
  if (state.kind === 'kvm') return linuxToolInstalled(tool, state, config);
  return true;
}

export const CALLS_FILE = 'calls.jsonl';

/** One tool call as the simulated host saw it, in the order made (also calls of tools the host does not have). */
export interface SimCall {
  tool: string;
  args: string[];
}

/** Appends the call to calls.jsonl: one short line per call, appended in one write, so concurrent callers do not interleave. */
function recordCall(stateDir: string, tool: string, args: string[]): void {
  appendFileSync(join(stateDir, CALLS_FILE), JSON.stringify({ tool, args }) + '\n');
}

/** Every tool call made on the simulated host while `recordCalls` was on, oldest first; tests assert the commands a driver ran. */
export function readSimCalls(stateDir: string): SimCall[] {
  let text: string;
  try {
    text = readFileSync(join(stateDir, CALLS_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as SimCall);
}

/** Runs one simulated tool call; pure apart from the state directory, so tests may call it in-process. */
export function runTool(tool: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ToolOutput {
  const stateDir = env.SYSFLEET_SIM_STATE;
  if (!stateDir) return { stderr: `${tool}: host-sim: SYSFLEET_SIM_STATE is not set\n`, code: 2 };
  if (!existsSync(join(stateDir, STATE_FILE))) return { stderr: `${tool}: host-sim: ${stateDir} holds no simulated host (create it with simulationEnvironment())\n`, code: 2 };
  const config = readConfig(stateDir);
  if (config.recordCalls) recordCall(stateDir, tool, args);
  const impl = TOOLS[tool];
  if (!impl) return { stderr: `${tool}: command not found\n`, code: 127 };
  if (config.delayMs) sleepSync(config.delayMs);
  if (!installed(tool, readState(stateDir), config)) return { stderr: `${tool}: command not found\n`, code: 127 };
  for (const [key, message] of Object.entries(config.fail ?? {})) {
    if (matchesFailure(key, tool, args)) return { stderr: message.endsWith('\n') ? message : message + '\n', code: 1 };
  }
  return impl({ tool, args, stateDir, hostRoot: env.SYSFLEET_HOST_ROOT ?? join(stateDir, 'root'), config, env, cwd });
}

/** Entry point of every bin/<platform>/<tool> script. */
export function main(tool: string): void {
  let out: ToolOutput;
  try {
    out = runTool(tool, process.argv.slice(2));
  } catch (e) {
    out = { stderr: `${tool}: host-sim internal error: ${(e as Error).stack ?? String(e)}\n`, code: 70 };
  }
  if (out.stderr) process.stderr.write(out.stderr);
  if (out.stdout !== undefined && out.stdout.length > 0) process.stdout.write(out.stdout);
  process.exitCode = out.code;
}
