import type { HostFacts, VirtualizationReport } from '@sysfleet/protocol';

/** Plausible, valid facts of simulated host number `index` (unique hostname per index). */
export function simulatedFacts(index: number): HostFacts {
  const name = `bench-${String(index).padStart(5, '0')}`;
  const octet = (n: number) => n % 250 + 1;
  return {
    hostname: name,
    fqdn: `${name}.bench.example.org`,
    platform: 'linux',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: '6.1.0-26-amd64',
    arch: 'x64',
    cpuModel: 'Simulated CPU @ 2.40GHz',
    cpuCount: 2,
    memoryTotalBytes: 4 * 1024 ** 3,
    memoryFreeBytes: 3 * 1024 ** 3,
    disks: [{ mount: '/', sizeBytes: 40 * 1024 ** 3, freeBytes: 30 * 1024 ** 3 }],
    interfaces: [{ name: 'eth0', mac: `52:54:00:00:${(index >> 8 & 0xff).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`, addresses: [`10.${octet(index >> 16)}.${octet(index >> 8)}.${octet(index)}`] }],
    agentVersion: '0.1.0-bench',
  };
}

/**
 * The hypervisor report a real agent sends on every approved connect, as a Debian host without
 * libvirt installed would send it (KVM available, nothing installed yet, no roles).
 */
export function simulatedVirtualizationReport(): VirtualizationReport {
  return {
    platform: 'linux',
    roles: [],
    hypervisors: [{
      type: 'kvm', available: true, installed: false, enabled: false, running: false, initialized: false, cpuSupported: true, kernelSupported: true,
      needsInstall: true, needsEnable: false, needsReboot: false, version: null, networks: [], details: ['libvirt is not installed'],
    }],
    checkedAt: new Date().toISOString(),
  };
}
