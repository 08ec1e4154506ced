import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { updateSimState } from '@sysfleet/host-sim';
import { run } from '../../run';
import { simulatedHost } from '../testing';

// The simulated wsl.exe must write what the real one writes: the fixture bytes the parsers are tested against.
const bytes = (name: string) => readFileSync(join(__dirname, 'fixtures', name));

jest.setTimeout(30_000);

describe('simulated wsl.exe matches the fixtures the parsers read', () => {
  let host: ReturnType<typeof simulatedHost>;
  const wsl = async (utf8: boolean, ...args: string[]) =>
    (await run('wsl.exe', args, { env: { ...host.processEnv, ...(utf8 ? { WSL_UTF8: '1' } : { WSL_UTF8: '' }) }, binary: true })).stdoutBytes;
  beforeEach(() => {
    host = simulatedHost('wsl');
  });
  afterEach(() => host.cleanup());

  const installWithDistributions = () =>
    updateSimState(host.stateDir, (s) => {
      s.wsl = { installed: true, rebootPending: false, defaultVersion: 2, defaultDistribution: 'Ubuntu-22.04' };
      const base = { uuid: 'u', id: null, vcpus: 2, memoryKiB: 0, mac: '00:15:5d:00:00:01', autostart: false };
      s.machines.push(
        { ...base, name: 'Debian', state: 'shut off', wslVersion: 2 },
        { ...base, name: 'Ubuntu-22.04', state: 'running', wslVersion: 2 },
        { ...base, name: 'docker-desktop', state: 'shut off', wslVersion: 1 },
      );
    });

  it('wsl -l -v in UTF-16LE (to a pipe) and UTF-8 (WSL_UTF8=1), default distribution first', async () => {
    installWithDistributions();
    expect((await wsl(false, '-l', '-v')).equals(bytes('wsl-list-verbose.utf16le.bin'))).toBe(true);
    expect((await wsl(true, '-l', '-v')).equals(bytes('wsl-list-verbose.utf8.txt'))).toBe(true);
  });

  it('wsl --status and --version', async () => {
    installWithDistributions();
    expect((await wsl(false, '--status')).equals(bytes('wsl-status.utf16le.bin'))).toBe(true);
    expect((await wsl(false, '--version')).equals(bytes('wsl-version.utf16le.bin'))).toBe(true);
  });

  it('wsl --status without virtualisation (installed, no distribution, reboot still pending)', async () => {
    updateSimState(host.stateDir, (s) => {
      s.wsl = { installed: false, rebootPending: true, defaultVersion: 2 };
    });
    expect((await wsl(true, '--status')).equals(bytes('wsl-status-no-virtualization.utf8.txt'))).toBe(true);
  });
});
