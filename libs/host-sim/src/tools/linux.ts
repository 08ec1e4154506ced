import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ToolCall, ToolImpl, ToolOutput } from '../cli';
import { virshTable } from '../format';
import { GUEST_TOOLS, installOvmfDescriptor } from './guests';
import { readState, SimConfig, SimMachine, SimNetwork, SimState, updateState } from '../state';

/** What an installed package gives the host. */
type Capability = 'qemu' | 'libvirtd' | 'virsh' | 'virt-install' | 'qemu-img' | 'cloud-localds' | 'uefi';
type PackageManager = NonNullable<SimConfig['packageManager']>;

/** The simulated distributions' repositories: package name -> what it installs ('uefi': OVMF, with its firmware descriptor). */
const REPOSITORIES: Record<PackageManager, Record<string, Capability[]>> = {
  'apt-get': {
    'qemu-kvm': ['qemu'], 'qemu-system-x86': ['qemu'], 'libvirt-daemon-system': ['libvirtd'], 'libvirt-clients': ['virsh'],
    virtinst: ['virt-install'], 'qemu-utils': ['qemu-img'], 'cloud-image-utils': ['cloud-localds'], 'dnsmasq-base': [], ovmf: ['uefi'],
  },
  dnf: { 'qemu-kvm': ['qemu'], libvirt: ['libvirtd', 'virsh'], 'virt-install': ['virt-install'], 'qemu-img': ['qemu-img'], 'cloud-utils': ['cloud-localds'], 'edk2-ovmf': ['uefi'] },
  zypper: { 'qemu-kvm': ['qemu'], libvirt: ['libvirtd', 'virsh'], 'virt-install': ['virt-install'], 'qemu-tools': ['qemu-img'], 'cloud-utils': ['cloud-localds'], 'qemu-ovmf-x86_64': ['uefi'] },
  pacman: { 'qemu-base': ['qemu', 'qemu-img'], libvirt: ['libvirtd', 'virsh'], 'virt-install': ['virt-install'], 'cloud-image-utils': ['cloud-localds'], dnsmasq: [], 'edk2-ovmf': ['uefi'] },
  apk: {
    'qemu-system-x86_64': ['qemu'], 'qemu-img': ['qemu-img'], libvirt: [], 'libvirt-daemon': ['libvirtd'], 'libvirt-client': ['virsh'],
    'virt-install': ['virt-install'], 'cloud-utils': ['cloud-localds'], ovmf: ['uefi'],
  },
};

const TOOL_NEEDS: Record<string, Capability> = { virsh: 'virsh', 'virt-install': 'virt-install', 'qemu-img': 'qemu-img', 'cloud-localds': 'cloud-localds' };
const PACKAGE_MANAGERS: PackageManager[] = ['apt-get', 'dnf', 'zypper', 'pacman', 'apk'];

function capabilities(state: SimState, config: SimConfig): Set<Capability> {
  const repo = REPOSITORIES[config.packageManager ?? 'apt-get'];
  return new Set(state.packages.flatMap((p) => repo[p] ?? []));
}

/** The simulated distribution's init system: Alpine (apk) runs OpenRC, the others systemd. */
export function initSystem(config: SimConfig): 'systemd' | 'openrc' {
  return config.packageManager === 'apk' ? 'openrc' : 'systemd';
}

const INIT_TOOLS: Record<string, 'systemd' | 'openrc'> = { systemctl: 'systemd', 'rc-service': 'openrc', 'rc-update': 'openrc' };

export function linuxToolInstalled(tool: string, state: SimState, config: SimConfig): boolean {
  if ((PACKAGE_MANAGERS as string[]).includes(tool)) return tool === (config.packageManager ?? 'apt-get');
  if (tool in INIT_TOOLS) return INIT_TOOLS[tool] === initSystem(config);
  const need = TOOL_NEEDS[tool];
  return need === undefined || capabilities(state, config).has(need);
}

const ok = (stdout = ''): ToolOutput => ({ stdout, code: 0 });

// ---------------------------------------------------------------- package managers

