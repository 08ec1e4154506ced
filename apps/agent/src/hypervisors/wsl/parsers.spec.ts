import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../types';
import { decodeWslOutput, isWslNotInstalled, parseWslList, parseWslStatus, parseWslVersion } from './parsers';

const bytes = (name: string) => readFileSync(join(__dirname, 'fixtures', name));

describe('WSL parsers', () => {
  const expected = [
    { name: 'Ubuntu-22.04', state: 'Running', version: 2, isDefault: true },
    { name: 'Debian', state: 'Stopped', version: 2, isDefault: false },
    { name: 'docker-desktop', state: 'Stopped', version: 1, isDefault: false },
  ];

  it('reads wsl -l -v in UTF-16LE (the default) and UTF-8 (WSL_UTF8=1)', () => {
    expect(parseWslList(decodeWslOutput(bytes('wsl-list-verbose.utf16le.bin')))).toEqual(expected);
    expect(parseWslList(decodeWslOutput(bytes('wsl-list-verbose.utf8.txt')))).toEqual(expected);
    const withBom = Buffer.concat([Buffer.from([0xff, 0xfe]), bytes('wsl-list-verbose.utf16le.bin')]);
    expect(parseWslList(decodeWslOutput(withBom))).toEqual(expected);
  });

  it('reads wsl --status and --version', () => {
    expect(parseWslStatus(decodeWslOutput(bytes('wsl-status.utf16le.bin')))).toEqual({ defaultDistribution: 'Ubuntu-22.04', defaultVersion: 2, virtualizationUnavailable: false });
    expect(parseWslStatus(decodeWslOutput(bytes('wsl-status-no-virtualization.utf8.txt')))).toEqual({ defaultVersion: 2, virtualizationUnavailable: true });
    expect(parseWslVersion(decodeWslOutput(bytes('wsl-version.utf16le.bin')))).toEqual({ wsl: '2.3.26.0', kernel: '5.15.167.4-1' });
    expect(isWslNotInstalled("The Windows Subsystem for Linux is not installed. You can install by running 'wsl.exe --install'.\r\n")).toBe(true);
  });

  it('refuses malformed output', () => {
    // UTF-16 bytes read as UTF-8 are not a table: never silently empty.
    expect(() => parseWslList(bytes('wsl-list-verbose.utf16le.bin').toString('utf8'))).toThrow(ParseError);
    expect(() => parseWslList('  NAME   STATE   VERSION\r\n* Ubuntu   Flying   2\r\n')).toThrow(/row is not/);
    expect(() => parseWslStatus('Default Distribution: Ubuntu\r\n')).toThrow(/Default Version/);
    expect(() => parseWslVersion('WSL 2\r\n')).toThrow(/WSL version/);
  });
});
