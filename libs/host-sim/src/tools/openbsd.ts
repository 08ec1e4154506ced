import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ToolCall, ToolImpl, ToolOutput } from '../cli';
import { fmtScaled } from '../format';
import { readState, SimMachine, SimState, updateState } from '../state';
import { authorizeGuestKeys, userDataKeys } from './guests';

const ok = (stdout = ''): ToolOutput => ({ stdout, code: 0 });
const BASE_DAEMONS = ['cron', 'pflogd', 'smtpd', 'sndiod', 'sshd', 'syslogd'];

function vmmPresent(call: ToolCall): boolean {
  return existsSync(join(call.hostRoot, 'dev/vmm'));
}

/** rcctl(8): check / enable / disable / start / stop / ls on, with rc.subr's "daemon(ok)" lines. */
const rcctl: ToolImpl = (call) => {
  const force = call.args[0] === '-f';
  const [verb, daemon] = force ? call.args.slice(1) : call.args;
  return updateState(call.stateDir, (state): ToolOutput => {
    if (verb === 'ls') {
      const on = [...BASE_DAEMONS, ...Object.entries(state.services).filter(([, s]) => s.enabled).map(([n]) => n)].sort();
      return ok(on.map((n) => n + '\n').join(''));
    }
    const svc = daemon ? state.services[daemon] : undefined;
    if (!svc) return { stderr: `rcctl: service ${daemon ?? ''} does not exist\n`, code: 2 };
    switch (verb) {
      case 'check':
        return { stdout: `${daemon}(${svc.running ? 'ok' : 'failed'})\n`, code: svc.running ? 0 : 1 };
      case 'enable':
        svc.enabled = true;
        return ok();
      case 'disable':
        svc.enabled = false;
        return ok();
      case 'start':
      case 'restart':
        if (svc.running && verb === 'start') return ok();
        if (!svc.enabled && !force) return { stderr: `/etc/rc.d/${daemon}: need -f to force ${verb} since ${daemon}_flags=NO\n`, code: 1 };
        // vmd exits at once when the kernel has no vmm(4).
        if (daemon === 'vmd' && !vmmPresent(call)) return { stdout: `${daemon}(failed)\n`, code: 1 };
        // vmd reads vm.conf when it starts and refuses to start on a bad one.
        if (daemon === 'vmd') {
          const loaded = loadVmConf(call, state);
          if (loaded) return { stderr: loaded.stderr, stdout: `${daemon}(failed)\n`, code: 1 };
        }
        svc.running = true;
        return ok(`${daemon}(ok)\n`);
      case 'stop':
        svc.running = false;
        return ok(`${daemon}(ok)\n`);
      default:
        return { stderr: `usage:	rcctl get|getdef|set service | daemon [variable [arguments]]\n	rcctl [-df] check|reload|restart|stop|start daemon ...\n	rcctl disable|enable|order [daemon ...]\n	rcctl ls all|failed|off|on|rogue|started|stopped\n`, code: 1 };
    }
  });
};

/** vmctl(8) status, laid out as usr.sbin/vmctl/vmctl.c print_vm_info() does. */
const vmctl: ToolImpl = (call) => {
  const state = readState(call.stateDir);
  if (!state.services.vmd?.running) return { stderr: 'vmctl: connect: /var/run/vmd.sock: No such file or directory\n', code: 1 };
  if (call.args[0] === 'reload') return updateState(call.stateDir, (s) => loadVmConf(call, s) ?? ok());
  if (call.args[0] === 'create') return vmctlCreate(call);
  if (call.args[0] === 'start') return vmctlStart(call);
  if (call.args[0] === 'stop') return vmctlStop(call);
  if (call.args[0] !== 'status' && call.args[0] !== 'show') return { stderr: `vmctl: host-sim does not simulate \`${call.args.join(' ')}\` yet\n`, code: 1 };
  const only = call.args[1];
  const head = `${'ID'.padStart(5)} ${'PID'.padStart(5)} ${'VCPUS'.padStart(5)} ${'MAXMEM'.padStart(7)} ${'CURMEM'.padStart(7)} ${'TTY'.padStart(7)} ${'OWNER'.padStart(12)} ${'STATE'.padStart(8)} NAME\n`;
  const rows = vmdMachines(state)
    .map((m, i) => ({ m, vmId: i + 1 }))
    .filter(({ m, vmId }) => !only || m.name === only || String(vmId) === only)
    .map(({ m, vmId }) => {
      const running = m.state === 'running';
      const max = fmtScaled(m.memoryKiB * 1024);
      const cols = running
        ? [String(vmId).padStart(5), String(m.pid ?? 40000 + vmId).padStart(5), String(m.vcpus).padStart(5), max.padStart(7), max.padStart(7), (m.tty ?? `ttyp${vmId - 1}`).padStart(7)]
        : [String(vmId).padStart(5), '-'.padStart(5), String(m.vcpus).padStart(5), max.padStart(7), '-'.padStart(7), '-'.padStart(7)];
      return `${cols.join(' ')} ${(m.owner ?? 'root').padStart(12)} ${(running ? 'running' : 'stopped').padStart(8)} ${m.name}\n`;
    });
  return ok(head + rows.join(''));
};