function install(call: ToolCall, pm: PackageManager, unknown: (names: string[]) => ToolOutput, done: (added: string[], kept: string[]) => string): ToolOutput {
  if (call.args.includes('--version') || call.args.includes('-V')) return ok(`${pm} (host-sim)\n`);
  const repo = REPOSITORIES[pm];
  const names = call.args.filter((a) => !a.startsWith('-') && !['install', 'add', '-S', 'in'].includes(a));
  const missing = names.filter((n) => !(n in repo));
  if (missing.length) return unknown(missing);
  return updateState(call.stateDir, (state) => {
    const kept = names.filter((n) => state.packages.includes(n));
    const added = names.filter((n) => !state.packages.includes(n));
    state.packages.push(...added);
    if (added.some((n) => repo[n].includes('libvirtd')) && !state.services.libvirtd) {
      state.services.libvirtd = { enabled: false, running: false };
      // OpenRC finds a service by its script in /etc/init.d (Alpine's libvirt-daemon package ships it).
      if (initSystem(call.config) === 'openrc') writeHostFile(call.hostRoot, OPENRC_INIT_D + 'libvirtd', '#!/sbin/openrc-run\n\nname="libvirtd"\ncommand="/usr/sbin/libvirtd"\n', 0o755);
    }
    if (added.some((n) => repo[n].includes('uefi'))) installOvmfDescriptor(call.hostRoot);
    return ok(done(added, kept));
  });
}

const aptGet: ToolImpl = (call) => {
  const sub = call.args.find((a) => !a.startsWith('-'));
  if (call.args.includes('--version')) return ok('apt 2.6.1 (amd64)\n');
  if (sub === 'update') return ok('Hit:1 http://deb.debian.org/debian bookworm InRelease\nHit:2 http://deb.debian.org/debian bookworm-updates InRelease\nHit:3 http://deb.debian.org/debian-security bookworm-security InRelease\nReading package lists...\n');
  if (sub !== 'install') return { stderr: `E: Invalid operation ${sub ?? ''}\n`, code: 100 };
  if (!call.args.includes('-y') && !call.args.includes('--yes')) return { stdout: 'Do you want to continue? [Y/n] Abort.\n', code: 1 };
  const head = 'Reading package lists...\nBuilding dependency tree...\nReading state information...\n';
  return install(
    call,
    'apt-get',
    (missing) => ({ stdout: head, stderr: `E: Unable to locate package ${missing[0]}\n`, code: 100 }),
    (added, kept) =>
      head +
      kept.map((k) => `${k} is already the newest version.\n`).join('') +
      (added.length ? `The following NEW packages will be installed:\n  ${added.join(' ')}\n` : '') +
      `0 upgraded, ${added.length} newly installed, 0 to remove and 0 not upgraded.\n` +
      added.map((a) => `Setting up ${a} ...\n`).join(''),
  );
};

const dnf: ToolImpl = (call) =>
  call.args.includes('install') || call.args.includes('--version')
    ? install(
        call,
        'dnf',
        (missing) => ({ stderr: `No match for argument: ${missing[0]}\nError: Unable to find a match: ${missing.join(' ')}\n`, code: 1 }),
        (added) => (added.length ? `Installed:\n${added.map((a) => `  ${a}\n`).join('')}\nComplete!\n` : 'Dependencies resolved.\nNothing to do.\nComplete!\n'),
      )
    : { stderr: 'No such command. Please use /usr/bin/dnf --help\n', code: 1 };

const zypper: ToolImpl = (call) =>
  install(
    call,
    'zypper',
    (missing) => ({ stdout: `No provider of '${missing[0]}' found.\n`, code: 104 }),
    (added) => `Loading repository data...\nReading installed packages...\nResolving package dependencies...\n\nThe following ${added.length} NEW packages are going to be installed:\n  ${added.join(' ')}\n`,
  );

const pacman: ToolImpl = (call) =>
  install(
    call,
    'pacman',
    (missing) => ({ stderr: `error: target not found: ${missing[0]}\n`, code: 1 }),
    (added) => `resolving dependencies...\nlooking for conflicting packages...\n\nPackages (${added.length}) ${added.join('  ')}\n`,
  );

const apk: ToolImpl = (call) =>
  install(
    call,
    'apk',
    (missing) => ({ stderr: `ERROR: unable to select packages:\n  ${missing[0]} (no such package):\n    required by: world[${missing[0]}]\n`, code: 1 }),
    (added) => added.map((a, i) => `(${i + 1}/${added.length}) Installing ${a}\n`).join('') + 'OK: 512 MiB in 180 packages\n',
  );

// ---------------------------------------------------------------- systemctl

function unitName(arg: string | undefined): string {
  return (arg ?? '').replace(/\.service$/, '');
}

