import { existsSync, lstatSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { configureSimulation, readSimCalls, readSimState, simulateReboot, updateSimState } from '@sysfleet/host-sim';
import { StepError } from '../../jobs/handler';
import { recordingContext, simulatedHost } from '../testing';
import { KvmDriver, KVM_PACKAGES, PackageManagerName } from './kvm.driver';

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

  // What each distribution's own manual says installs packages unattended.
  it.each<[PackageManagerName, string[][]]>([
    ['apt-get', [['update'], ['install', '-y', 'qemu-kvm', 'libvirt-daemon-system', 'libvirt-clients', 'virtinst', 'qemu-utils', 'cloud-image-utils', 'ovmf']]],
    ['dnf', [['install', '-y', 'qemu-kvm', 'libvirt', 'virt-install', 'qemu-img', 'cloud-utils', 'edk2-ovmf']]],
    ['zypper', [['--non-interactive', 'install', 'qemu-kvm', 'libvirt', 'virt-install', 'qemu-tools', 'cloud-utils', 'qemu-ovmf-x86_64']]],
    ['pacman', [['-S', '--noconfirm', '--needed', 'qemu-base', 'libvirt', 'virt-install', 'cloud-image-utils', 'dnsmasq', 'edk2-ovmf']]],
    ['apk', [['add', 'qemu-system-x86_64', 'qemu-img', 'libvirt-daemon', 'libvirt-client', 'virt-install', 'cloud-utils', 'ovmf']]],
  ])('on a %s host installs the packages with that manager only, and the host ends up initialised', async (pm, installCalls) => {
    configureSimulation(host.stateDir, { packageManager: pm, recordCalls: true });
    await driver.initialize(recordingContext());
    const calls = readSimCalls(host.stateDir);
    const managers = ['apt-get', 'dnf', 'zypper', 'pacman', 'apk'];
    // Probing for the manager is `--version`; every other call of a package manager is the install, and only with this one.
    const installs = calls.filter((c) => managers.includes(c.tool) && !c.args.includes('--version'));
    expect(installs).toEqual(installCalls.map((args) => ({ tool: pm, args })));
    expect(readSimState(host.stateDir).packages).toEqual(KVM_PACKAGES[pm].packages);
    expect(await driver.detect()).toMatchObject({ installed: true, enabled: true, running: true, initialized: true });
    // OVMF's firmware descriptor is what libvirt's UEFI autoselection (virt-install --boot uefi) reads.
    expect(existsSync(join(host.hostRoot, 'usr/share/qemu/firmware/60-edk2-x86_64.json'))).toBe(true);
  });

  it.each<[PackageManagerName, string[][]]>([
    ['apt-get', [['update'], ['install', '-y', 'ovmf']]],
    ['dnf', [['install', '-y', 'edk2-ovmf']]],
    ['zypper', [['--non-interactive', 'install', 'qemu-ovmf-x86_64']]],
    ['pacman', [['-S', '--noconfirm', '--needed', 'edk2-ovmf']]],
    ['apk', [['add', 'ovmf']]],
  ])('on a %s host initialised before UEFI support, installs only the OVMF package; detect says what is missing until then', async (pm, installCalls) => {
    configureSimulation(host.stateDir, { packageManager: pm, recordCalls: true });
    const withoutOvmf = KVM_PACKAGES[pm].packages.filter((p) => p !== KVM_PACKAGES[pm].ovmf);
    await driver.initialize(recordingContext());
    // Stand-in for an older initialise: everything but the firmware.
    rmSync(join(host.hostRoot, 'usr/share/qemu/firmware'), { recursive: true, force: true });
    updateSimState(host.stateDir, (s) => {
      s.packages = withoutOvmf;
    });
    const before = await driver.detect();
    expect(before).toMatchObject({ initialized: true });
    expect(before.details.join('\n')).toMatch(/no UEFI firmware \(OVMF\)/);
    const callsBefore = readSimCalls(host.stateDir).length;
    const ctx = recordingContext();
    await driver.initialize(ctx);
    const managers = ['apt-get', 'dnf', 'zypper', 'pacman', 'apk'];
    const installs = readSimCalls(host.stateDir).slice(callsBefore).filter((c) => managers.includes(c.tool) && !c.args.includes('--version'));
    expect(installs).toEqual(installCalls.map((args) => ({ tool: pm, args })));
    expect(ctx.steps.filter((s) => s.step === 'install-packages').at(-1)?.message).toBe(`installed ${KVM_PACKAGES[pm].ovmf}`);
    expect(readSimState(host.stateDir).packages).toEqual([...withoutOvmf, KVM_PACKAGES[pm].ovmf]);
    expect((await driver.detect()).details.join('\n')).not.toMatch(/UEFI/);
  });

  describe('on an Alpine host (apk, OpenRC, no systemd)', () => {
    beforeEach(() => configureSimulation(host.stateDir, { packageManager: 'apk', recordCalls: true }));
    const runlevelLink = () => join(host.hostRoot, 'etc/runlevels/default/libvirtd');

    it('adds libvirtd to the default runlevel with rc-update, starts it with rc-service, never calls systemctl', async () => {
      expect(readSimState(host.stateDir).packages).toEqual([]);
      const ctx = recordingContext();
      await driver.initialize(ctx);
      const calls = readSimCalls(host.stateDir);
      expect(calls).toContainEqual({ tool: 'rc-update', args: ['add', 'libvirtd', 'default'] });
      expect(calls).toContainEqual({ tool: 'rc-service', args: ['libvirtd', 'start'] });
      // systemctl is probed once per detection (answered "command not found"), never asked to enable anything.
      expect(calls.filter((c) => c.tool === 'systemctl' && c.args[0] !== 'is-enabled')).toEqual([]);
      expect(ctx.steps.find((st) => st.step === 'enable-libvirtd')?.message).toMatch(/default runlevel and started \(OpenRC\)/);
      // What an operator checks on the host: the runlevel link OpenRC boots from, and `rc-service libvirtd status`.
      expect(lstatSync(runlevelLink()).isSymbolicLink()).toBe(true);
      expect(readlinkSync(runlevelLink())).toBe('/etc/init.d/libvirtd');
      expect(readSimState(host.stateDir).services.libvirtd).toEqual({ enabled: true, running: true });
      expect(await driver.detect()).toMatchObject({ installed: true, enabled: true, running: true, initialized: true, needsEnable: false });

      // After a reboot OpenRC starts it again from the runlevel; a second initialise changes nothing.
      simulateReboot(host.stateDir);
      expect(await driver.detect()).toMatchObject({ running: true, initialized: true });
      const before = readSimCalls(host.stateDir).length;
      const again = recordingContext();
      await driver.initialize(again);
      expect(again.steps.filter((x) => x.step !== 'check-cpu').every((x) => /already/.test(x.message))).toBe(true);
      expect(readSimCalls(host.stateDir).slice(before).filter((c) => c.tool === 'rc-update' || (c.tool === 'rc-service' && c.args[1] === 'start'))).toEqual([]);
    });

    it('detects libvirtd installed but not in the runlevel and stopped as needing enable', async () => {
      await driver.initialize(recordingContext());
      const { runTool } = await import('@sysfleet/host-sim');
      expect(runTool('rc-update', ['del', 'libvirtd', 'default'], host.processEnv)).toMatchObject({ code: 0 });
      expect(runTool('rc-service', ['libvirtd', 'stop'], host.processEnv)).toMatchObject({ code: 0 });
      expect(existsSync(runlevelLink())).toBe(false);
      expect(await driver.detect()).toMatchObject({ installed: true, enabled: false, running: false, initialized: false, needsEnable: true });
    });

    it('a failing rc-service start names the step and what OpenRC printed', async () => {
      configureSimulation(host.stateDir, { fail: { 'rc-service libvirtd start': ' * ERROR: libvirtd failed to start' } });
      await expect(driver.initialize(recordingContext())).rejects.toMatchObject({
        step: 'enable-libvirtd', message: expect.stringMatching(/rc-service libvirtd start exited with 1: \* ERROR: libvirtd failed to start/),
      });
    });
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
