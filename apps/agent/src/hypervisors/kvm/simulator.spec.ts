import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { updateSimState } from '@sysfleet/host-sim';
import { run } from '../../run';
import { simulatedHost } from '../testing';

// The simulator must print what the real virsh printed (fixtures captured with capture.sh).
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

jest.setTimeout(30_000);

describe('simulated virsh matches the captured real output', () => {
  const host = simulatedHost('kvm');
  const virsh = (...args: string[]) => run('virsh', args, { env: host.processEnv });
  beforeAll(() =>
    updateSimState(host.stateDir, (s) => {
      s.packages.push('libvirt-clients', 'libvirt-daemon-system');
      s.services.libvirtd = { enabled: true, running: true };
      s.networks.push({ name: 'default', uuid: 'dd8fe884-6c02-601e-7551-cca97df1c5df', forward: 'nat', bridge: 'virbr0', ipAddress: '192.168.122.1', netmask: '255.255.255.0', dhcpStart: '192.168.122.2', dhcpEnd: '192.168.122.254', active: true, autostart: false, persistent: true });
    }),
  );
  afterAll(() => host.cleanup());

  it('prints list, net-list, net-info, net-dumpxml and --version byte for byte', async () => {
    expect((await virsh('--version')).stdout).toBe(fixture('virsh-version.txt'));
    const empty = fixture('virsh-list-all-empty.txt');
    expect((await virsh('list', '--all')).stdout).toBe(empty.slice(empty.indexOf(' Id')));
    expect((await virsh('net-list', '--all')).stdout).toBe(fixture('virsh-net-list-all.txt'));
    expect((await virsh('net-info', 'default')).stdout).toBe(fixture('virsh-net-info.txt'));
    expect((await virsh('net-dumpxml', 'default')).stdout).toBe(fixture('virsh-net-dumpxml.txt'));
    expect((await virsh('net-autostart', 'default')).stdout).toBe(fixture('virsh-net-autostart.txt'));
  });

  it('fails like virsh: stderr, stdout and exit code', async () => {
    const r = await virsh('dominfo', 'nope');
    expect(r).toMatchObject({ code: 1, stdout: fixture('virsh-dominfo-unknown.txt'), stderr: fixture('virsh-dominfo-unknown.stderr.txt') });
    expect(await virsh('net-info', 'nope')).toMatchObject({ code: 1, stderr: fixture('virsh-net-info-unknown.stderr.txt') });
    expect(await virsh('net-start', 'default')).toMatchObject({ code: 1, stderr: fixture('virsh-net-start-active.stderr.txt') });
    updateSimState(host.stateDir, (s) => (s.services.libvirtd.running = false));
    expect(await virsh('-c', 'qemu:///system', 'list', '--all')).toMatchObject({ code: 1, stdout: '', stderr: fixture('virsh-no-daemon.stderr.txt') });
  });

  it('lays out domain tables like vsh-table (captured mixed list)', async () => {
    updateSimState(host.stateDir, (s) => {
      s.services.libvirtd.running = true;
      const base = { uuid: 'u', vcpus: 1, memoryKiB: 1048576, mac: '52:54:00:00:00:01', autostart: false };
      s.machines.push({ ...base, name: 'web-server-01.example', id: 1, state: 'running' }, { ...base, name: 'paused-vm', id: 2, state: 'paused' }, { ...base, name: 'db1', id: null, state: 'shut off' });
    });
    expect((await virsh('list', '--all')).stdout).toBe(fixture('virsh-list-all-mixed.txt'));
  });
});
