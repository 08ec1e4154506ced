import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../types';
import { parseArpTable, parseDmesgVirtualization, parseRcctlCheck, parseSysctl, parseTapDescriptions, parseVmctlStatus, scaledToMb } from './parsers';

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
    // rcctl(8) check: daemon(ok) while the daemon runs (exit 0), daemon(failed) otherwise (exit 1).
    expect(parseRcctlCheck(fixture('rcctl-check-vmd-ok.txt'), 'vmd')).toBe(true);
    expect(parseRcctlCheck(fixture('rcctl-check-vmd-failed.txt'), 'vmd')).toBe(false);
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

describe('vmd guest address lookup', () => {
  it('finds the tap vmd described for a VM, and that tap\'s ARP entry', () => {
    const ifconfig = 'tap0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tlladdr fe:e1:ba:d0:00:01\n\tdescription: vm1-if0-web1\n\tindex 5 priority 0 llprio 3\n\tgroups: tap\n\tstatus: active\n\tinet 100.64.1.2 netmask 0xfffffffe\ntap1: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n\tlladdr fe:e1:ba:d0:00:02\n';
    expect(parseTapDescriptions(ifconfig)).toEqual([{ name: 'tap0', description: 'vm1-if0-web1' }, { name: 'tap1' }]);
    const arp = 'Host                                 Ethernet Address   Netif Expire    Flags\n100.64.1.3                           fe:e1:ba:d0:00:03   tap0 19m58s\n192.168.1.1                          00:0d:b9:12:34:56    em0 permanent l\n';
    expect(parseArpTable(arp)).toEqual([{ host: '100.64.1.3', mac: 'fe:e1:ba:d0:00:03', netif: 'tap0' }, { host: '192.168.1.1', mac: '00:0d:b9:12:34:56', netif: 'em0' }]);
    expect(() => parseArpTable('100.64.1.3 x tap0\n')).toThrow(/missing header/);
  });

  it('reads vmctl status sizes in MiB', () => {
    expect([scaledToMb('512M'), scaledToMb('1.0G'), scaledToMb('16G')]).toEqual([512, 1024, 16384]);
    expect(() => scaledToMb('lots')).toThrow(/not fmt_scaled/);
  });
});