/** libvirtd starting brings up the networks marked autostart, as the real daemon does. */
function startDaemon(state: SimState, name: string): void {
  state.services[name].running = true;
  if (name === 'libvirtd') for (const n of state.networks) if (n.autostart) n.active = true;
}

const systemctl: ToolImpl = (call) => {
  const args = call.args.filter((a) => !a.startsWith('-') || a === '--now');
  const [verb, ...rest] = args;
  const units = rest.filter((a) => a !== '--now').map(unitName);
  const now = rest.includes('--now');
  return updateState(call.stateDir, (state): ToolOutput => {
    const unit = units[0];
    const svc = unit ? state.services[unit] : undefined;
    switch (verb) {
      case 'is-enabled':
        if (!svc) return { stderr: `Failed to get unit file state for ${unit}.service: No such file or directory\n`, code: 1 };
        return { stdout: svc.enabled ? 'enabled\n' : 'disabled\n', code: svc.enabled ? 0 : 1 };
      case 'is-active':
        return { stdout: svc?.running ? 'active\n' : 'inactive\n', code: svc?.running ? 0 : 3 };
      case 'enable': {
        if (!svc) return { stderr: `Failed to enable unit: Unit file ${unit}.service does not exist.\n`, code: 1 };
        const msg = svc.enabled ? '' : `Created symlink /etc/systemd/system/multi-user.target.wants/${unit}.service → /lib/systemd/system/${unit}.service.\n`;
        svc.enabled = true;
        if (now) startDaemon(state, unit);
        return { stderr: msg, code: 0 };
      }
      case 'start':
      case 'restart':
        if (!svc) return { stderr: `Failed to start ${unit}.service: Unit ${unit}.service not found.\n`, code: 5 };
        startDaemon(state, unit);
        return ok();
      case 'stop':
        if (svc) svc.running = false;
        return ok();
      default:
        return { stderr: `Unknown command verb ${verb ?? ''}.\n`, code: 1 };
    }
  });
};

// ---------------------------------------------------------------- OpenRC (rc-update, rc-service)

const OPENRC_INIT_D = '/etc/init.d/';
const OPENRC_RUNLEVELS = '/etc/runlevels/';
const OPENRC_VERSION = '0.54';

function writeHostFile(hostRoot: string, path: string, content: string, mode: number): void {
  const file = join(hostRoot, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content, { mode });
}

/** OpenRC's messages when not on a terminal: einfo / ebegin to stdout, ewarn / eerror to stderr, each " * "-prefixed. */
const einfo = (text: string) => ` * ${text}\n`;

function serviceExists(call: ToolCall, name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && existsSync(join(call.hostRoot, OPENRC_INIT_D + name));
}

const rcUpdate: ToolImpl = (call) => {
  if (call.args.includes('--version') || call.args.includes('-V')) return ok(`rc-update (OpenRC) ${OPENRC_VERSION}\n`);
  const [verb, name, runlevel = 'default'] = call.args.filter((a) => !a.startsWith('-'));
  if (verb !== 'add' && verb !== 'del' && verb !== 'delete') return { stderr: 'host-sim: only `rc-update add|del SERVICE [RUNLEVEL]` is simulated\n', code: 1 };
  if (!name) return { stderr: einfo('rc-update: usage: rc-update [options] add|del service [runlevel]'), code: 1 };
  const link = join(call.hostRoot, OPENRC_RUNLEVELS + runlevel, name);
  if (verb === 'add') {
    if (!serviceExists(call, name)) return { stderr: einfo(`rc-update: service \`${name}' does not exist`), code: 1 };
    if (existsLink(link)) return ok(einfo(`rc-update: ${name} already installed in runlevel \`${runlevel}'; skipping`));
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(OPENRC_INIT_D + name, link);
    if (runlevel === 'default') updateState(call.stateDir, (state) => {
      if (state.services[name]) state.services[name].enabled = true;
    });
    return ok(einfo(`service ${name} added to runlevel ${runlevel}`));
  }
  if (!existsLink(link)) return { stderr: einfo(`rc-update: service \`${name}' is not in the runlevel \`${runlevel}'`), code: 1 };
  rmSync(link, { force: true });
  if (runlevel === 'default') updateState(call.stateDir, (state) => {
    if (state.services[name]) state.services[name].enabled = false;
  });
  return ok(einfo(`service ${name} removed from runlevel ${runlevel}`));
};

