import { parsePayload, VirtualizationConfigureNetworkParams, VirtualizationResult } from '@sysfleet/protocol';
import { configureSimulation, simulateReboot } from '@sysfleet/host-sim';
import { StepError } from '../jobs/handler';
import { createHypervisorHandlers } from './handlers';
import { recordingContext, simulatedHost } from './testing';

jest.setTimeout(30_000);

describe('virtualization.* handlers', () => {
  it('check, initialize and configure-network return a report the server accepts', async () => {
    const host = simulatedHost('vmm');
    try {
      const [check, initialize, configure] = createHypervisorHandlers(host.processEnv);
      expect([check.command, initialize.command, configure.command]).toEqual(['virtualization.check', 'virtualization.initialize', 'virtualization.configure-network']);
      const before = await check.run({}, recordingContext());
      const wire = JSON.parse(JSON.stringify(before));
      expect(parsePayload(VirtualizationResult, wire)).toMatchObject({ ok: true });
      expect(wire.report).toMatchObject({ platform: 'openbsd', roles: [] });
      expect(wire.report.hypervisors.map((h: { type: string; available: boolean }) => [h.type, h.available])).toEqual([['kvm', false], ['vmm', true], ['wsl', false]]);
      // Every hypervisor carries a version, null where it is unknown (here: not this platform's).
      expect(wire.report.hypervisors.map((h: { type: string; version?: unknown }) => [h.type, h.version])).toEqual([['kvm', null], ['vmm', 'OpenBSD 7.6 vmd'], ['wsl', null]]);

      const after = JSON.parse(JSON.stringify(await initialize.run({ type: 'vmm' }, recordingContext())));
      expect(parsePayload(VirtualizationResult, after)).toMatchObject({ ok: true });
      expect(after.report.roles).toEqual(['vmm_host']);

      const params = Object.assign(new VirtualizationConfigureNetworkParams(), { type: 'vmm', mode: 'routed' });
      const routed = JSON.parse(JSON.stringify(await configure.run(params, recordingContext())));
      expect(routed.report.hypervisors[1].networks[0]).toMatchObject({ mode: 'routed', subnet: '10.42.0.0/24' });
      await expect(initialize.run({ type: 'kvm' }, recordingContext())).rejects.toMatchObject({ step: 'check', message: expect.stringMatching(/KVM runs on Linux; this host is openbsd/) });
    } finally {
      host.cleanup();
    }
  });

  it.each([['kvm', 'libvirt 9.0.0, QEMU 7.2.0'], ['wsl', 'WSL 2.3.26.0']] as const)('a %s host reports version null before it is initialised and the tool\'s version after', async (type, version) => {
    const host = simulatedHost(type);
    try {
      const [check, initialize] = createHypervisorHandlers(host.processEnv);
      const before = JSON.parse(JSON.stringify(await check.run({}, recordingContext())));
      expect(parsePayload(VirtualizationResult, before)).toMatchObject({ ok: true });
      for (const h of before.report.hypervisors) expect(h).toHaveProperty('version', null);
      await initialize.run({ type }, recordingContext());
      if (type === 'wsl') simulateReboot(host.stateDir);
      const after = JSON.parse(JSON.stringify(await check.run({}, recordingContext())));
      expect(after.report.hypervisors.find((h: { type: string }) => h.type === type)).toMatchObject({ initialized: true, version });
    } finally {
      host.cleanup();
    }
  });

  it('a report whose hypervisor leaves out version (an older agent) is taken as unknown, a wrong one is refused', () => {
    const status = {
      type: 'kvm', available: false, installed: false, enabled: false, running: false, initialized: false, cpuSupported: false, kernelSupported: false,
      needsInstall: false, needsEnable: false, needsReboot: false, networks: [], details: [],
    };
    const report = (h: object) => ({ report: { platform: 'linux', roles: [], hypervisors: [h], checkedAt: new Date().toISOString() } });
    expect(parsePayload(VirtualizationResult, report(status))).toMatchObject({ ok: true });
    expect(parsePayload(VirtualizationResult, report({ ...status, version: null }))).toMatchObject({ ok: true });
    expect(parsePayload(VirtualizationResult, report({ ...status, version: 7 }))).toMatchObject({ ok: false, error: expect.stringContaining('version') });
  });

  it('a report with an unknown role or a bad field is refused by the protocol class', () => {
    const report = { platform: 'linux', roles: ['root_host'], hypervisors: [], checkedAt: new Date().toISOString() };
    expect(parsePayload(VirtualizationResult, { report })).toMatchObject({ ok: false });
  });
});

describe('virtualization.initialize that fails', () => {
  it('still detects afresh: the failed result names the step and carries a report showing what the failed run changed', async () => {
    const host = simulatedHost('kvm');
    try {
      configureSimulation(host.stateDir, { fail: { 'systemctl enable': 'Failed to enable unit: Unit file libvirtd.service is masked.' } });
      const [, initialize] = createHypervisorHandlers(host.processEnv);
      const startedAt = new Date();
      const err = await initialize.run({ type: 'kvm' }, recordingContext()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StepError);
      expect(err).toMatchObject({ step: 'enable-libvirtd', message: expect.stringMatching(/masked/) });
      const wire = JSON.parse(JSON.stringify((err as StepError).result));
      expect(parsePayload(VirtualizationResult, wire)).toMatchObject({ ok: true });
      expect(new Date(wire.report.checkedAt).getTime()).toBeGreaterThanOrEqual(startedAt.getTime());
      // The packages went in before enabling failed: the report says so, and that libvirtd is still off.
      expect(wire.report.hypervisors[0]).toMatchObject({ type: 'kvm', installed: true, enabled: false, running: false, initialized: false, needsEnable: true });
      expect(wire.report.roles).toEqual([]);
    } finally {
      host.cleanup();
    }
  });
});
