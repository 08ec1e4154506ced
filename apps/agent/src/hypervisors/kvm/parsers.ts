import { ParseError } from '../types';

export interface VirshDomain {
  id: number | null;
  name: string;
  state: string;
}

export interface VirshNetwork {
  name: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
}

export interface VirshInterfaceAddress {
  interface: string;
  mac: string;
  protocol: 'ipv4' | 'ipv6';
  address: string;
  prefix: number;
}

const DOMAIN_STATES = ['running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended', 'blocked', 'no state'];

function lines(text: string): string[] {
  return text.replace(/\r\n/g, '\n').split('\n');
}

/**
 * A vsh-table (virsh list / net-list): header, dash line, rows; cells split on runs of 3+ spaces
 * except inside known multi-word states. Returns the data rows' raw lines.
 */
function tableRows(what: string, text: string, header: RegExp): string[] {
  const all = lines(text).filter((l, i, arr) => !(l === '' && arr.slice(i).every((x) => x === '')));
  const start = all.findIndex((l) => l.trim() !== '');
  if (start < 0 || !header.test(all[start])) throw new ParseError(what, 'missing header', all[start] ?? '');
  if (!/^-{5,}$/.test(all[start + 1] ?? '')) throw new ParseError(what, 'missing dash line under the header', all[start + 1] ?? '');
  return all.slice(start + 2);
}

/** `virsh list --all` */
export function parseVirshList(text: string): VirshDomain[] {
  return tableRows('virsh list', text, /^\s*Id\s+Name\s+State\s*$/).map((line) => {
    const m = /^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
    if (!m || !DOMAIN_STATES.includes(m[3])) throw new ParseError('virsh list', 'row is not "Id Name State"', line);
    return { id: m[1] === '-' ? null : Number(m[1]), name: m[2], state: m[3] };
  });
}

/** `virsh net-list --all` */
export function parseVirshNetList(text: string): VirshNetwork[] {
  return tableRows('virsh net-list', text, /^\s*Name\s+State\s+Autostart\s+Persistent\s*$/).map((line) => {
    const m = /^\s*(\S+)\s+(active|inactive)\s+(yes|no)\s+(yes|no)\s*$/.exec(line);
    if (!m) throw new ParseError('virsh net-list', 'row is not "Name State Autostart Persistent"', line);
    return { name: m[1], active: m[2] === 'active', autostart: m[3] === 'yes', persistent: m[4] === 'yes' };
  });
}

/** "Label:   value" blocks (dominfo, net-info): every non-empty line must be one. */
function labelled(what: string, text: string, required: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    const m = /^([A-Za-z][A-Za-z ()]*):\s*(.*)$/.exec(line);
    if (!m) throw new ParseError(what, 'line is not "Label: value"', line);
    out[m[1]] = m[2].trim();
  }
  const missing = required.filter((r) => !(r in out));
  if (missing.length) throw new ParseError(what, `missing ${missing.join(', ')}`);
  return out;
}

export interface VirshDomainInfo {
  id: number | null;
  name: string;
  uuid: string;
  state: string;
  vcpus: number;
  maxMemoryKiB: number;
  usedMemoryKiB: number;
  persistent: boolean;
  autostart: boolean;
}

function kib(what: string, value: string): number {
  const m = /^(\d+) KiB$/.exec(value);
  if (!m) throw new ParseError(what, `memory "${value}" is not "<n> KiB"`);
  return Number(m[1]);
}

/** `virsh dominfo NAME` */
export function parseVirshDominfo(text: string): VirshDomainInfo {
  const f = labelled('virsh dominfo', text, ['Id', 'Name', 'UUID', 'State', 'CPU(s)', 'Max memory', 'Used memory', 'Persistent', 'Autostart']);
  if (!/^(\d+|-)$/.test(f.Id)) throw new ParseError('virsh dominfo', `Id "${f.Id}" is not a number or "-"`);
  if (!/^\d+$/.test(f['CPU(s)'])) throw new ParseError('virsh dominfo', `CPU(s) "${f['CPU(s)']}" is not a number`);
  if (!DOMAIN_STATES.includes(f.State)) throw new ParseError('virsh dominfo', `unknown state "${f.State}"`);
  return {
    id: f.Id === '-' ? null : Number(f.Id),
    name: f.Name,
    uuid: f.UUID,
    state: f.State,
    vcpus: Number(f['CPU(s)']),
    maxMemoryKiB: kib('virsh dominfo', f['Max memory']),
    usedMemoryKiB: kib('virsh dominfo', f['Used memory']),
    persistent: f.Persistent === 'yes',
    autostart: f.Autostart === 'enable',
  };
}

