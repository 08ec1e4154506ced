import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configureSimulation, readSimState, simulateReboot } from '@sysfleet/host-sim';
import { StepError } from '../../jobs/handler';
import { recordingContext, simulatedHost } from '../testing';
import { sysctlConfWithForwarding, SYSCTL_CONF_LINE, VmmDriver } from './vmm.driver';

// Each simulated tool call is a node process: the sequences take a few seconds on a busy machine.
jest.setTimeout(30_000);

describe('vmd driver against the simulated OpenBSD host', () => {
  let host: ReturnType<typeof simulatedHost>;
  let driver: VmmDriver;
  const pfConf = () => readFileSync(join(host.hostRoot, 'etc/pf.conf'), 'utf8');
  const hostFile = (p: string) => (existsSync(join(host.hostRoot, p)) ? readFileSync(join(host.hostRoot, p), 'utf8') : null);
  beforeEach(() => {
    host = simulatedHost('vmm');
    driver = new VmmDriver(host.processEnv);
  });
  afterEach(() => host.cleanup());

  it('initialises: firmware, rcctl enable + start vmd; again only "already" steps', async () => {
    expect(await driver.detect()).toMatchObject({ available: true, installed: false, running: false, cpuSupported: true, kernelSupported: true, needsInstall: true });
    const ctx = recordingContext();
    await driver.initialize(ctx);
    expect([...new Set(ctx.steps.map((s) => s.step))]).toEqual(['check-cpu', 'firmware', 'enable-vmd', 'start-vmd', 'verify']);
    expect(await driver.detect()).toMatchObject({ installed: true, enabled: true, running: true, initialized: true, version: 'OpenBSD 7.6 vmd', networks: [{ name: 'local', mode: 'local', active: true, autostart: true }] });
    const again = recordingContext();
    await driver.initialize(again);
    expect(again.steps.filter((s) => ['firmware', 'enable-vmd', 'start-vmd'].includes(s.step)).every((s) => /already/.test(s.message))).toBe(true);
  });

  it('refuses without VMX/EPT and names the failing rcctl step', async () => {
    configureSimulation(host.stateDir, { noCpuSupport: true });
    await expect(driver.initialize(recordingContext())).rejects.toMatchObject({ step: 'check-cpu' });
    configureSimulation(host.stateDir, { noCpuSupport: false, fail: { 'rcctl start vmd': 'vmd(failed)' } });
    const err = await driver.initialize(recordingContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect(err).toMatchObject({ step: 'start-vmd', message: expect.stringMatching(/rcctl start vmd exited with 1: vmd\(failed\)/) });
  });

  it('adds the routed set-up in a marked pf block and removes it leaving pf.conf byte-identical', async () => {
    await driver.initialize(recordingContext());
    const original = pfConf();
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', subnet: '10.77.0.0/24' }, recordingContext());
    const added = pfConf();
    expect(added.startsWith(original)).toBe(true);
    expect(added.slice(original.length)).toBe('# BEGIN sysfleet\nmatch out on egress inet from 10.77.0.0/24 to any nat-to (egress)\npass in on vether0 inet from 10.77.0.0/24\n# END sysfleet\n');
    const state = readSimState(host.stateDir);
    expect(state.settings['pf.loaded']).toBe(added);
    expect(state.interfaces.vether0).toMatchObject({ inet: '10.77.0.1/24', up: true });
    expect(state.interfaces.bridge0.members).toEqual(['vether0']);
    expect(state.settings['net.inet.ip.forwarding']).toBe('1');
    expect((await driver.detect()).networks).toEqual([{ name: 'sysfleet', mode: 'routed', active: true, autostart: true, bridge: 'bridge0', subnet: '10.77.0.0/24' }]);

    // Running it again changes nothing.
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', subnet: '10.77.0.0/24' }, recordingContext());
    expect(pfConf()).toBe(added);

    await driver.configureNetwork({ type: 'vmm', mode: 'routed', remove: true }, recordingContext());
    expect(pfConf()).toBe(original);
    expect(readSimState(host.stateDir).interfaces.vether0).toBeUndefined();
    expect((await driver.detect()).networks[0]).toMatchObject({ name: 'local', mode: 'local' });
  });

  it('keeps forwarding on across a reboot with one marked sysctl.conf line, and removal undoes every piece', async () => {
    await driver.initialize(recordingContext());
    const operatorLines = 'ddb.panic=0\n';
    writeFileSync(join(host.hostRoot, 'etc/sysctl.conf'), operatorLines);
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', subnet: '10.77.0.0/24' }, recordingContext());
    expect(hostFile('etc/sysctl.conf')).toBe(`ddb.panic=0\nnet.inet.ip.forwarding=1\t# sysfleet: routed VM network\n`);
    expect(hostFile('etc/hostname.vether0')).toBe('inet 10.77.0.1 255.255.255.0\nup\n');
    expect(hostFile('etc/hostname.bridge0')).toBe('add vether0\nup\n');
    // Again: still one line.
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', subnet: '10.77.0.0/24' }, recordingContext());
    expect(hostFile('etc/sysctl.conf')!.split('\n').filter((l) => l === SYSCTL_CONF_LINE)).toHaveLength(1);
    // A reboot loses run-time sysctl settings; rc(8) applies sysctl.conf, so forwarding is back on.
    simulateReboot(host.stateDir);
    expect(readSimState(host.stateDir).settings['net.inet.ip.forwarding']).toBe('1');

    const ctx = recordingContext();
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', remove: true }, ctx);
    const state = readSimState(host.stateDir);
    expect(state.interfaces.vether0).toBeUndefined();
    expect(state.interfaces.bridge0).toBeUndefined();
    expect(hostFile('etc/hostname.vether0')).toBeNull();
    expect(hostFile('etc/hostname.bridge0')).toBeNull();
    expect(state.settings['net.inet.ip.forwarding']).toBe('0');
    expect(hostFile('etc/sysctl.conf')).toBe(operatorLines);
    expect(hostFile('etc/vm.conf') ?? '').not.toMatch(/sysfleet/);
    expect(ctx.steps.map((s) => s.step)).toEqual(expect.arrayContaining(['pf-load', 'vether', 'bridge', 'forwarding', 'vm-conf', 'reload-vmd']));
    simulateReboot(host.stateDir);
    expect(readSimState(host.stateDir).settings['net.inet.ip.forwarding']).toBeUndefined(); // the default, 0
  });

  it('removal leaves forwarding on when sysctl.conf enables it outside the sysfleet line, and a bridge that holds other interfaces', async () => {
    await driver.initialize(recordingContext());
    writeFileSync(join(host.hostRoot, 'etc/sysctl.conf'), 'net.inet.ip.forwarding=1 # the operator routes\n');
    await driver.configureNetwork({ type: 'vmm', mode: 'routed' }, recordingContext());
    const { runTool } = await import('@sysfleet/host-sim');
    expect(runTool('ifconfig', ['bridge0', 'add', 'em0'], host.processEnv)).toMatchObject({ code: 0 });
    const ctx = recordingContext();
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', remove: true }, ctx);
    const state = readSimState(host.stateDir);
    expect(state.settings['net.inet.ip.forwarding']).toBe('1');
    expect(hostFile('etc/sysctl.conf')).toBe('net.inet.ip.forwarding=1 # the operator routes\n');
    expect(state.interfaces.vether0).toBeUndefined();
    expect(state.interfaces.bridge0.members).toEqual(['em0']);
    expect(hostFile('etc/hostname.bridge0')).toBe('add vether0\nup\n');
    expect(ctx.steps.find((s) => s.step === 'bridge')?.message).toMatch(/bridge0 kept: em0 still on it/);
  });

  it('the sysctl.conf edit appends one line and removal takes out exactly that line', () => {
    expect(sysctlConfWithForwarding('', true)).toBe(SYSCTL_CONF_LINE + '\n');
    expect(sysctlConfWithForwarding(SYSCTL_CONF_LINE + '\n', false)).toBe('');
    expect(sysctlConfWithForwarding('a=1', true)).toBe(`a=1\n${SYSCTL_CONF_LINE}\n`);
    expect(sysctlConfWithForwarding('a=1\nb=2', false)).toBe('a=1\nb=2');
  });

  it('when pfctl -f cannot load the checked rules, the previous pf.conf is put back and nothing else changes', async () => {
    await driver.initialize(recordingContext());
    const original = pfConf();
    configureSimulation(host.stateDir, { fail: { 'pfctl -f': 'pfctl: DIOCADDRULE: Device busy' } });
    await expect(driver.configureNetwork({ type: 'vmm', mode: 'routed' }, recordingContext())).rejects.toMatchObject({
      step: 'pf-load', message: expect.stringMatching(/restored to the previous rules.*DIOCADDRULE: Device busy/s),
    });
    expect(pfConf()).toBe(original);
    expect(existsSync(join(host.hostRoot, 'etc/pf.conf.sysfleet.tmp'))).toBe(false);
    const state = readSimState(host.stateDir);
    expect(state.interfaces.vether0).toBeUndefined();
    expect(state.settings['net.inet.ip.forwarding']).toBeUndefined();
    expect(hostFile('etc/sysctl.conf')).toBeNull();
  });

  it('keeps rules outside the block when the block is replaced', async () => {
    await driver.initialize(recordingContext());
    await driver.configureNetwork({ type: 'vmm', mode: 'routed' }, recordingContext());
    const withBlock = pfConf();
    const edited = withBlock + 'pass in on em0 proto tcp to port 22\n';
    writeFileSync(join(host.hostRoot, 'etc/pf.conf'), edited);
    await driver.configureNetwork({ type: 'vmm', mode: 'routed', subnet: '10.88.0.0/24' }, recordingContext());
    expect(pfConf()).toBe(edited.replace(/10\.42\.0\.0\/24/g, '10.88.0.0/24'));
  });

  it('refuses the routed set-up when pfctl -nf rejects the rules, leaving pf.conf and interfaces unchanged', async () => {
    await driver.initialize(recordingContext());
    const original = pfConf();
    configureSimulation(host.stateDir, { fail: { 'pfctl -nf': '/etc/pf.conf.sysfleet.tmp:15: syntax error\npfctl: Syntax error in config file: pf rules not loaded' } });
    await expect(driver.configureNetwork({ type: 'vmm', mode: 'routed' }, recordingContext())).rejects.toMatchObject({ step: 'pf-validate', message: expect.stringMatching(/left unchanged: .*syntax error/s) });
    expect(pfConf()).toBe(original);
    expect(existsSync(join(host.hostRoot, 'etc/pf.conf.sysfleet.tmp'))).toBe(false);
    expect(readSimState(host.stateDir).interfaces.vether0).toBeUndefined();
  });

  it('the simulated pfctl itself rejects a line that is not a pf rule', async () => {
    await driver.initialize(recordingContext());
    appendFileSync(join(host.hostRoot, 'etc/pf.conf'), 'this is not a rule\n');
    const broken = pfConf();
    await expect(driver.configureNetwork({ type: 'vmm', mode: 'routed' }, recordingContext())).rejects.toMatchObject({ step: 'pf-validate', message: expect.stringMatching(/:15: syntax error/) });
    expect(pfConf()).toBe(broken);
  });

  it('bridges to a host interface, and refuses unknown interfaces and foreign modes', async () => {
    await driver.initialize(recordingContext());
    await driver.configureNetwork({ type: 'vmm', mode: 'bridged', interface: 'em0' }, recordingContext());
    expect(readSimState(host.stateDir).interfaces.bridge0.members).toEqual(['em0']);
    expect(readFileSync(join(host.hostRoot, 'etc/vm.conf'), 'utf8')).toContain('switch "sysfleet" {\n\tinterface bridge0\n}');
    await expect(driver.configureNetwork({ type: 'vmm', mode: 'bridged', interface: 'em7' }, recordingContext())).rejects.toMatchObject({ step: 'validate', message: expect.stringMatching(/em7: no such interface/) });
    await expect(driver.configureNetwork({ type: 'vmm', mode: 'nat' }, recordingContext())).rejects.toMatchObject({ step: 'validate' });
  });
});