/** The VMs vmd knows: the running ones and those vm.conf defined when vmd last read it (vmd forgets the others once they stop). */
function vmdMachines(state: SimState): SimMachine[] {
  const defined = loadedVmNames(state);
  return state.machines.filter((m) => m.state === 'running' || defined.includes(m.name));
}

interface VmConfVm {
  name: string;
  memory: number;
  disks: string[];
  cdrom?: string;
}

const VM_CONF_KEY = 'vmd.loaded';

/** The VM names of the vm.conf vmd last loaded (kept in the state's settings, like pf's loaded rules). */
function loadedVmNames(state: SimState): string[] {
  const text = state.settings[VM_CONF_KEY];
  const parsed = text === undefined ? null : parseVmConf(text);
  return parsed && 'vms' in parsed ? parsed.vms.map((v) => v.name) : [];
}

const QUOTED = /^"([^"\n]*)"$/;
const VM_WORD = /^(disable|enable|local interface|interface( \S+)?( \{)?|interfaces \d+|owner \S+|boot .+|cdrom "[^"]+"|disk "[^"]+"( format (raw|qcow2))?|memory \d+[KMG]?|instance .+|allow instance \{|sev|seves)$/;
const SWITCH_WORD = /^(disable|enable|interface \S+|locked lladdr|group \S+)$/;
const GLOBAL_WORD = /^(local (prefix|inet6)( prefix)? \S+|socket owner \S+|agentx.*|staggered start .+|include "[^"]+"|[A-Za-z0-9_]+=\S+)$/;

/**
 * vm.conf(5), the part the simulator understands: macros and global settings, `switch "x" { ... }` and
 * `vm "x" { memory, disk, cdrom, local interface, interface, disable/enable, owner, boot }`. Anything
 * else is a syntax error reported as vmd does ("file:line: syntax error").
 */
export function parseVmConf(text: string): { vms: VmConfVm[] } | { line: number } {
  const vms: VmConfVm[] = [];
  const stack: ('vm' | 'switch' | 'inner')[] = [];
  let current: VmConfVm | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, '').trim().replace(/\s+/g, ' ');
    if (!line) continue;
    const context = stack.at(-1);
    const open = /^(vm|switch) (\S+) \{$/.exec(line);
    if (line === '}') {
      if (!stack.pop()) return { line: i + 1 };
      if (stack.length === 0 && current) {
        vms.push(current);
        current = undefined;
      }
    } else if (open && context === undefined) {
      const name = QUOTED.exec(open[2])?.[1] ?? open[2];
      if (!name) return { line: i + 1 };
      stack.push(open[1] as 'vm' | 'switch');
      if (open[1] === 'vm') current = { name, memory: 512 * 1024 * 1024, disks: [] };
    } else if (context === 'vm' && current && VM_WORD.test(line)) {
      const value = /"([^"]+)"/.exec(line)?.[1];
      if (line.startsWith('memory ')) current.memory = vmdSize(line.slice(7)) ?? current.memory;
      else if (line.startsWith('disk ') && value) current.disks.push(value);
      else if (line.startsWith('cdrom ') && value) current.cdrom = value;
      if (line.endsWith('{')) stack.push('inner');
    } else if (context === 'switch' && SWITCH_WORD.test(line)) continue;
    else if (context === 'inner' && line !== '{') continue;
    else if (context === undefined && GLOBAL_WORD.test(line)) continue;
    else return { line: i + 1 };
  }
  return stack.length ? { line: lines.length } : { vms };
}