export interface VirshNetworkInfo {
  name: string;
  uuid: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  bridge: string;
}

/** `virsh net-info NAME` */
export function parseVirshNetInfo(text: string): VirshNetworkInfo {
  const f = labelled('virsh net-info', text, ['Name', 'UUID', 'Active', 'Persistent', 'Autostart', 'Bridge']);
  return { name: f.Name, uuid: f.UUID, active: f.Active === 'yes', persistent: f.Persistent === 'yes', autostart: f.Autostart === 'yes', bridge: f.Bridge };
}

/** `virsh domifaddr NAME [--source lease]`: fixed-width " %-10s %-17s    %-12s %s" rows; "-" repeats the interface above. */
export function parseVirshDomifaddr(text: string): VirshInterfaceAddress[] {
  const rows = tableRows('virsh domifaddr', text, /^\s*Name\s+MAC address\s+Protocol\s+Address\s*$/);
  const out: VirshInterfaceAddress[] = [];
  for (const line of rows) {
    const m = /^\s*(\S+)\s+(\S+)\s+(ipv4|ipv6)\s+([0-9a-fA-F.:]+)\/(\d{1,3})\s*$/.exec(line);
    if (!m) throw new ParseError('virsh domifaddr', 'row is not "Name MAC Protocol Address/prefix"', line);
    const prev = out[out.length - 1];
    const iface = m[1] === '-' ? prev?.interface : m[1];
    const mac = m[2] === '-' ? prev?.mac : m[2];
    if (!iface || !mac) throw new ParseError('virsh domifaddr', '"-" continuation row without a previous interface', line);
    out.push({ interface: iface, mac, protocol: m[3] as 'ipv4' | 'ipv6', address: m[4], prefix: Number(m[5]) });
  }
  return out;
}

export interface VirshVersion {
  library: string;
  api: string;
  hypervisor: string;
}

/** `virsh version` */
export function parseVirshVersion(text: string): VirshVersion {
  const f: Record<string, string> = {};
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    const m = /^(Compiled against library|Using library|Using API|Running hypervisor): (.+)$/.exec(line);
    if (!m) throw new ParseError('virsh version', 'unexpected line', line);
    f[m[1]] = m[2];
  }
  if (!f['Using library'] || !f['Running hypervisor']) throw new ParseError('virsh version', 'missing "Using library" or "Running hypervisor"');
  return { library: f['Using library'], api: f['Using API'] ?? '', hypervisor: f['Running hypervisor'] };
}

export interface NetworkDefinition {
  name: string;
  forward: string;
  bridge?: string;
  ipAddress?: string;
  netmask?: string;
}

/** The parts of `virsh net-dumpxml` the report needs (libvirt writes attributes in single quotes). */
export function parseNetworkXml(text: string): NetworkDefinition {
  if (!/^\s*<network[\s>]/.test(text) || !/<\/network>\s*$/.test(text)) throw new ParseError('virsh net-dumpxml', 'not a <network> document');
  const name = /<name>([^<]+)<\/name>/.exec(text)?.[1];
  if (!name) throw new ParseError('virsh net-dumpxml', 'no <name>');
  const attr = (tag: string, a: string) => new RegExp(`<${tag}\\b[^>]*\\b${a}=['"]([^'"]+)['"]`).exec(text)?.[1];
  const forward = attr('forward', 'mode') ?? (/<forward\b/.test(text) ? 'nat' : 'isolated');
  return { name, forward, bridge: attr('bridge', 'name'), ipAddress: attr('ip', 'address'), netmask: attr('ip', 'netmask') };
}

/** The CPU flags line(s) of /proc/cpuinfo: does any CPU have vmx (Intel VT-x) or svm (AMD-V)? */
export function cpuinfoHasVirtualization(cpuinfo: string): boolean {
  const flagLines = lines(cpuinfo).filter((l) => /^flags\s*:/.test(l));
  if (flagLines.length === 0) throw new ParseError('/proc/cpuinfo', 'no "flags" line');
  return flagLines.some((l) => /\b(vmx|svm)\b/.test(l));
}
