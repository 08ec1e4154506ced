import type { ToolCall, ToolImpl, ToolOutput } from '../cli';
import { readState, SimState, updateState } from '../state';

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
  const args = call.args;
  const has = (...names: string[]) => args.some((a) => names.includes(a));
  if (has('--install')) {
    if (!has('--no-distribution')) return wslOut(call, 'host-sim: only `wsl --install --no-distribution` is simulated yet\n', 1);
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
  return wslOut(call, `host-sim: \`wsl ${args.join(' ')}\` is not simulated yet\n`, 1);
};

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