/** vmd reads vm.conf (at start and `vmctl reload`): forgets stopped VMs it no longer defines, knows the defined ones. Returns an error, or null. */
function loadVmConf(call: ToolCall, state: SimState): ToolOutput | null {
  const path = join(call.hostRoot, 'etc/vm.conf');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const parsed = parseVmConf(text);
  if ('line' in parsed) return { stderr: `/etc/vm.conf:${parsed.line}: syntax error\nvmctl: reload command failed: Invalid argument\n`, code: 1 };
  state.settings[VM_CONF_KEY] = text;
  const names = parsed.vms.map((v) => v.name);
  state.machines = state.machines.filter((m) => m.state === 'running' || names.includes(m.name));
  for (const vm of parsed.vms) {
    let m = state.machines.find((x) => x.name === vm.name);
    if (!m) {
      m = { name: vm.name, uuid: randomUUID(), id: null, state: 'shut off', vcpus: 1, memoryKiB: vm.memory / 1024, mac: 'fe:e1:ba:d0:' + randomBytes(2).toString('hex').replace(/(..)(..)/, '$1:$2'), autostart: false };
      state.machines.push(m);
    }
    if (m.state !== 'running') {
      m.memoryKiB = vm.memory / 1024;
      m.disks = [...vm.disks, ...(vm.cdrom ? [vm.cdrom] : [])];
    }
  }
  return null;
}

/** vmd -n [-f file]: checks vm.conf's syntax and prints "configuration OK" (vmd itself runs through rcctl). */
const vmd: ToolImpl = (call) => {
  if (!call.args.includes('-n')) return { stderr: 'vmd: host-sim runs vmd only through rcctl; use vmd -n to check vm.conf\n', code: 1 };
  const fAt = call.args.indexOf('-f');
  const file = fAt >= 0 ? call.args[fAt + 1] : '/etc/vm.conf';
  if (!file) return { stderr: 'usage: vmd [-dnv] [-D macro=value] [-f file]\n', code: 1 };
  const path = fAt >= 0 ? resolve(call.cwd, file) : join(call.hostRoot, 'etc/vm.conf');
  if (!existsSync(path)) return { stderr: `vmd: ${file}: No such file or directory\n`, code: 1 };
  const parsed = parseVmConf(readFileSync(path, 'utf8'));
  if ('line' in parsed) return { stderr: `${file}:${parsed.line}: syntax error\n`, code: 1 };
  return { stderr: 'configuration OK\n', code: 0 };
};

function vmdSize(text: string): number | null {
  const m = /^(\d+)([KMG]?)$/i.exec(text);
  if (!m) return null;
  return Number(m[1]) * 1024 ** ({ '': 2, K: 1, M: 2, G: 3 }[m[2].toUpperCase()] ?? 2);
}

/** vmctl create [-b base | -i disk] -s size disk: qcow2 when the name ends in .qcow2 (or has the qcow2: prefix), else raw. */
function vmctlCreate(call: ToolCall): ToolOutput {
  const args = call.args.slice(1);
  const sizeAt = args.indexOf('-s');
  const size = sizeAt >= 0 ? vmdSize(args[sizeAt + 1] ?? '') : null;
  // (-b without -s takes the base's size in vmctl; the simulator asks for -s always, as the agent gives it.)
  const disk = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '-s' && args[i - 1] !== '-b' && args[i - 1] !== '-i')[0];
  if (!disk || size === null) return { stderr: 'usage:\tvmctl [-v] create [-b base | -i disk] [-s size] disk\n', code: 1 };
  const path = resolve(call.cwd, disk.replace(/^(qcow2|raw):/, ''));
  if (existsSync(path)) return { stderr: `vmctl: could not create ${disk}: File exists\n`, code: 1 };
  const baseAt = args.indexOf('-b');
  const base = baseAt >= 0 ? resolve(call.cwd, args[baseAt + 1] ?? '') : undefined;
  if (base && !existsSync(base)) return { stderr: `vmctl: could not open base image ${args[baseAt + 1]}: No such file or directory\n`, code: 1 };
  const qcow2 = disk.startsWith('qcow2:') || path.endsWith('.qcow2') || base !== undefined;
  try {
    const header = { format: 'qcow2', virtualSize: size, ...(base ? { backing: base, backingFormat: 'qcow2' } : {}) };
    writeFileSync(path, qcow2 ? Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.from(JSON.stringify(header) + '\n')]) : Buffer.alloc(0), { flag: 'wx' });
  } catch (e) {
    return { stderr: `vmctl: could not create ${disk}: ${(e as Error).message}\n`, code: 1 };
  }
  return { stderr: `vmctl: ${qcow2 ? 'qcow2' : 'raw'} imagefile created\n`, code: 0 };
}

