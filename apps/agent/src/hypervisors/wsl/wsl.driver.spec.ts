import { configureSimulation, simulateReboot } from '@sysfleet/host-sim';
import { recordingContext, simulatedHost } from '../testing';
import { WslDriver } from './wsl.driver';

// Each simulated tool call is a node process: the sequences take a few seconds on a busy machine.
jest.setTimeout(30_000);

describe('WSL driver against the simulated Windows host', () => {
  let host: ReturnType<typeof simulatedHost>;
  let driver: WslDriver;
  beforeEach(() => {
    host = simulatedHost('wsl');
    driver = new WslDriver(host.processEnv);
  });
  afterEach(() => host.cleanup());

  it('installs WSL, reports the pending reboot until the host reboots', async () => {
    expect(await driver.detect()).toMatchObject({ available: true, installed: false, needsInstall: true, initialized: false });
    const ctx = recordingContext();
    await driver.initialize(ctx);
    expect(ctx.steps.map((s) => s.step)).toEqual(['check', 'install', 'install', 'reboot']);
    expect(ctx.steps[3].message).toMatch(/reboot required/);
    expect(await driver.detect()).toMatchObject({ installed: true, needsReboot: true, initialized: false, cpuSupported: true });

    simulateReboot(host.stateDir);
    expect(await driver.detect()).toMatchObject({ installed: true, needsReboot: false, initialized: true, version: 'WSL 2.3.26.0', networks: [{ name: 'wsl-nat', mode: 'nat', active: true, autostart: true }] });
    const again = recordingContext();
    await driver.initialize(again);
    expect(again.steps.map((s) => s.message)).toContain('WSL already installed');
  });

  it('reads UTF-8 output too (WSL_UTF8=1)', async () => {
    driver = new WslDriver({ ...host.processEnv, WSL_UTF8: '1' });
    await driver.initialize(recordingContext());
    simulateReboot(host.stateDir);
    expect(await driver.detect()).toMatchObject({ initialized: true });
  });

  it('reports missing CPU virtualisation after the reboot', async () => {
    await driver.initialize(recordingContext());
    simulateReboot(host.stateDir);
    configureSimulation(host.stateDir, { noCpuSupport: true });
    expect(await driver.detect()).toMatchObject({ installed: true, cpuSupported: false, initialized: false });
    await expect(driver.initialize(recordingContext())).rejects.toMatchObject({ step: 'check-cpu' });
  });

  it('has only NAT networking', async () => {
    await expect(driver.configureNetwork({ type: 'wsl', mode: 'nat' }, recordingContext())).resolves.toBeUndefined();
    await expect(driver.configureNetwork({ type: 'wsl', mode: 'bridge', interface: 'Ethernet' }, recordingContext())).rejects.toMatchObject({ step: 'validate', message: expect.stringMatching(/only its built-in NAT/) });
  });
});
