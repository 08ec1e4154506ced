import { configureSimulation, readSimState } from '@sysfleet/host-sim';
import { StepError } from '../../jobs/handler';
import { recordingContext, simulatedHost } from '../testing';
import { KvmDriver, KVM_PACKAGES } from './kvm.driver';

// Each simulated tool call is a node process: the sequences take a few seconds on a busy machine.
jest.setTimeout(30_000);

describe('KVM driver against the simulated Debian host', () => {
  let host: ReturnType<typeof simulatedHost>;
  let driver: KvmDriver;
  beforeEach(() => {
    host = simulatedHost('kvm');
    driver = new KvmDriver(host.processEnv);
  });
  afterEach(() => host.cleanup());

  it('detects a fresh host: CPU and /dev/kvm fine, libvirt not installed', async () => {
    const s = await driver.detect();
    expect(s).toMatchObject({ type: 'kvm', available: true, installed: false, initialized: false, cpuSupported: true, kernelSupported: true, needsInstall: true, networks: [] });
    expect(s.details.join('\n')).toMatch(/missing tools: virsh, virt-install, qemu-img, cloud-localds/);
  });

  it('initialises: installs with apt-get, enables libvirtd, defines and starts the NAT network; again is a no-op', async () => {
    const ctx = recordingContext();
    await driver.initialize(ctx);
    expect([...new Set(ctx.steps.map((s) => s.step))]).toEqual(['check-cpu', 'install-packages', 'enable-libvirtd', 'define-network', 'start-network']);
    expect(readSimState(host.stateDir).packages).toEqual(KVM_PACKAGES['apt-get'].packages);
    const s = await driver.detect();
    expect(s).toMatchObject({ installed: true, enabled: true, running: true, initialized: true, needsInstall: false, needsEnable: false, version: 'libvirt 9.0.0, QEMU 7.2.0' });
    expect(s.networks).toEqual([{ name: 'default', active: true, autostart: true, mode: 'nat', bridge: 'virbr0', subnet: '192.168.122.0/24' }]);

    const again = recordingContext();
    await driver.initialize(again);
    expect(again.steps.filter((x) => x.step !== 'check-cpu').every((x) => /already/.test(x.message))).toBe(true);
  });

  it('uses the package names of the package manager the host has', async () => {
    configureSimulation(host.stateDir, { packageManager: 'dnf' });
    await driver.initialize(recordingContext());
    expect(readSimState(host.stateDir).packages).toEqual(KVM_PACKAGES.dnf.packages);
  });

  it('names the failing step and what the tool printed', async () => {
    configureSimulation(host.stateDir, { fail: { 'systemctl enable': 'Failed to enable unit: Access denied' } });
    const err = await driver.initialize(recordingContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect(err).toMatchObject({ step: 'enable-libvirtd', message: expect.stringMatching(/systemctl enable --now libvirtd exited with 1: Failed to enable unit: Access denied/) });
  });

  it('refuses before installing anything when the CPU cannot virtualise', async () => {
    configureSimulation(host.stateDir, { noCpuSupport: true });
    expect(await driver.detect()).toMatchObject({ cpuSupported: false, kernelSupported: false });
    await expect(driver.initialize(recordingContext())).rejects.toMatchObject({ step: 'check-cpu', message: expect.stringMatching(/BIOS/) });
    expect(readSimState(host.stateDir).packages).toEqual([]);
  });

  it('configures a bridge network on an existing host bridge and refuses other modes', async () => {
    await driver.initialize(recordingContext());
    await driver.configureNetwork({ type: 'kvm', mode: 'bridge', interface: 'br0' }, recordingContext());
    expect((await driver.detect()).networks).toContainEqual({ name: 'bridge-br0', active: true, autostart: true, mode: 'bridge', bridge: 'br0' });
    await expect(driver.configureNetwork({ type: 'kvm', mode: 'bridge', interface: 'br9' }, recordingContext())).rejects.toMatchObject({ step: 'validate', message: expect.stringMatching(/br9 does not exist/) });
    await expect(driver.configureNetwork({ type: 'kvm', mode: 'routed' }, recordingContext())).rejects.toMatchObject({ step: 'validate' });
    await expect(driver.configureNetwork({ type: 'kvm', mode: 'nat', subnet: '10.9.0.0/24' }, recordingContext())).rejects.toMatchObject({ message: expect.stringMatching(/already uses 192.168.122.0\/24/) });
  });

  it('configure-network before initialise says so', async () => {
    await expect(driver.configureNetwork({ type: 'kvm', mode: 'nat' }, recordingContext())).rejects.toMatchObject({ step: 'check', message: expect.stringMatching(/initialize first/) });
  });
});