/** vmctl start [-cL] [-i count] [-m size] [-d disk] [-r path] name: creates the VM when new, starts it when stopped. */
function vmctlStart(call: ToolCall): ToolOutput {
  const args = call.args.slice(1);
  const withValue = ['-B', '-b', '-d', '-i', '-m', '-n', '-r', '-t'];
  const opts: Record<string, string[]> = {};
  let name: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (withValue.includes(args[i])) (opts[args[i]] ??= []).push(args[++i] ?? '');
    else if (!args[i].startsWith('-')) name = args[i];
  }
  if (!name) return { stderr: 'usage:\tvmctl [-v] start [-cL] [-B device] [-b path] [-d disk] [-i count]\n\t[-m size] [-n switch] [-r path] [-t name] id | name\n', code: 1 };
  for (const f of [...(opts['-d'] ?? []), ...(opts['-r'] ?? [])]) if (!existsSync(resolve(call.cwd, f))) return { stderr: `vmctl: start vm command failed: No such file or directory\n`, code: 1 };
  return updateState(call.stateDir, (state): ToolOutput => {
    let m = vmdMachines(state).find((x) => x.name === name);
    if (m?.state === 'running') return { stderr: 'vmctl: start vm command failed: Operation already in progress\n', code: 1 };
    if (!m) {
      const memory = opts['-m'] ? vmdSize(opts['-m'][0]) : 512 * 1024 * 1024;
      // vmd's vm_register(): a VM it does not know, given no disk, cdrom or kernel.
      if (!opts['-d'] && !opts['-r']) return { stderr: `vmctl: start vm command failed: Invalid argument\n`, code: 1 };
      state.machines = state.machines.filter((x) => x.name !== name);
      m = { name, uuid: randomUUID(), id: null, state: 'shut off', vcpus: Number(opts['-i']?.[0] ?? 1), memoryKiB: (memory ?? 0) / 1024, mac: 'fe:e1:ba:d0:' + randomBytes(2).toString('hex').replace(/(..)(..)/, '$1:$2'), autostart: false, disks: (opts['-d'] ?? []).map((d) => resolve(call.cwd, d)) };
      state.machines.push(m);
    }
    // Start parameters given again define the VM anew (vmd forgets a VM that is not in vm.conf once it stops).
    if (opts['-d']) m.disks = opts['-d'].map((d) => resolve(call.cwd, d));
    const media = m.disks?.find((d) => INSTALLER.test(basename(d)));
    m.installMedia = media;
    m.state = 'running';
    m.id = state.nextId++;
    const vmId = vmdMachines(state).indexOf(m) + 1;
    if (media) {
      // The simulated installer runs to completion and halts: the VM is stopped right after (and forgotten unless vm.conf defines it).
      installFromMedia(call, m);
      m.state = 'shut off';
      m.id = null;
      forgetUndefined(state);
    }
    return { stderr: `vmctl: started vm ${vmId} successfully, tty /dev/ttyp${vmId - 1}\n`, code: 0 };
  });
}

/** OpenBSD's install images (installNN.img / .iso, as cached "<hash>-install76.img"): booting one runs the installer. */
const INSTALLER = /install\d+\.(img|iso)$/;

/** makefs -t cd9660 -o label=cidata,... IMAGE DIR: the seed ISO; the simulated guest's cloud-init takes its keys. */
const makefs: ToolImpl = (call) => {
  const args = call.args;
  const [image, dir] = args.filter((a, i) => !a.startsWith('-') && !['-t', '-o', '-s', '-S', '-B', '-b', '-f', '-F', '-M', '-m', '-N', '-O', '-R'].includes(args[i - 1]));
  if (!image || !dir) return { stderr: 'usage: makefs [-x] [-B endian] [-b free-blocks] [-d debug-mask] [-F mtree-specfile] [-f free-files] [-M minimum-size] [-m maximum-size] [-N userdb-dir] [-O offset] [-o fs-options] [-S sector-size] [-s image-size] [-t fs-type] image-file directory\n', code: 1 };
  const from = resolve(call.cwd, dir);
  if (!existsSync(from)) return { stderr: `makefs: ${dir}: No such file or directory\n`, code: 1 };
  const userData = join(from, 'user-data');
  const text = existsSync(userData) ? readFileSync(userData, 'utf8') : '';
  writeFileSync(resolve(call.cwd, image), Buffer.concat([Buffer.from(`CD001 ${/label=([^,]+)/.exec(args.join(' '))?.[1] ?? ''} (host-sim)\n`), Buffer.from(text)]));
  if (/label=cidata\b/.test(args.join(' '))) authorizeGuestKeys(call.config, userDataKeys(text));
  return ok();
};

