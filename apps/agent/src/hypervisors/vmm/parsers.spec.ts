import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../types';
import { parseDmesgVirtualization, parseRcctlCheck, parseSysctl, parseVmctlStatus } from './parsers';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('OpenBSD parsers', () => {
  it('reads vmctl status with a running and a stopped VM', () => {
    expect(parseVmctlStatus(fixture('vmctl-status.txt'))).toEqual([
      { id: 1, pid: 72118, vcpus: 1, maxMem: '1.0G', curMem: '1.0G', tty: 'ttyp8', owner: 'root', state: 'running', name: 'web-01' },
      { id: 2, pid: null, vcpus: 2, maxMem: '4.0G', curMem: null, tty: null, owner: 'root:wheel', state: 'stopped', name: 'openbsd-builder' },
    ]);
    expect(parseVmctlStatus(fixture('vmctl-status-empty.txt'))).toEqual([]);
  });

  it('reads rcctl check and sysctl lines', () => {
    expect(parseRcctlCheck('vmd(ok)\n', 'vmd')).toBe(true);
    expect(parseRcctlCheck('vmd(failed)\n', 'vmd')).toBe(false);
    expect(parseSysctl(fixture('sysctl.txt'))).toMatchObject({ 'kern.osrelease': '7.6', 'hw.ncpuonline': '2', 'net.inet.ip.forwarding': '0' });
  });

  it('reads vmm(4) support from dmesg.boot', () => {
    expect(parseDmesgVirtualization(fixture('dmesg.boot'))).toEqual({ cpuFlag: true, vmmAttached: true });
    const noVmx = fixture('dmesg.boot').replace(',VMX,', ',').replace('vmm0 at mainbus0: VMX/EPT\n', '');
    expect(parseDmesgVirtualization(noVmx)).toEqual({ cpuFlag: false, vmmAttached: false });
  });

  it('refuses malformed output', () => {
    expect(() => parseVmctlStatus('ID NAME\n')).toThrow(ParseError);
    expect(() => parseVmctlStatus(fixture('vmctl-status.txt').replace('running', 'exploded'))).toThrow(/row is not/);
    expect(() => parseRcctlCheck('vmd: ok\n', 'vmd')).toThrow(/expected vmd\(ok\)/);
    expect(() => parseSysctl('kern.osrelease: 7.6\n')).toThrow(/name=value/);
    expect(() => parseDmesgVirtualization('nothing here\n')).toThrow(/no cpu feature line/);
  });
});
