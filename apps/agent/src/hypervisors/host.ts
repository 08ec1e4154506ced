import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HypervisorStatus, HypervisorType, Platform } from '@sysfleet/protocol';
import { JobContext, StepError } from '../jobs/handler';
import { run, RunOptions, RunResult, tail } from '../run';

/**
 * A path on the host. Drivers read host files only through this, so the simulator can give them its
 * own root: SYSFLEET_HOST_ROOT, '/' in production.
 */
export function hostPath(p: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SYSFLEET_HOST_ROOT ?? '/', p);
}

/** The host's platform: SYSFLEET_HOST_PLATFORM (set by the simulator), else Node's process.platform. */
export function hostPlatform(env: NodeJS.ProcessEnv = process.env): Platform {
  const fromEnv = env.SYSFLEET_HOST_PLATFORM;
  if (fromEnv === 'linux' || fromEnv === 'openbsd' || fromEnv === 'windows' || fromEnv === 'darwin' || fromEnv === 'freebsd') return fromEnv;
  return process.platform === 'win32' ? 'windows' : (process.platform as Platform);
}

export function readHostFile(p: string, env: NodeJS.ProcessEnv): string | null {
  try {
    return readFileSync(hostPath(p, env), 'utf8');
  } catch {
    return null;
  }
}

export function hostFileExists(p: string, env: NodeJS.ProcessEnv): boolean {
  return existsSync(hostPath(p, env));
}

/**
 * True when the path exists, also as a symlink whose target does not resolve from here: OpenRC's runlevel
 * links point at an absolute /etc/init.d/..., which under a SYSFLEET_HOST_ROOT is not the host's.
 */
export function hostEntryExists(p: string, env: NodeJS.ProcessEnv): boolean {
  try {
    lstatSync(hostPath(p, env));
    return true;
  } catch {
    return false;
  }
}

export const QUICK_MS = 60_000;
export const INSTALL_MS = 30 * 60_000;

/** The tools of one host, run through run() with the host's environment and a timeout. */
export class HostTools {
  constructor(readonly env: NodeJS.ProcessEnv) {}

  /** Runs a tool; null when the host does not have it (not on PATH, or a wrapper's exit 127 "command not found"). */
  async probe(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult | null> {
    try {
      const r = await run(command, args, { timeoutMs: QUICK_MS, ...opts, env: { ...this.env, ...opts.env } });
      return r.code === 127 ? null : r;
    } catch (e) {
      if (/ENOENT|cannot run/.test((e as Error).message)) return null;
      throw e;
    }
  }

  /** Runs a step's tool; a missing tool or a non-zero exit becomes a StepError naming the step and the tool's output. */
  async step(step: string, command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.probe(command, args, opts);
    if (!r) throw new StepError(step, `${command} is not installed on this host`);
    if (r.code !== 0) {
      const what = r.timedOut ? `timed out after ${Math.round((opts.timeoutMs ?? QUICK_MS) / 1000)} s` : `exited with ${r.code}`;
      throw new StepError(step, `${[command, ...args].join(' ')} ${what}: ${tail(r.stderr || r.stdout, 1500) || '(no output)'}`);
    }
    return r;
  }
}

/** Reports a step and checks for cancellation first. */
export async function progress(ctx: JobContext, step: string, message: string, percent: number): Promise<void> {
  ctx.throwIfCancelled();
  await ctx.progress(step, message, percent);
}

/** The status of a hypervisor that does not belong to this platform. */
export function unavailableStatus(type: HypervisorType, needs: string, platform: Platform): HypervisorStatus {
  return {
    type, available: false, installed: false, enabled: false, running: false, initialized: false, cpuSupported: false, kernelSupported: false,
    needsInstall: false, needsEnable: false, needsReboot: false, version: null, networks: [], details: [`${type} runs on ${needs}; this host is ${platform}`],
  };
}

/** IPv4 CIDR -> gateway (.1), netmask, DHCP range (.2 - .254 of a /24-style block). */
export function subnetPlan(cidr: string): { network: string; prefix: number; gateway: string; netmask: string; dhcpStart: string; dhcpEnd: string } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) throw new StepError('validate', `subnet ${cidr} is not an IPv4 network between /8 and /30`);
  const ip = octets.reduce((a, o) => a * 256 + o, 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (ip & mask) >>> 0;
  const size = 2 ** (32 - prefix);
  const str = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  return { network: str(net), prefix, gateway: str(net + 1), netmask: str(mask), dhcpStart: str(net + 2), dhcpEnd: str(net + Math.min(size - 2, 254)) };
}

/** Netmask -> prefix length, for reporting subnets from tool output. */
export function netmaskPrefix(netmask: string): number {
  return netmask.split('.').reduce((bits, o) => bits + Number(o).toString(2).replace(/0/g, '').length, 0);
}

const BEGIN = '# BEGIN sysfleet';
const END = '# END sysfleet';

/**
 * Puts `body` between "# BEGIN sysfleet" and "# END sysfleet" in a config file's text, replacing a previous
 * block or appending one; `body` null removes the block. Every byte outside the block is kept as it was.
 */
export function replaceMarkedBlock(text: string, body: string | null): string {
  const start = text.indexOf(BEGIN + '\n');
  const endAt = start >= 0 ? text.indexOf(END + '\n', start) : -1;
  if (start >= 0 && endAt < 0) throw new StepError('validate', `found "${BEGIN}" without "${END}": fix the file by hand first`);
  const block = body === null ? '' : `${BEGIN}\n${body.endsWith('\n') ? body : body + '\n'}${END}\n`;
  if (start >= 0) return text.slice(0, start) + block + text.slice(endAt + END.length + 1);
  if (body === null) return text;
  return text + (text === '' || text.endsWith('\n') ? '' : '\n') + block;
}

/** The text between the markers, or null when there is no block. */
export function markedBlock(text: string): string | null {
  const start = text.indexOf(BEGIN + '\n');
  const endAt = start >= 0 ? text.indexOf(END + '\n', start) : -1;
  return start >= 0 && endAt >= 0 ? text.slice(start + BEGIN.length + 1, endAt) : null;
}
