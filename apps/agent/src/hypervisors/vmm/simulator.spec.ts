import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { updateSimState } from '@sysfleet/host-sim';
import { run } from '../../run';
import { simulatedHost } from '../testing';
import { parseRcctlCheck, parseSysctl, parseVmctlStatus } from './parsers';

// The simulator must print what the real OpenBSD tools print: the fixtures the parsers are tested against.
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

jest.setTimeout(30_000);

describe('simulated OpenBSD tools match the fixtures the parsers read', () => {
  const host = simulatedHost('vmm');
  const tool = (command: string, ...args: string[]) => run(command, args, { env: host.processEnv });
  afterAll(() => host.cleanup());

  it('rcctl check vmd: "vmd(failed)" exit 1 while stopped, "vmd(ok)" exit 0 once started', async () => {
    expect(await tool('rcctl', 'check', 'vmd')).toMatchObject({ code: 1, stdout: fixture('rcctl-check-vmd-failed.txt'), stderr: '' });
    expect((await tool('rcctl', 'enable', 'vmd')).code).toBe(0);
    expect((await tool('rcctl', 'start', 'vmd')).code).toBe(0);
    const ok = await tool('rcctl', 'check', 'vmd');
    expect(ok).toMatchObject({ code: 0, stdout: fixture('rcctl-check-vmd-ok.txt'), stderr: '' });
    expect(parseRcctlCheck(ok.stdout, 'vmd')).toBe(true);
  });

  it('vmctl status: the empty table, then a running and a stopped VM, byte for byte', async () => {
    expect((await tool('vmctl', 'status')).stdout).toBe(fixture('vmctl-status-empty.txt'));
    updateSimState(host.stateDir, (s) => {
      const base = { uuid: 'u', mac: 'fe:e1:bb:d1:00:01', autostart: false };
      s.machines.push(
        { ...base, name: 'web-01', id: 1, state: 'running', vcpus: 1, memoryKiB: 1024 * 1024, pid: 72118, tty: 'ttyp8' },
        { ...base, name: 'openbsd-builder', id: null, state: 'shut off', vcpus: 2, memoryKiB: 4 * 1024 * 1024, owner: 'root:wheel' },
      );
      // vmd lists a stopped VM only when vm.conf defines it.
      s.settings['vmd.loaded'] = 'vm "openbsd-builder" {\n\tdisable\n\tmemory 4G\n\tdisk "/var/vmm/openbsd-builder.qcow2"\n\towner root:wheel\n}\n';
    });
    const out = (await tool('vmctl', 'status')).stdout;
    expect(out).toBe(fixture('vmctl-status.txt'));
    expect(parseVmctlStatus(out).map((v) => [v.name, v.state])).toEqual([['web-01', 'running'], ['openbsd-builder', 'stopped']]);
  });

  it('sysctl: the names the fixture holds, and the one the driver asks (kern.osrelease)', async () => {
    const all = await tool('sysctl', 'kern.osrelease', 'hw.model', 'hw.ncpuonline', 'net.inet.ip.forwarding');
    expect(all).toMatchObject({ code: 0, stdout: fixture('sysctl.txt'), stderr: '' });
    const one = (await tool('sysctl', 'kern.osrelease')).stdout;
    expect(one).toBe(fixture('sysctl.txt').split('\n')[0] + '\n');
    expect(parseSysctl(one)).toEqual({ 'kern.osrelease': '7.6' });
  });
});
