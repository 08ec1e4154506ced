import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { DiskFact, HostFacts, InterfaceFact, Platform } from '@sysfleet/protocol';
import { run } from '../run';
import type { SimulationEnvironment } from '../simulation';
import { AGENT_VERSION } from '../version';

export interface CollectOptions {
  simulation?: SimulationEnvironment;
  /** Overridable for tests. */
  runCommand?: typeof run;
  readFile?: (file: string) => string;
}

const PLATFORM_OF: Partial<Record<NodeJS.Platform, Platform>> = {
  linux: 'linux', openbsd: 'openbsd', win32: 'windows', darwin: 'darwin', freebsd: 'freebsd',
};

export function currentPlatform(): Platform {
  const p = PLATFORM_OF[process.platform];
  if (!p) throw new Error(`unsupported platform ${process.platform}`);
  return p;
}

/** Parses /etc/os-release (KEY=value, values optionally quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2];
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    out[m[1]] = v;
  }
  return out;
}

const PSEUDO_FILESYSTEMS = new Set(['tmpfs', 'devtmpfs', 'proc', 'sysfs', 'devfs', 'udev', 'none', 'shm', 'cgroup', 'cgroup2', 'efivarfs', 'fdescfs', 'kernfs', 'mqueue']);
const PSEUDO_MOUNTS = /^\/(dev|proc|sys|run|snap)(\/|$)/;

/** Parses POSIX `df -kP` output into the real filesystems (not tmpfs, /proc, /sys, ...). */
export function parseDf(text: string): DiskFact[] {
  const disks: DiskFact[] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+%|-)\s+(\/.*)$/.exec(line.trim());
    if (!m) continue;
    const [, fs, sizeKb, , availKb, , mount] = m;
    if (PSEUDO_FILESYSTEMS.has(fs) || PSEUDO_MOUNTS.test(mount) || Number(sizeKb) === 0) continue;
    disks.push({ mount: mount.slice(0, 512), sizeBytes: Number(sizeKb) * 1024, freeBytes: Number(availKb) * 1024 });
  }
  return disks.slice(0, 256);
}

export function collectInterfaces(): InterfaceFact[] {
  const result: InterfaceFact[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    const list = (addrs ?? []).filter((a) => !a.internal);
    if (list.length === 0) continue;
    const mac = list.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac;
    const iface: InterfaceFact = { name: name.slice(0, 64), addresses: [...new Set(list.map((a) => a.address))].slice(0, 64) };
    if (mac) iface.mac = mac;
    result.push(iface);
  }
  return result.slice(0, 256);
}

async function collectDisks(runCommand: typeof run): Promise<DiskFact[]> {
  if (process.platform === 'win32') {
    // No df on Windows: report the system drive, which is what VMs are stored on by default.
    const drive = `${process.env.SystemDrive ?? 'C:'}\\`;
    try {
      const s = statfsSync(drive);
      return [{ mount: drive, sizeBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize }];
    } catch {
      return [];
    }
  }
  try {
    const r = await runCommand('df', ['-kP'], { timeoutMs: 10_000 });
    // df exits 1 when one mount cannot be read but still prints the others.
    return parseDf(r.stdout);
  } catch {
    return [];
  }
}

async function collectFqdn(hostname: string, runCommand: typeof run): Promise<string> {
  if (process.platform === 'win32') {
    const domain = process.env.USERDNSDOMAIN;
    return domain ? `${hostname}.${domain.toLowerCase()}` : hostname;
  }
  try {
    const r = await runCommand('hostname', ['-f'], { timeoutMs: 3_000 });
    const fqdn = r.stdout.trim();
    return r.code === 0 && fqdn && fqdn.length <= 253 && !/\s/.test(fqdn) ? fqdn : hostname;
  } catch {
    return hostname;
  }
}

function osNameAndVersion(platform: Platform, readFile: (f: string) => string): { osName: string; osVersion: string } {
  if (platform === 'linux') {
    try {
      const rel = parseOsRelease(readFile('/etc/os-release'));
      return { osName: rel.NAME || 'Linux', osVersion: rel.VERSION_ID || rel.BUILD_ID || rel.VERSION || '' };
    } catch {
      return { osName: 'Linux', osVersion: '' };
    }
  }
  if (platform === 'windows') return { osName: os.version() || 'Windows', osVersion: os.release() };
  return { osName: os.type(), osVersion: os.release() };
}

/** What this host is: sent in agent.hello and agent.facts. */
export async function collectFacts(opts: CollectOptions = {}): Promise<HostFacts> {
  const runCommand = opts.runCommand ?? run;
  const readFile = opts.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  const sim = opts.simulation;
  const platform = sim?.platform ?? currentPlatform();
  const hostname = os.hostname().slice(0, 253) || 'localhost';
  const [fqdn, disks] = await Promise.all([collectFqdn(hostname, runCommand), collectDisks(runCommand)]);
  const osInfo = sim ? { osName: sim.osName, osVersion: sim.osVersion } : osNameAndVersion(platform, readFile);
  const cpus = os.cpus();
  return {
    hostname,
    fqdn,
    platform,
    osName: osInfo.osName.slice(0, 128),
    osVersion: osInfo.osVersion.slice(0, 128),
    kernel: (sim?.kernel ?? os.release()).slice(0, 256),
    arch: os.arch().slice(0, 32),
    cpuModel: (cpus[0]?.model.trim() || 'unknown').slice(0, 256),
    cpuCount: Math.max(1, Math.min(65536, cpus.length || os.availableParallelism?.() || 1)),
    memoryTotalBytes: os.totalmem(),
    memoryFreeBytes: os.freemem(),
    disks,
    interfaces: collectInterfaces(),
    agentVersion: AGENT_VERSION.slice(0, 64),
  };
}

/** Below this share of the total, changes of free memory or disk space are noise, not news. */
export const FREE_SPACE_JITTER = 0.05;

/**
 * Whether facts changed enough to report: any change of the stable part (names, OS, sizes, disks,
 * interfaces), or free memory / disk space moving by at least 5% of the total.
 */
export function factsChanged(before: HostFacts, after: HostFacts): boolean {
  const stable = (f: HostFacts) => JSON.stringify({ ...f, memoryFreeBytes: 0, disks: f.disks.map((d) => ({ ...d, freeBytes: 0 })) });
  if (stable(before) !== stable(after)) return true;
  const moved = (a: number, b: number, total: number) => total > 0 && Math.abs(a - b) / total >= FREE_SPACE_JITTER;
  if (moved(before.memoryFreeBytes, after.memoryFreeBytes, after.memoryTotalBytes)) return true;
  return after.disks.some((d, i) => moved(before.disks[i].freeBytes, d.freeBytes, d.sizeBytes));
}
