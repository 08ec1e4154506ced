import { ParseError } from '../types';

export interface VmctlVm {
  id: number;
  pid: number | null;
  vcpus: number;
  maxMem: string;
  curMem: string | null;
  tty: string | null;
  owner: string;
  state: string;
  name: string;
}

const VM_STATES = ['running', 'stopped', 'paused', 'waiting', 'stopping', 'unknown'];

/** `vmctl status` (usr.sbin/vmctl/vmctl.c print_vm_info: "%5s %5s %5s %7s %7s %7s %12s %8s %s"). */
export function parseVmctlStatus(text: string): VmctlVm[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n').filter((l) => l.trim() !== '');
  if (!/^\s*ID\s+PID\s+VCPUS\s+MAXMEM\s+CURMEM\s+TTY\s+OWNER\s+STATE\s+NAME\s*$/.test(lines[0] ?? '')) throw new ParseError('vmctl status', 'missing header', lines[0] ?? '');
  return lines.slice(1).map((line) => {
    const m = /^\s*(\d+)\s+(\d+|-)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (!m || !VM_STATES.includes(m[8])) throw new ParseError('vmctl status', 'row is not "ID PID VCPUS MAXMEM CURMEM TTY OWNER STATE NAME"', line);
    return {
      id: Number(m[1]), pid: m[2] === '-' ? null : Number(m[2]), vcpus: Number(m[3]), maxMem: m[4], curMem: m[5] === '-' ? null : m[5],
      tty: m[6] === '-' ? null : m[6], owner: m[7], state: m[8], name: m[9],
    };
  });
}

/** `rcctl check DAEMON`: "vmd(ok)" or "vmd(failed)". */
export function parseRcctlCheck(text: string, daemon: string): boolean {
  const line = text.trim();
  if (line === `${daemon}(ok)`) return true;
  if (line === `${daemon}(failed)`) return false;
  throw new ParseError('rcctl check', `expected ${daemon}(ok) or ${daemon}(failed)`, line);
}

/** `sysctl name ...`: name=value lines. */
export function parseSysctl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (line === '') continue;
    const m = /^([a-z][a-z0-9_]*(?:\.[a-zA-Z0-9_]+)+)=(.*)$/.exec(line);
    if (!m) throw new ParseError('sysctl', 'line is not name=value', line);
    out[m[1]] = m[2];
  }
  return out;
}

export interface DmesgVirtualization {
  /** cpu0's feature list has VMX (Intel) or SVM (AMD). */
  cpuFlag: boolean;
  /** vmm(4) attached: "vmm0 at mainbus0: VMX/EPT" or "SVM/RVI" (it needs EPT/RVI too). */
  vmmAttached: boolean;
}

/** /var/run/dmesg.boot: OpenBSD has no sysctl for VMX/SVM, so the boot messages are the record. */
export function parseDmesgVirtualization(text: string): DmesgVirtualization {
  const lines = text.split('\n');
  const features = lines.filter((l) => /^cpu\d+: [A-Z0-9]+(,[A-Za-z0-9_.]+)+$/.test(l));
  if (features.length === 0) throw new ParseError('dmesg.boot', 'no cpu feature line');
  return {
    cpuFlag: features.some((l) => /[:,](VMX|SVM)(,|$)/.test(l)),
    vmmAttached: lines.some((l) => /^vmm0 at mainbus0: (VMX\/EPT|SVM\/RVI)$/.test(l)),
  };
}

/** fmt_scaled(3) sizes from vmctl status ("512M", "1.0G") in MiB. */
export function scaledToMb(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([BKMGT])$/.exec(text);
  if (!m) throw new ParseError('vmctl status', `size "${text}" is not fmt_scaled`);
  const power = { B: -2, K: -1, M: 0, G: 1, T: 2 }[m[2] as 'B' | 'K' | 'M' | 'G' | 'T'];
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** `ifconfig tap`: each tap interface and its description (vmd sets "vm<id>-if<n>-<name>"). */
export function parseTapDescriptions(text: string): { name: string; description?: string }[] {
  const out: { name: string; description?: string }[] = [];
  for (const line of text.split('\n')) {
    const head = /^(tap\d+): flags=/.exec(line);
    if (head) out.push({ name: head[1] });
    const desc = /^\tdescription: (\S+)$/.exec(line);
    if (desc && out.length) out[out.length - 1].description = desc[1];
  }
  return out;
}

/** `arp -an` (usr.sbin/arp: "Host Ethernet Address Netif Expire Flags"). */
export function parseArpTable(text: string): { host: string; mac: string; netif: string }[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (!/^Host\s+Ethernet Address\s+Netif\s+Expire\s+Flags\s*$/.test(lines[0] ?? '')) throw new ParseError('arp -an', 'missing header', lines[0] ?? '');
  return lines.slice(1).map((line) => {
    const m = /^(\d+\.\d+\.\d+\.\d+)\s+(\S+)\s+(\S+)\s+\S+/.exec(line);
    if (!m) throw new ParseError('arp -an', 'row is not "Host Ethernet-Address Netif Expire"', line);
    return { host: m[1], mac: m[2], netif: m[3] };
  });
}
