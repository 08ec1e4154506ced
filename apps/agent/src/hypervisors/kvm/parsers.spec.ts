import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParseError } from '../types';
import { cpuinfoHasVirtualization, parseNetworkXml, parseVirshDomifaddr, parseVirshDominfo, parseVirshList, parseVirshNetInfo, parseVirshNetList, parseVirshVersion } from './parsers';

// Captured from Debian 12's virsh 9.0 with the test driver: see fixtures/capture.sh.
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('virsh parsers on captured output', () => {
  it('reads virsh list --all with running, paused and shut off domains', () => {
    expect(parseVirshList(fixture('virsh-list-all-mixed.txt'))).toEqual([
      { id: 1, name: 'web-server-01.example', state: 'running' },
      { id: 2, name: 'paused-vm', state: 'paused' },
      { id: null, name: 'db1', state: 'shut off' },
    ]);
    expect(parseVirshList(fixture('virsh-list-all-default.txt'))).toEqual([{ id: 1, name: 'test', state: 'running' }]);
  });

  it('reads an empty domain list (the table after the destroy/undefine messages)', () => {
    const text = fixture('virsh-list-all-empty.txt');
    expect(parseVirshList(text.slice(text.indexOf(' Id')))).toEqual([]);
  });

  it('reads dominfo of a running and a shut off domain', () => {
    expect(parseVirshDominfo(fixture('virsh-dominfo-running.txt'))).toEqual({
      id: 1, name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', state: 'running', vcpus: 2,
      maxMemoryKiB: 8388608, usedMemoryKiB: 2097152, persistent: true, autostart: false,
    });
    expect(parseVirshDominfo(fixture('virsh-dominfo-shutoff.txt'))).toMatchObject({ id: null, name: 'db1', state: 'shut off', vcpus: 1, maxMemoryKiB: 1048576 });
  });

  it('reads domifaddr (agent and lease sources)', () => {
    expect(parseVirshDomifaddr(fixture('virsh-domifaddr.txt'))).toEqual([{ interface: 'testnet0', mac: 'aa:bb:cc:dd:ee:ff', protocol: 'ipv4', address: '192.168.122.3', prefix: 24 }]);
    expect(parseVirshDomifaddr(fixture('virsh-domifaddr-lease.txt'))[0]).toMatchObject({ mac: '52:54:00:6b:3c:58', address: '192.168.122.3' });
  });

  it('reads domifaddr continuation rows ("-" repeats the interface)', () => {
    const text = fixture('virsh-domifaddr.txt').replace(/\n\n$/, '\n') + ' -          -                    ipv6         fe80::1/64\n';
    expect(parseVirshDomifaddr(text)[1]).toEqual({ interface: 'testnet0', mac: 'aa:bb:cc:dd:ee:ff', protocol: 'ipv6', address: 'fe80::1', prefix: 64 });
  });

  it('reads net-list --all, net-info, net-dumpxml and version', () => {
    expect(parseVirshNetList(fixture('virsh-net-list-all.txt'))).toEqual([{ name: 'default', active: true, autostart: false, persistent: true }]);
    const two = fixture('virsh-net-list-all-two.txt');
    expect(parseVirshNetList(two.slice(two.indexOf(' Name')))).toEqual([
      { name: 'default', active: false, autostart: false, persistent: true },
      { name: 'sysfleet-br0', active: false, autostart: false, persistent: true },
    ]);
    expect(parseVirshNetInfo(fixture('virsh-net-info.txt'))).toMatchObject({ name: 'default', active: true, autostart: false, bridge: 'virbr0' });
    expect(parseNetworkXml(fixture('virsh-net-dumpxml.txt'))).toEqual({ name: 'default', forward: 'nat', bridge: 'virbr0', ipAddress: '192.168.122.1', netmask: '255.255.255.0' });
    expect(parseVirshVersion(fixture('virsh-version-full.txt'))).toEqual({ library: 'libvirt 9.0.0', api: 'TEST 9.0.0', hypervisor: 'TEST 0.0.2' });
  });

  it('refuses malformed output instead of guessing', () => {
    expect(() => parseVirshList('Id Name\n')).toThrow(ParseError);
    expect(() => parseVirshList(' Id   Name   State\n------------\n 1    test   exploded\n')).toThrow(/row is not/);
    expect(() => parseVirshNetList(fixture('virsh-list-all-default.txt'))).toThrow(/missing header/);
    expect(() => parseVirshDominfo('Id:             1\nName:           x\n')).toThrow(/missing UUID/);
    expect(() => parseVirshDominfo(fixture('virsh-dominfo-running.txt').replace('2097152 KiB', 'lots'))).toThrow(/not "<n> KiB"/);
    expect(() => parseVirshDomifaddr(fixture('virsh-domifaddr.txt').replace('192.168.122.3/24', 'pending'))).toThrow(ParseError);
    expect(() => parseVirshVersion('libvirt is great\n')).toThrow(/unexpected line/);
    expect(() => parseNetworkXml('<domain/>')).toThrow(/not a <network>/);
  });

  it('finds vmx/svm in /proc/cpuinfo and refuses a file without flags', () => {
    expect(cpuinfoHasVirtualization('processor\t: 0\nflags\t\t: fpu vme vmx sse\n')).toBe(true);
    expect(cpuinfoHasVirtualization('processor\t: 0\nflags\t\t: fpu vme sse svmx\n')).toBe(false);
    expect(() => cpuinfoHasVirtualization('processor\t: 0\n')).toThrow(ParseError);
  });
});