/** vmd forgets a stopped VM that vm.conf does not define. */
function forgetUndefined(state: SimState): void {
  const known = vmdMachines(state);
  state.machines = state.machines.filter((m) => known.includes(m));
}

/** Where the simulated installer finds "the DHCP server's" HTTP server: the agent's port on 127.0.0.1. */
function autoinstallPort(call: ToolCall): number {
  const port = Number(call.env.SYSFLEET_VMD_AUTOINSTALL_PORT || 80);
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : 80;
}

/** GETs one URL from a child node (tool calls are synchronous); null on any failure or non-200. */
function httpGetSync(url: string): string | null {
  const script = 'fetch(process.argv[1],{signal:AbortSignal.timeout(5000)}).then(async(r)=>{if(!r.ok)process.exit(2);process.stdout.write(await r.text())}).catch(()=>process.exit(3))';
  try {
    return execFileSync(process.execPath, ['-e', script, url], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

/**
 * The simulated autoinstall(8): fetches the response file over HTTP as the installer does (first
 * /<MAC>-install.conf, then /install.conf), gives its "Public ssh key" answers to the guest's sshd
 * stand-in, and halts at once, as an installer that ran to completion does. Without a response file
 * nothing is authorised: the guest's SSH never lets the agent in.
 */
function installFromMedia(call: ToolCall, m: SimMachine): void {
  const base = `http://127.0.0.1:${autoinstallPort(call)}`;
  const conf = httpGetSync(`${base}/${m.mac}-install.conf`) ?? httpGetSync(`${base}/install.conf`);
  if (conf === null) return;
  const keys = conf.split('\n').map((l) => /^Public ssh key for (?:root account|user \S+) = (.+)$/.exec(l)?.[1]).filter((k): k is string => Boolean(k));
  authorizeGuestKeys(call.config, keys);
}

/** vmctl stop [-fw] name; a VM that ran an installer is stopped when it halted. */
function vmctlStop(call: ToolCall): ToolOutput {
  const name = call.args.slice(1).find((a) => !a.startsWith('-'));
  return updateState(call.stateDir, (state): ToolOutput => {
    const m = vmdMachines(state).find((x) => x.name === name);
    if (!m) return { stderr: 'vmctl: terminate vm command failed: Invalid argument\n', code: 1 };
    if (m.state !== 'running') return { stdout: `stopping vm ${m.name}: vm not running\n`, code: 1 };
    const vmId = vmdMachines(state).indexOf(m) + 1;
    m.state = 'shut off';
    m.id = null;
    forgetUndefined(state);
    return ok(`stopping vm ${m.name}: ${call.args.includes('-f') ? 'forced to terminate' : 'requested to shutdown'} vm ${vmId}\n`);
  });
}

function sysctlValues(call: ToolCall, state: SimState): Record<string, string> {
  const cpu = existsSync(join(call.hostRoot, 'dev/vmm'));
  return {
    'kern.ostype': 'OpenBSD',
    'kern.osrelease': '7.6',
    'kern.version': 'OpenBSD 7.6 (GENERIC.MP) #338: Mon Sep 30 08:55:35 MDT 2024\n    deraadt@amd64.openbsd.org:/usr/src/sys/arch/amd64/compile/GENERIC.MP\n',
    'hw.machine': 'amd64',
    'hw.model': 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz',
    'hw.ncpu': '2',
    'hw.ncpuonline': '2',
    'hw.physmem': '17162555392',
    'hw.cpuspeed': '2095',
    'machdep.cpuvendor': 'GenuineIntel',
    'machdep.cpuid': cpu ? '0x50657' : '0x50657',
    'net.inet.ip.forwarding': '0',
    ...state.settings,
  };
}

/** sysctl(8): `name`, `-n name`, `name=value`. */
const sysctl: ToolImpl = (call) => {
  const valueOnly = call.args.includes('-n');
  const names = call.args.filter((a) => a !== '-n');
  return updateState(call.stateDir, (state): ToolOutput => {
    const values = sysctlValues(call, state);
    let stdout = '';
    for (const arg of names) {
      const [name, newValue] = arg.split('=');
      if (!(name in values)) {
        const parts = name.split('.');
        return { stdout, stderr: `sysctl: ${parts.length > 1 ? `second level name ${parts[1]} in ${name} is invalid` : `top level name ${name} in ${name} is invalid`}\n`, code: 1 };
      }
      if (newValue !== undefined) {
        if (name !== 'net.inet.ip.forwarding') return { stdout, stderr: `sysctl: ${name}: Operation not permitted\n`, code: 1 };
        stdout += `${name}: ${values[name]} -> ${newValue}\n`;
        state.settings[name] = newValue;
      } else stdout += valueOnly ? `${values[name].replace(/\n$/, '')}\n` : `${name}=${values[name].replace(/\n$/, '')}\n`;
    }
    return ok(stdout);
  });
};

const PF_RULE = /^(pass|block|match|anchor|set|table|antispoof|scrub|include|load|queue|ext_if|int_if)\b|^[A-Za-z_][A-Za-z0-9_]*\s*=\s*\S/;

/** pfctl(8) -n -f FILE: a line that does not begin like a pf.conf(5) statement is a syntax error, as pfctl reports it. */
function checkPfFile(call: ToolCall, file: string): ToolOutput | null {
  const path = resolve(call.cwd, file);
  if (!existsSync(path)) return { stderr: `pfctl: ${file}: No such file or directory\n`, code: 1 };
  const lines = readFileSync(path, 'utf8').split('\n');
  let joined = '';
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (raw.endsWith('\\')) {
      joined += raw.slice(0, -1) + ' ';
      continue;
    }
    const line = (joined + raw).replace(/#.*$/, '').trim();
    joined = '';
    if (line && !PF_RULE.test(line)) return { stderr: `${file}:${i + 1}: syntax error\npfctl: Syntax error in config file: pf rules not loaded\n`, code: 1 };
  }
  return null;
}

const pfctl: ToolImpl = (call) => {
  const flags = call.args.filter((a) => a.startsWith('-')).join('').replace(/-/g, '');
  const fIndex = call.args.findIndex((a) => a.startsWith('-') && a.includes('f'));
  if (flags.includes('e')) return updateState(call.stateDir, (s) => (s.settings['pf.enabled'] === '1' ? { stderr: 'pfctl: pf already enabled\n', code: 1 } : ((s.settings['pf.enabled'] = '1'), { stderr: 'pf enabled\n', code: 0 })));
  if (fIndex < 0 || !call.args[fIndex + 1]) return { stderr: 'usage: pfctl [-deghMmNnOPqrvz] [-a anchor] [-D macro=value] [-F modifier] [-f file]\n', code: 1 };
  const file = call.args[fIndex + 1];
  const bad = checkPfFile(call, file);
  if (bad) return bad;
  if (flags.includes('n')) return ok();
  return updateState(call.stateDir, (s) => {
    s.settings['pf.loaded'] = readFileSync(resolve(call.cwd, file), 'utf8');
    return ok();
  });
};

/** fw_update(8): installs vmm-firmware when vmm(4) attached (or when asked for by name). */
const fwUpdate: ToolImpl = (call) => {
  const wanted = call.args.filter((a) => !a.startsWith('-'));
  const drivers = wanted.length ? wanted : vmmPresent(call) ? ['vmm'] : [];
  const unknown = drivers.find((d) => d !== 'vmm');
  if (unknown) return { stderr: `fw_update: ${unknown}: unknown firmware\n`, code: 1 };
  return updateState(call.stateDir, (state) => {
    const added = drivers.filter((d) => !state.firmware.includes(d));
    const kept = drivers.filter((d) => state.firmware.includes(d));
    state.firmware.push(...added);
    if (added.includes('vmm')) {
      mkdirSync(join(call.hostRoot, 'etc/firmware'), { recursive: true });
      writeFileSync(join(call.hostRoot, 'etc/firmware/vmm-bios'), 'SeaBIOS (simulated)\n');
    }
    const list = (xs: string[]) => (xs.length ? xs.join(',') : 'none');
    return { stderr: `fw_update: added ${list(added)}; updated none; kept ${list(kept)}\n`, code: 0 };
  });
};

/** ifconfig(8): create / destroy / add / del / inet / up / show, enough for vether + bridge set-ups. */
/** The running VMs' tap interfaces (vmd describes each "vm<id>-if0-<name>"). */
function vmTaps(state: SimState): { tap: string; vmId: number; m: SimMachine }[] {
  return vmdMachines(state)
    .map((m, i) => ({ m, vmId: i + 1 }))
    .filter(({ m }) => m.state === 'running')
    .map(({ m, vmId }, i) => ({ tap: `tap${i}`, vmId, m }));
}

/** arp -an: each running VM's guest address on its tap (the configured guestIp, else vmd's 100.64.<id>.3). */
const arp: ToolImpl = (call) => {
  const state = readState(call.stateDir);
  const rows = vmTaps(state).map(({ tap, vmId, m }) => `${(m.ip ?? call.config.guestIp ?? `100.64.${vmId}.3`).padEnd(36)} ${m.mac.padEnd(17)} ${tap.padStart(6)} 19m58s\n`);
  return ok(`${'Host'.padEnd(36)} ${'Ethernet Address'.padEnd(17)} ${'Netif'.padStart(6)} Expire    Flags\n${rows.join('')}`);
};

const ifconfig: ToolImpl = (call) => {
  const [name, ...rest] = call.args;
  if (name === 'tap' && rest.length === 0) {
    const taps = vmTaps(readState(call.stateDir));
    return ok(taps.map(({ tap, vmId, m }, i) => `${tap}: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tlladdr fe:e1:ba:d0:00:${(i + 1).toString(16).padStart(2, '0')}\n\tdescription: vm${vmId}-if0-${m.name}\n\tindex ${10 + i} priority 0 llprio 3\n\tgroups: tap\n\tstatus: active\n\tinet 100.64.${vmId}.2 netmask 0xfffffffe\n`).join(''));
  }
  return updateState(call.stateDir, (state): ToolOutput => {
    if (!name) return ok(Object.keys(state.interfaces).map((n) => `${n}: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n`).join(''));
    const iface = state.interfaces[name];
    if (rest[0] === 'create') {
      if (iface) return { stderr: 'ifconfig: SIOCIFCREATE2: File exists\n', code: 1 };
      if (!/^(vether|bridge|veb|tap)\d+$/.test(name)) return { stderr: 'ifconfig: SIOCIFCREATE2: Invalid argument\n', code: 1 };
      state.interfaces[name] = { members: [], up: false, created: true };
      rest.shift();
    } else if (!iface) return { stderr: `ifconfig: ${name}: no such interface\n`, code: 1 };
    const target = state.interfaces[name];
    for (let i = 0; i < rest.length; i++) {
      const word = rest[i];
      if (word === 'destroy') {
        delete state.interfaces[name];
        for (const other of Object.values(state.interfaces)) other.members = other.members.filter((m) => m !== name);
        return ok();
      } else if (word === 'add' || word === 'del') {
        const member = rest[++i];
        if (!member || !state.interfaces[member]) return { stderr: `ifconfig: ${member ?? ''}: no such interface\n`, code: 1 };
        if (word === 'add' && target.members.includes(member)) return { stderr: `ifconfig: ${name}: ${member}: File exists\n`, code: 1 };
        target.members = word === 'add' ? [...target.members, member] : target.members.filter((m) => m !== member);
      } else if (word === 'up' || word === 'down') target.up = word === 'up';
      else if (word === 'inet') target.inet = rest[++i];
      else if (/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(word)) target.inet = word;
      else return { stderr: `ifconfig: ${word}: bad value\n`, code: 1 };
    }
    if (rest.length === 0) {
      const members = target.members.map((m) => `\t${m} flags=3<LEARNING,DISCOVER>\n`).join('');
      return ok(`${name}: flags=${target.up ? '8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>' : '8802<BROADCAST,SIMPLEX,MULTICAST>'} mtu 1500\n${target.inet ? `\tinet ${target.inet}\n` : ''}${members}`);
    }
    return ok();
  });
};

export const OPENBSD_TOOLS: Record<string, ToolImpl> = { rcctl, vmctl, vmd, sysctl, pfctl, fw_update: fwUpdate, ifconfig, arp, makefs };
