import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ToolCall, ToolImpl, ToolOutput } from '../cli';
import { fmtScaled } from '../format';
import { readState, SimState, updateState } from '../state';

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
  if (call.args[0] === 'reload') return ok();
  if (call.args[0] !== 'status' && call.args[0] !== 'show') return { stderr: `vmctl: host-sim does not simulate \`${call.args.join(' ')}\` yet\n`, code: 1 };
  const only = call.args[1];
  const head = `${'ID'.padStart(5)} ${'PID'.padStart(5)} ${'VCPUS'.padStart(5)} ${'MAXMEM'.padStart(7)} ${'CURMEM'.padStart(7)} ${'TTY'.padStart(7)} ${'OWNER'.padStart(12)} ${'STATE'.padStart(8)} NAME\n`;
  const rows = state.machines
    .map((m, i) => ({ m, vmId: i + 1 }))
    .filter(({ m, vmId }) => !only || m.name === only || String(vmId) === only)
    .map(({ m, vmId }) => {
      const running = m.state === 'running';
      const max = fmtScaled(m.memoryKiB * 1024);
      const cols = running
        ? [String(vmId).padStart(5), String(40000 + vmId).padStart(5), String(m.vcpus).padStart(5), max.padStart(7), max.padStart(7), `ttyp${vmId - 1}`.padStart(7)]
        : [String(vmId).padStart(5), '-'.padStart(5), String(m.vcpus).padStart(5), max.padStart(7), '-'.padStart(7), '-'.padStart(7)];
      return `${cols.join(' ')} ${'root'.padStart(12)} ${(running ? 'running' : 'stopped').padStart(8)} ${m.name}\n`;
    });
  return ok(head + rows.join(''));
};

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
const ifconfig: ToolImpl = (call) => {
  const [name, ...rest] = call.args;
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

export const OPENBSD_TOOLS: Record<string, ToolImpl> = { rcctl, vmctl, sysctl, pfctl, fw_update: fwUpdate, ifconfig };
