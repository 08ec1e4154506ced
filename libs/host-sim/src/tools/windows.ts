import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ToolCall, ToolImpl, ToolOutput } from '../cli';
import { readState, SimMachine, SimState, updateState } from '../state';
import { randomMac } from './guests';

/** wsl.exe writes UTF-16LE (wprintf to a pipe) unless WSL_UTF8=1, with CRLF line ends. */
function wslOut(call: ToolCall, text: string, code = 0): ToolOutput {
  const crlf = text.replace(/\r?\n/g, '\r\n');
  return { stdout: call.env.WSL_UTF8 === '1' ? Buffer.from(crlf, 'utf8') : Buffer.from(crlf, 'utf16le'), code };
}

// Strings from microsoft/WSL localization/strings/en-US/Resources.resw and src/windows/common/WslClient.cpp.
const NOT_INSTALLED = "The Windows Subsystem for Linux is not installed. You can install by running 'wsl.exe --install'.\nFor more information please visit https://aka.ms/wslinstall\n";
const ENABLE_VIRTUALIZATION =
  'WSL2 is not supported with your current machine configuration.\nPlease enable the "Virtual Machine Platform" optional component and ensure virtualization is enabled in the BIOS.\nEnable "Virtual Machine Platform" by running: wsl.exe --install --no-distribution\nFor information please visit https://aka.ms/enablevirtualization\n';
const NO_DISTROS =
  "Windows Subsystem for Linux has no installed distributions.\nYou can resolve this by installing a distribution with the instructions below:\n\nUse 'wsl.exe --list --online' to list available distributions\nand 'wsl.exe --install <Distro>' to install.\nError code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND\n";
const VERSIONS = 'WSL version: 2.3.26.0\nKernel version: 5.15.167.4-1\nWSLg version: 1.0.65\nMSRDC version: 1.2.5620\nDirect3D version: 1.611.1-81528511\nDXCore version: 10.0.26100.1-240331-1435.ge-release\nWindows version: 10.0.22631.4460\n';

/** The virtualisation platform works: installed, rebooted since, and the CPU can virtualise. */
function platformReady(call: ToolCall, state: SimState): boolean {
  return state.wsl.installed && !state.wsl.rebootPending && !call.config.needsReboot && !call.config.noCpuSupport;
}

function listVerbose(call: ToolCall, state: SimState): ToolOutput {
  const distros = state.machines.filter((m) => m.wslVersion !== undefined);
  if (distros.length === 0) return wslOut(call, NO_DISTROS, 1);
  // The default distribution is listed first (WslClient.cpp ListDistributionsHelper).
  const sorted = [...distros].sort((a, b) => Number(b.name === state.wsl.defaultDistribution) - Number(a.name === state.wsl.defaultDistribution));
  const width = Math.max(4, ...distros.map((d) => d.name.length)) + 4;
  const line = (mark: string, name: string, st: string, version: string) => `${mark} ${name.padEnd(width)}${st.padEnd(16)}${version}\n`;
  return wslOut(call, line(' ', 'NAME', 'STATE', 'VERSION') + sorted.map((d) => line(d.name === state.wsl.defaultDistribution ? '*' : ' ', d.name, d.state === 'running' ? 'Running' : 'Stopped', String(d.wslVersion))).join(''));
}

const wsl: ToolImpl = (call) => {
  // Only wsl.exe's own options: what follows "--" is the guest command's.
  const sep = call.args.indexOf('--');
  const args = sep >= 0 ? call.args.slice(0, sep) : call.args;
  const has = (...names: string[]) => args.some((a) => names.includes(a));
  if (has('--install') && !has('--no-distribution')) return installDistribution(call);
  if (has('--install')) {
    return updateState(call.stateDir, (state) => {
      if (state.wsl.installed || state.wsl.rebootPending) return wslOut(call, 'The operation completed successfully.\n');
      state.wsl.rebootPending = true;
      return wslOut(
        call,
        'Installing: Virtual Machine Platform\nVirtual Machine Platform has been installed.\nInstalling: Windows Subsystem for Linux\nWindows Subsystem for Linux has been installed.\nThe requested operation is successful. Changes will not be effective until the system is rebooted.\n',
      );
    });
  }
  const state = readState(call.stateDir);
  if (!state.wsl.installed && !state.wsl.rebootPending) return wslOut(call, NOT_INSTALLED, 1);
  if (has('--status')) {
    const head = state.wsl.defaultDistribution ? `Default Distribution: ${state.wsl.defaultDistribution}\n` : '';
    return wslOut(call, `${head}Default Version: ${state.wsl.defaultVersion}\n${platformReady(call, state) ? '' : '\n' + ENABLE_VIRTUALIZATION}`);
  }
  if (has('--version', '-v') && !has('-l', '--list')) return wslOut(call, VERSIONS);
  if (has('-l', '--list') && has('-v', '--verbose')) return listVerbose(call, state);
  if (has('--import')) return importDistribution(call);
  if (has('--unregister')) return unregister(call);
  if (has('--terminate', '-t')) return terminate(call);
  if (has('-d', '--distribution')) return runInDistribution(call);
  return wslOut(call, `host-sim: \`wsl ${args.join(' ')}\` is not simulated yet\n`, 1);
};

const DISTRO_NOT_FOUND = 'There is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\n';
const ALREADY_EXISTS = 'A distribution with the supplied name already exists. Use --name to choose a different name.\nError code: Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS\n';

function after(args: string[], ...names: string[]): string | undefined {
  const i = args.findIndex((a) => names.includes(a));
  return i >= 0 ? args[i + 1] : undefined;
}

