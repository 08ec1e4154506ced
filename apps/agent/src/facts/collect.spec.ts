import os from 'node:os';
import { HostFacts, parsePayload } from '@sysfleet/protocol';
import type { SimulationEnvironment } from '../simulation';
import { collectFacts, factsChanged, parseDf, parseOsRelease } from './collect';

const DF = `Filesystem              1024-blocks     Used Available Capacity Mounted on
devtmpfs                   12334492        0  12334492       0% /dev
tmpfs                      24684092     1052  24683040       1% /dev/shm
/dev/vda                  264212084 24442960  81947952      23% /
/dev/vdb1                   1000000   500000    500000      50% /srv/my data
tmpfs                      12342044        0  12342044       0% /sys/fs/cgroup
proc                              0        0         0       -  /proc
`;

describe('facts', () => {
  it('collects sane facts on this machine that pass the protocol check', async () => {
    const facts = await collectFacts();
    expect(parsePayload(HostFacts, facts)).toMatchObject({ ok: true });
    expect(facts.hostname).toBe(os.hostname());
    expect(facts.fqdn.startsWith(facts.hostname)).toBe(true);
    expect(facts.platform).toBe('linux');
    expect(facts.osName.length).toBeGreaterThan(0);
    expect(facts.kernel).toBe(os.release());
    expect(facts.cpuCount).toBeGreaterThanOrEqual(1);
    expect(facts.memoryTotalBytes).toBeGreaterThan(facts.memoryFreeBytes);
    const root = facts.disks.find((d) => d.mount === '/');
    expect(root?.sizeBytes).toBeGreaterThan(root?.freeBytes ?? Infinity);
    expect(facts.disks.every((d) => !d.mount.startsWith('/proc') && !d.mount.startsWith('/sys'))).toBe(true);
    for (const iface of facts.interfaces) expect(iface.addresses.length).toBeGreaterThan(0);
    expect(facts.interfaces.some((i) => i.name === 'lo')).toBe(false);
  });

  it('takes platform and OS from the simulator when simulating', async () => {
    const simulation: SimulationEnvironment = { platform: 'openbsd', osName: 'OpenBSD', osVersion: '7.6', kernel: 'OpenBSD 7.6 GENERIC.MP#338 amd64', hostRoot: '/tmp/x', env: {} };
    const facts = await collectFacts({ simulation });
    expect(facts).toMatchObject({ platform: 'openbsd', osName: 'OpenBSD', osVersion: '7.6', kernel: 'OpenBSD 7.6 GENERIC.MP#338 amd64' });
  });

  it('reads the OS name and version from /etc/os-release', async () => {
    const facts = await collectFacts({ readFile: () => 'NAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04 LTS (Noble Numbat)"\n' });
    expect(facts).toMatchObject({ osName: 'Ubuntu', osVersion: '24.04' });
    expect(parseOsRelease('NAME=Arch Linux\nBUILD_ID=rolling\n# comment\n')).toEqual({ NAME: 'Arch Linux', BUILD_ID: 'rolling' });
  });

  it('parses df -kP into real filesystems only', () => {
    expect(parseDf(DF)).toEqual([
      { mount: '/', sizeBytes: 264212084 * 1024, freeBytes: 81947952 * 1024 },
      { mount: '/srv/my data', sizeBytes: 1000000 * 1024, freeBytes: 500000 * 1024 },
    ]);
  });

  describe('factsChanged', () => {
    const base: HostFacts = {
      hostname: 'h', fqdn: 'h.example', platform: 'linux', osName: 'Debian', osVersion: '12', kernel: '6.1', arch: 'x64',
      cpuModel: 'cpu', cpuCount: 2, memoryTotalBytes: 1000, memoryFreeBytes: 500,
      disks: [{ mount: '/', sizeBytes: 1000, freeBytes: 400 }], interfaces: [{ name: 'eth0', addresses: ['10.0.0.2'] }], agentVersion: '0.1.0',
    };
    it('ignores free memory and disk jitter below 5%', () => {
      expect(factsChanged(base, { ...base, memoryFreeBytes: 530, disks: [{ mount: '/', sizeBytes: 1000, freeBytes: 440 }] })).toBe(false);
    });
    it('reports bigger free-space moves and any stable change', () => {
      expect(factsChanged(base, { ...base, memoryFreeBytes: 400 })).toBe(true);
      expect(factsChanged(base, { ...base, disks: [{ mount: '/', sizeBytes: 1000, freeBytes: 300 }] })).toBe(true);
      expect(factsChanged(base, { ...base, interfaces: [{ name: 'eth0', addresses: ['10.0.0.3'] }] })).toBe(true);
      expect(factsChanged(base, { ...base, osVersion: '13' })).toBe(true);
      expect(factsChanged(base, { ...base, disks: [] })).toBe(true);
    });
  });
});