function existsLink(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const rcService: ToolImpl = (call) => {
  if (call.args.includes('--version') || call.args.includes('-V')) return ok(`rc-service (OpenRC) ${OPENRC_VERSION}\n`);
  const exists = call.args.indexOf('--exists') >= 0 ? call.args.indexOf('--exists') : call.args.indexOf('-e');
  if (exists >= 0) return { code: serviceExists(call, call.args[exists + 1] ?? '') ? 0 : 1 };
  const [name, verb] = call.args.filter((a) => !a.startsWith('-'));
  if (!name) return { stderr: einfo('rc-service: you need to specify a service'), code: 1 };
  if (!serviceExists(call, name)) return { stderr: einfo(`rc-service: service \`${name}' does not exist`), code: 1 };
  return updateState(call.stateDir, (state): ToolOutput => {
    const svc = (state.services[name] ??= { enabled: false, running: false });
    switch (verb) {
      case 'status':
        return svc.running ? ok(einfo('status: started')) : { stderr: einfo('status: stopped'), code: 3 };
      case 'start':
        if (svc.running) return { stderr: einfo(`WARNING: ${name} has already been started`), code: 0 };
        startDaemon(state, name);
        return ok(` * Starting ${name} ... [ ok ]\n`);
      case 'restart':
        startDaemon(state, name);
        return ok((svc.running ? ` * Stopping ${name} ... [ ok ]\n` : '') + ` * Starting ${name} ... [ ok ]\n`);
      case 'stop':
        if (!svc.running) return { stderr: einfo(`WARNING: ${name} is already stopped`), code: 0 };
        svc.running = false;
        return ok(` * Stopping ${name} ... [ ok ]\n`);
      default:
        return { stderr: 'host-sim: only `rc-service SERVICE start|stop|restart|status` and `rc-service --exists SERVICE` are simulated\n', code: 1 };
    }
  });
};

// ---------------------------------------------------------------- ip

const ip: ToolImpl = (call) => {
  const state = readState(call.stateDir);
  const args = call.args.filter((a) => a !== '-o');
  if (args[0] !== 'link' || (args[1] !== 'show' && args[1] !== undefined)) return { stderr: 'host-sim: only `ip -o link show [dev IFACE]` is simulated\n', code: 1 };
  const names = Object.keys(state.interfaces);
  const dev = args[2] === 'dev' ? args[3] : args[2];
  if (dev && !names.includes(dev)) return { stderr: `Device "${dev}" does not exist.\n`, code: 1 };
  const line = (n: string, i: number) =>
    `${i + 2}: ${n}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc ${n.startsWith('br') || n.startsWith('virbr') ? 'noqueue' : 'fq_codel'} state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:12:34:${(0x56 + i).toString(16)} brd ff:ff:ff:ff:ff:ff\n`;
  return ok(names.map((n, i) => (dev && n !== dev ? '' : line(n, i))).join(''));
};

// ---------------------------------------------------------------- virsh

const LIBVIRT_VERSION = '9.0.0';
const NO_DAEMON = "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory\n";

function pad15(label: string, value: string): string {
  return `${label.padEnd(15)} ${value}\n`;
}

function domainRows(state: SimState): string[][] {
  const running = state.machines.filter((m) => m.id !== null).sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  const off = state.machines.filter((m) => m.id === null).sort((a, b) => a.name.localeCompare(b.name));
  return [...running, ...off].map((m) => [m.id === null ? '-' : String(m.id), m.name, m.state]);
}

function guestIp(m: SimMachine, config: SimConfig): string {
  return m.ip ?? config.guestIp ?? '192.168.122.45';
}

/** `virsh dumpxml`: the parts of a domain definition the simulator keeps (firmware, memory, vCPUs, disks, network). */
function domainXml(m: SimMachine): string {
  const memory = `${m.memoryKiB}`;
  const lines = [`<domain type='kvm'${m.id !== null ? ` id='${m.id}'` : ''}>`, `  <name>${m.name}</name>`, `  <uuid>${m.uuid}</uuid>`,
    `  <memory unit='KiB'>${memory}</memory>`, `  <currentMemory unit='KiB'>${memory}</currentMemory>`, `  <vcpu placement='static'>${m.vcpus}</vcpu>`];
  if (m.firmware === 'efi') {
    lines.push("  <os firmware='efi'>", "    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>", "    <firmware>", "      <feature enabled='no' name='enrolled-keys'/>", "      <feature enabled='no' name='secure-boot'/>", "    </firmware>");
    lines.push(`    <loader readonly='yes' type='pflash'>${m.loader ?? ''}</loader>`, `    <nvram template='${m.nvramTemplate ?? ''}'>${m.nvram ?? ''}</nvram>`);
  } else {
    lines.push('  <os>', "    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>");
  }
  lines.push("    <boot dev='hd'/>", '  </os>', '  <devices>', '    <emulator>/usr/bin/qemu-system-x86_64</emulator>');
  (m.disks ?? (m.diskPath ? [m.diskPath] : [])).forEach((d, i) => {
    lines.push("    <disk type='file' device='disk'>", "      <driver name='qemu' type='qcow2'/>", `      <source file='${d}'/>`, `      <target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/>`, '    </disk>');
  });
  const bridge = m.network?.startsWith('bridge:') ? m.network.slice('bridge:'.length) : undefined;
  lines.push(bridge ? "    <interface type='bridge'>" : "    <interface type='network'>", `      <mac address='${m.mac}'/>`, bridge ? `      <source bridge='${bridge}'/>` : `      <source network='${m.network ?? 'default'}'/>`, "      <model type='virtio'/>", '    </interface>');
  lines.push('  </devices>', '</domain>', '');
  return lines.join('\n');
}

function networkXml(n: SimNetwork): string {
  const lines = ['<network>', `  <name>${n.name}</name>`, `  <uuid>${n.uuid}</uuid>`];
  if (n.forward !== 'isolated') lines.push(`  <forward mode='${n.forward}'/>`);
  lines.push(n.forward === 'bridge' ? `  <bridge name='${n.bridge}'/>` : `  <bridge name='${n.bridge}' stp='on' delay='0'/>`);
  if (n.ipAddress) {
    lines.push(`  <ip address='${n.ipAddress}' netmask='${n.netmask}'>`);
    if (n.dhcpStart) lines.push('    <dhcp>', `      <range start='${n.dhcpStart}' end='${n.dhcpEnd}'/>`, '    </dhcp>');
    lines.push('  </ip>');
  }
  lines.push('</network>', '');
  return lines.join('\n');
}

/** Reads the few things libvirt takes from a network definition; null when it is not one. */
function parseNetworkXml(xml: string, existing: SimNetwork[]): SimNetwork | string {
  if (!/^\s*<network[\s>]/.test(xml)) return 'XML error: (network_definition):1: Start tag expected, \'<\' not found';
  const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1];
  if (!name) return 'XML error: missing network name';
  const attr = (tag: string, a: string) => new RegExp(`<${tag}\\b[^>]*\\b${a}=['"]([^'"]+)['"]`).exec(xml)?.[1];
  const mode = (attr('forward', 'mode') ?? (/<forward\b/.test(xml) ? 'nat' : 'isolated')) as SimNetwork['forward'];
  if (!['nat', 'bridge', 'route', 'open', 'isolated'].includes(mode)) return `unsupported configuration: unknown forward type '${mode}'`;
  const prior = existing.find((n) => n.name === name);
  const bridge = attr('bridge', 'name') ?? `virbr${existing.filter((n) => n.name !== name).length}`;
  return {
    name,
    uuid: attr('uuid', 'x') ?? /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1] ?? prior?.uuid ?? randomUUID(),
    forward: mode,
    bridge,
    ipAddress: attr('ip', 'address'),
    netmask: attr('ip', 'netmask') ?? (attr('ip', 'prefix') ? prefixToNetmask(Number(attr('ip', 'prefix'))) : undefined),
    dhcpStart: attr('range', 'start'),
    dhcpEnd: attr('range', 'end'),
    active: prior?.active ?? false,
    autostart: prior?.autostart ?? false,
    persistent: true,
  };
}

function prefixToNetmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

type VirshResult = { body?: string; error?: string };

function virshCommand(call: ToolCall, state: SimState, cmd: string, args: string[]): VirshResult {
  const positional = args.filter((a) => !a.startsWith('--'));
  const target = positional[0];
  const findDomain = () => state.machines.find((m) => m.name === target || String(m.id) === target || m.uuid === target);
  const findNetwork = () => state.networks.find((n) => n.name === target || n.uuid === target);
  const noDomain = { error: `error: failed to get domain '${target}'\n` };
  const noNetwork = { error: `error: failed to get network '${target}'\nerror: Network not found: no network with matching name '${target}'\n` };
  switch (cmd) {
    case 'version':
      return { body: `Compiled against library: libvirt ${LIBVIRT_VERSION}\nUsing library: libvirt ${LIBVIRT_VERSION}\nUsing API: QEMU ${LIBVIRT_VERSION}\nRunning hypervisor: QEMU 7.2.0\n` };
    case 'list': {
      const rows = domainRows(state).filter((r) => args.includes('--all') || r[0] !== '-');
      return { body: virshTable(['Id', 'Name', 'State'], rows) };
    }
    case 'dominfo': {
      const m = findDomain();
      if (!m) return noDomain;
      const running = m.id !== null;
      return {
        body:
          pad15('Id:', running ? String(m.id) : '-') + pad15('Name:', m.name) + pad15('UUID:', m.uuid) + pad15('OS Type:', 'hvm') + pad15('State:', m.state) +
          pad15('CPU(s):', String(m.vcpus)) + (running ? pad15('CPU time:', '12.3s') : '') + pad15('Max memory:', `${m.memoryKiB} KiB`) +
          pad15('Used memory:', `${m.memoryKiB} KiB`) + pad15('Persistent:', 'yes') + pad15('Autostart:', m.autostart ? 'enable' : 'disable') +
          pad15('Managed save:', 'no') + pad15('Security model:', 'apparmor') + pad15('Security DOI:', '0') +
          (running ? pad15('Security label:', `libvirt-${m.uuid} (enforcing)`) : ''),
      };
    }
    case 'domifaddr': {
      const m = findDomain();
      if (!m) return noDomain;
      if (m.state !== 'running') return { error: 'error: Failed to query for interfaces addresses\nerror: Requested operation is not valid: domain is not running\n' };
      const header = ` ${'Name'.padEnd(10)} ${'MAC address'.padEnd(17)}    ${'Protocol'.padEnd(12)} Address\n${'-'.repeat(79)}\n`;
      return { body: header + ` ${'vnet0'.padEnd(10)} ${m.mac.padEnd(17)}    ${'ipv4'.padEnd(12)} ${guestIp(m, call.config)}/24\n` };
    }
    case 'start': {
      const m = findDomain();
      if (!m) return noDomain;
      if (m.id !== null) return { error: `error: Failed to start domain '${m.name}'\nerror: Requested operation is not valid: domain is already running\n` };
      m.id = state.nextId++;
      m.state = 'running';
      return { body: `Domain '${m.name}' started\n` };
    }
    case 'shutdown':
    case 'destroy': {
      const m = findDomain();
      if (!m) return noDomain;
      if (m.id === null) return { error: `error: Failed to ${cmd === 'destroy' ? 'destroy' : 'shutdown'} domain '${m.name}'\nerror: Requested operation is not valid: domain is not running\n` };
      m.id = null;
      m.state = 'shut off';
      return { body: cmd === 'destroy' ? `Domain '${m.name}' destroyed\n` : `Domain '${m.name}' is being shutdown\n` };
    }
    case 'reboot': {
      const m = findDomain();
      if (!m) return noDomain;
      if (m.id === null) return { error: `error: Failed to reboot domain '${m.name}'\nerror: Requested operation is not valid: domain is not running\n` };
      return { body: `Domain '${m.name}' is being rebooted\n` };
    }
    case 'dumpxml': {
      const m = findDomain();
      return m ? { body: domainXml(m) } : noDomain;
    }
    case 'undefine': {
      const m = findDomain();
      if (!m) return noDomain;
      // libvirt keeps a UEFI domain's variable store unless told what to do with it.
      if (m.nvram && !args.includes('--nvram') && !args.includes('--keep-nvram')) {
        return { error: `error: Failed to undefine domain '${m.name}'\nerror: Requested operation is not valid: cannot undefine domain with nvram\n` };
      }
      state.machines = state.machines.filter((x) => x !== m);
      const removeStorage = args.includes('--remove-all-storage');
      const disks = m.disks ?? (m.diskPath ? [m.diskPath] : []);
      if (removeStorage) for (const d of disks) rmSync(d, { force: true });
      const storage = removeStorage ? disks.map((d, i) => `Volume 'vd${String.fromCharCode(97 + i)}'(${d}) removed.\n`).join('') : '';
      return { body: `Domain '${m.name}' has been undefined\n${storage}` };
    }
    case 'net-list': {
      const rows = [...state.networks]
        .filter((n) => args.includes('--all') || n.active)
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((n) => [n.name, n.active ? 'active' : 'inactive', n.autostart ? 'yes' : 'no', n.persistent ? 'yes' : 'no']);
      return { body: virshTable(['Name', 'State', 'Autostart', 'Persistent'], rows) };
    }
    case 'net-info': {
      const n = findNetwork();
      if (!n) return noNetwork;
      return { body: pad15('Name:', n.name) + pad15('UUID:', n.uuid) + pad15('Active:', n.active ? 'yes' : 'no') + pad15('Persistent:', n.persistent ? 'yes' : 'no') + pad15('Autostart:', n.autostart ? 'yes' : 'no') + pad15('Bridge:', n.bridge) };
    }
    case 'net-dumpxml': {
      const n = findNetwork();
      return n ? { body: networkXml(n) } : noNetwork;
    }
    case 'net-define': {
      const file = positional[0];
      if (!file) return { error: "error: command 'net-define' requires <file> option\n" };
      const path = resolve(call.cwd, file);
      if (!existsSync(path)) return { error: `error: Failed to open file '${file}': No such file or directory\n` };
      const parsed = parseNetworkXml(readFileSync(path, 'utf8'), state.networks);
      if (typeof parsed === 'string') return { error: `error: Failed to define network from ${file}\nerror: ${parsed}\n` };
      state.networks = [...state.networks.filter((n) => n.name !== parsed.name), parsed];
      return { body: `Network ${parsed.name} defined from ${file}\n` };
    }
    case 'net-start': {
      const n = findNetwork();
      if (!n) return noNetwork;
      if (n.active) return { error: `error: Failed to start network ${n.name}\nerror: Requested operation is not valid: Network '${n.name}' is already running\n` };
      if (n.forward === 'bridge' && !state.interfaces[n.bridge]) return { error: `error: Failed to start network ${n.name}\nerror: Cannot get interface MTU on '${n.bridge}': No such device\n` };
      n.active = true;
      return { body: `Network ${n.name} started\n` };
    }
    case 'net-autostart': {
      const n = findNetwork();
      if (!n) return noNetwork;
      n.autostart = !args.includes('--disable');
      return { body: `Network ${n.name} ${n.autostart ? 'marked' : 'unmarked'} as autostarted\n` };
    }
    case 'net-destroy': {
      const n = findNetwork();
      if (!n) return noNetwork;
      if (!n.active) return { error: `error: Failed to destroy network ${n.name}\nerror: Requested operation is not valid: network is not running\n` };
      n.active = false;
      return { body: `Network ${n.name} destroyed\n` };
    }
    case 'net-undefine': {
      const n = findNetwork();
      if (!n) return noNetwork;
      state.networks = state.networks.filter((x) => x !== n);
      return { body: `Network ${n.name} has been undefined\n` };
    }
    default:
      return { error: `error: unknown command: '${cmd}'\n` };
  }
}

const virsh: ToolImpl = (call) => {
  const args = [...call.args];
  while (args[0] === '-c' || args[0] === '--connect' || args[0] === '-q' || args[0] === '--quiet') args.splice(0, args[0].startsWith('-c') || args[0] === '--connect' ? 2 : 1);
  if (args[0] === '--version' || args[0] === '-v') return ok(`${LIBVIRT_VERSION}\n`);
  if (!args[0]) return { stderr: 'error: interactive virsh is not simulated\n', code: 1 };
  if (!readState(call.stateDir).services.libvirtd?.running) return { stderr: NO_DAEMON, code: 1 };
  return updateState(call.stateDir, (state) => {
    const r = virshCommand(call, state, args[0], args.slice(1));
    // virsh prints a newline after every command it ran, failed or not.
    return r.error !== undefined ? { stdout: '\n', stderr: r.error, code: 1 } : { stdout: (r.body ?? '') + '\n', code: 0 };
  });
};

export const LINUX_TOOLS: Record<string, ToolImpl> = {
  virsh,
  ...GUEST_TOOLS,
  systemctl,
  'rc-update': rcUpdate,
  'rc-service': rcService,
  ip,
  'apt-get': aptGet,
  dnf,
  zypper,
  pacman,
  apk,
};
