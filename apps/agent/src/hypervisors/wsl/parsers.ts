import { ParseError } from '../types';

/**
 * wsl.exe output as text: UTF-16LE (its default when writing to a pipe) or UTF-8 (WSL_UTF8=1).
 * UTF-16LE is recognised by its BOM or by NUL high bytes in the first characters.
 */
export function decodeWslOutput(bytes: Buffer): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  const sample = bytes.subarray(0, Math.min(bytes.length, 64));
  let zeroHigh = 0;
  for (let i = 1; i < sample.length; i += 2) if (sample[i] === 0) zeroHigh++;
  const isUtf16 = sample.length >= 2 && zeroHigh >= Math.floor(sample.length / 2) * 0.5;
  return (isUtf16 ? bytes.toString('utf16le') : bytes.toString('utf8')).replace(/^\uFEFF/, '');
}

export interface WslDistribution {
  name: string;
  state: string;
  version: number;
  isDefault: boolean;
}

const WSL_STATES = ['Running', 'Stopped', 'Installing', 'Uninstalling', 'Converting', 'Exporting'];

/** `wsl -l -v` (WslClient.cpp: "%s %-{n}s%-16s%s"), the default distribution marked with "*". */
export function parseWslList(text: string): WslDistribution[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n').filter((l) => l.trim() !== '');
  if (!/^\s{2}NAME\s+STATE\s+VERSION\s*$/.test(lines[0] ?? '')) throw new ParseError('wsl -l -v', 'missing "NAME STATE VERSION" header', lines[0] ?? '');
  return lines.slice(1).map((line) => {
    const m = /^([* ]) (\S(?:.*\S)?)\s+(\S+)\s+([12])\s*$/.exec(line);
    if (!m || !WSL_STATES.includes(m[3])) throw new ParseError('wsl -l -v', 'row is not "[*] NAME STATE VERSION"', line);
    return { name: m[2], state: m[3], version: Number(m[4]), isDefault: m[1] === '*' };
  });
}

export interface WslStatus {
  defaultDistribution?: string;
  defaultVersion: number;
  /** The status asks to enable "Virtual Machine Platform" / BIOS virtualisation: WSL 2 cannot run yet. */
  virtualizationUnavailable: boolean;
}

/** `wsl --status` (WSL 2.x): "Default Distribution: X", "Default Version: N", then optional notices. */
export function parseWslStatus(text: string): WslStatus {
  const t = text.replace(/\r\n/g, '\n');
  const version = /^Default Version: (\d)$/m.exec(t);
  if (!version) throw new ParseError('wsl --status', 'no "Default Version" line', t.split('\n')[0]);
  const distro = /^Default Distribution: (.+)$/m.exec(t);
  return {
    ...(distro ? { defaultDistribution: distro[1].trim() } : {}),
    defaultVersion: Number(version[1]),
    virtualizationUnavailable: /Virtual Machine Platform/.test(t),
  };
}

/** `wsl --version`: "WSL version: 2.3.26.0", "Kernel version: ...". */
export function parseWslVersion(text: string): { wsl: string; kernel?: string } {
  const t = text.replace(/\r\n/g, '\n');
  const wsl = /^WSL version: (\S+)$/m.exec(t);
  if (!wsl) throw new ParseError('wsl --version', 'no "WSL version" line', t.split('\n')[0]);
  const kernel = /^Kernel version: (\S+)$/m.exec(t);
  return { wsl: wsl[1], ...(kernel ? { kernel: kernel[1] } : {}) };
}

/** The inbox wsl.exe stub's answer when the WSL feature is not installed. */
export function isWslNotInstalled(text: string): boolean {
  return /Windows Subsystem for Linux is not installed/.test(text);
}