/** Registers a distribution whose files are a directory under the sim state (the simulated guest's cwd). */
function register(call: ToolCall, name: string, dir: string | undefined, done: string): ToolOutput {
  if (!platformReady(call, readState(call.stateDir))) return wslOut(call, ENABLE_VIRTUALIZATION, 1);
  return updateState(call.stateDir, (state) => {
    if (state.machines.some((m) => m.name.toLowerCase() === name.toLowerCase())) return wslOut(call, ALREADY_EXISTS, 1);
    const guestDir = join(call.stateDir, 'guests', name);
    mkdirSync(guestDir, { recursive: true });
    if (dir) mkdirSync(dir, { recursive: true });
    const m: SimMachine = { name, uuid: randomUUID(), id: null, state: 'shut off', vcpus: 2, memoryKiB: 0, mac: randomMac(), autostart: false, wslVersion: state.wsl.defaultVersion, guestDir, ...(dir ? { diskPath: join(dir, 'ext4.vhdx'), disks: [join(dir, 'ext4.vhdx')] } : {}) };
    state.machines.push(m);
    if (!state.wsl.defaultDistribution) state.wsl.defaultDistribution = name;
    return wslOut(call, done);
  });
}

/** wsl --install -d <Distro> [--name NAME] [--no-launch] */
function installDistribution(call: ToolCall): ToolOutput {
  const distro = after(call.args, '-d', '--distribution');
  if (!distro) return wslOut(call, 'host-sim: wsl --install needs -d <Distro> or --no-distribution\n', 1);
  const name = after(call.args, '--name') ?? distro;
  return register(call, name, undefined, `Downloading: ${distro}\nInstalling: ${distro}\nDistribution successfully installed. It can be launched via 'wsl.exe -d ${name}'\n`);
}

/** wsl --import <Distro> <InstallLocation> <FileName> [--version N] */
function importDistribution(call: ToolCall): ToolOutput {
  const i = call.args.indexOf('--import');
  const [name, dir, file] = call.args.slice(i + 1, i + 4);
  if (!name || !dir || !file) return wslOut(call, 'Invalid command line argument: --import\nPlease use \'wsl.exe --help\' to get a list of supported arguments.\n', 1);
  if (!existsSync(resolve(call.cwd, file))) return wslOut(call, `The system cannot find the file specified.\nError code: Wsl/Service/RegisterDistro/ERROR_FILE_NOT_FOUND\n`, 1);
  return register(call, name, resolve(call.cwd, dir), 'Import in progress, this may take a few minutes.\nThe operation completed successfully.\n');
}

function unregister(call: ToolCall): ToolOutput {
  const name = after(call.args, '--unregister');
  return updateState(call.stateDir, (state) => {
    const m = state.machines.find((x) => x.name.toLowerCase() === (name ?? '').toLowerCase());
    if (!m) return wslOut(call, DISTRO_NOT_FOUND, 1);
    state.machines = state.machines.filter((x) => x !== m);
    if (state.wsl.defaultDistribution === m.name) state.wsl.defaultDistribution = state.machines.find((x) => x.wslVersion !== undefined)?.name;
    return wslOut(call, 'Unregistering.\nThe operation completed successfully.\n');
  });
}

function terminate(call: ToolCall): ToolOutput {
  const name = after(call.args, '--terminate', '-t');
  return updateState(call.stateDir, (state) => {
    const m = state.machines.find((x) => x.name.toLowerCase() === (name ?? '').toLowerCase());
    if (!m) return wslOut(call, DISTRO_NOT_FOUND, 1);
    m.state = 'shut off';
    return wslOut(call, 'The operation completed successfully.\n');
  });
}

/**
 * wsl -d NAME [-u USER] -- CMD ARGS...: the simulated guest RUNS the command on this machine, with
 * the args as given and the distribution's directory as cwd; its output passes through as it is
 * (a Linux program's UTF-8, not wsl.exe's UTF-16).
 */
function runInDistribution(call: ToolCall): ToolOutput {
  const name = after(call.args, '-d', '--distribution') ?? '';
  const sep = call.args.indexOf('--');
  const command = sep >= 0 ? call.args.slice(sep + 1) : [];
  const m = updateState(call.stateDir, (state) => {
    const found = state.machines.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (found) found.state = 'running';
    return found;
  });
  if (!m) return wslOut(call, DISTRO_NOT_FOUND, 1);
  if (command.length === 0) return wslOut(call, 'host-sim: an interactive shell is not simulated; give a command after --\n', 1);
  const r = spawnSync(command[0], command.slice(1), { cwd: m.guestDir ?? call.cwd, env: { ...process.env, WSL_DISTRO_NAME: m.name }, maxBuffer: 16 * 1024 * 1024 });
  if (r.error) return { stdout: Buffer.from(`${command[0]}: ${r.error.message}\n`), code: 1 };
  return { stdout: r.stdout, stderr: r.stderr.toString('utf8'), code: r.status ?? 1 };
}

const REBOOT_PENDING_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending';

/** reg.exe query of the key Windows keeps while a servicing operation waits for a reboot. */
const reg: ToolImpl = (call) => {
  const [verb, key] = call.args;
  if (verb?.toLowerCase() !== 'query' || !key) return { stderr: 'ERROR: Invalid syntax.\r\nType "REG QUERY /?" for usage.\r\n', code: 1 };
  const state = readState(call.stateDir);
  const pending = state.wsl.rebootPending || Boolean(call.config.needsReboot);
  if (key.toUpperCase() === REBOOT_PENDING_KEY.toUpperCase() && pending) return { stdout: `\r\n${key.replace(/^HKLM/i, 'HKEY_LOCAL_MACHINE')}\r\n\r\n`, code: 0 };
  return { stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n', code: 1 };
};

export const WINDOWS_TOOLS: Record<string, ToolImpl> = { 'wsl.exe': wsl, 'reg.exe': reg };
