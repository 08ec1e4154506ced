import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | null = null;
/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat). */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    const out = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    clockTicks = Number.isInteger(out) && out > 0 ? out : 100;
  }
  return clockTicks;
}

/**
 * The kernel's count of connections dropped because a listen queue was full (TcpExtListenOverflows,
 * this network namespace): each drop costs the connecting agent a SYN retransmit of 1-7 s.
 */
export function listenOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:')).map((l) => l.split(/\s+/));
  const at = names?.indexOf('ListenOverflows') ?? -1;
  return at > 0 && values ? Number(values[at]) : NaN;
}

/** Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU time (user + system) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc/${pid}/stat`);
  return (utime + stime) / ticksPerSecond();
}

/** Average CPU use of a process over `seconds`, in percent of one core. */
export async function cpuPercentOver(pid: number, seconds: number): Promise<number> {
  const before = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = cpuSeconds(pid) - before;
  return (used / ((performance.now() - t0) / 1000)) * 100;
}

/** Redis' own view of its memory: used_memory_rss of INFO memory, in bytes. */
export function parseRedisRss(info: string): number {
  const m = /^used_memory_rss:(\d+)\r?$/m.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory_rss');
  return Number(m[1]);
}
