import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configureSimulation, readSimState } from '@sysfleet/host-sim';
import { HostTools } from '../host';
import { recordingContext, simulatedHost } from '../testing';
import { childSwitch, definedVms, readVmConfNetwork, renderVmStanza, VmConf, vmConfWithNetwork, vmConfWithVm } from './vm-conf';
import { VmmDriver } from './vmm.driver';

jest.setTimeout(30_000);

const OPERATOR = '# my own VMs\nvm "mine" {\n\tmemory 1G\n\tdisk "/var/vmm/mine.qcow2"\n}\n';

describe('vm.conf sysfleet block', () => {
  const web1 = renderVmStanza({ name: 'web1', memoryMb: 512, disk: '/var/vmm/sysfleet/web1/disk.qcow2', cdrom: '/var/vmm/sysfleet/web1/seed.iso' });

  it('renders one vm.conf(5) stanza per child', () => {
    expect(web1).toBe('vm "web1" {\n\tdisable\n\tmemory 512M\n\tdisk "/var/vmm/sysfleet/web1/disk.qcow2"\n\tcdrom "/var/vmm/sysfleet/web1/seed.iso"\n\tlocal interface\n}\n');
    expect(() => renderVmStanza({ name: 'x', memoryMb: 1, disk: '/a"b' })).toThrow(/cannot be written to vm.conf/);
  });

  it('puts the interface on the sysfleet switch when the host network is bridged or routed, a local interface otherwise', () => {
    const stanza = (conf: string | null) => {
      const sw = childSwitch(readVmConfNetwork(conf));
      return renderVmStanza({ name: 'web1', memoryMb: 512, disk: '/var/vmm/d.qcow2', ...(sw ? { switch: sw } : {}) });
    };
    const onSwitch = 'vm "web1" {\n\tdisable\n\tmemory 512M\n\tdisk "/var/vmm/d.qcow2"\n\tinterface {\n\t\tswitch "sysfleet"\n\t}\n}\n';
    const local = 'vm "web1" {\n\tdisable\n\tmemory 512M\n\tdisk "/var/vmm/d.qcow2"\n\tlocal interface\n}\n';
    const block = (network: string) => `# BEGIN sysfleet\n${network}# END sysfleet\n`;
    expect(stanza(block('# network: bridged em0\nswitch "sysfleet" {\n\tinterface bridge0\n}\n'))).toBe(onSwitch);
    expect(stanza(block('# network: routed 10.77.0.0/24\nswitch "sysfleet" {\n\tinterface bridge0\n}\n'))).toBe(onSwitch);
    expect(stanza(block('# network: local (VMs get a local interface, vmctl start -L / "local interface")\n'))).toBe(local);
    expect(stanza(null)).toBe(local);
    expect(stanza(OPERATOR)).toBe(local);
    // A stanza with its inner interface block is still split and replaced as one.
    expect(definedVms(vmConfWithVm(OPERATOR, 'web1', onSwitch))).toEqual(['web1']);
    expect(vmConfWithVm(vmConfWithVm(OPERATOR, 'web1', onSwitch), 'web1', null)).toBe(OPERATOR);
    expect(() => renderVmStanza({ name: 'x', memoryMb: 1, disk: '/a', switch: 'a" {' })).toThrow(/switch name/);
  });

  it('adds and removes stanzas inside the block, keeping every other line byte-identical', () => {
    const added = vmConfWithVm(OPERATOR, 'web1', web1);
    expect(added).toBe(`${OPERATOR}# BEGIN sysfleet\n${web1}# END sysfleet\n`);
    const two = vmConfWithVm(added + 'switch "uplink" {\n\tinterface bridge1\n}\n', 'web2', web1.replace(/web1/g, 'web2'));
    expect(definedVms(two)).toEqual(['web1', 'web2']);
    expect(two.endsWith('# END sysfleet\nswitch "uplink" {\n\tinterface bridge1\n}\n')).toBe(true);
    // The network part written by configure-network keeps the stanzas, and the other way round.
    const withNet = vmConfWithNetwork(two, '# network: bridged em0\nswitch "sysfleet" {\n\tinterface bridge0\n}\n');
    expect(definedVms(withNet)).toEqual(['web1', 'web2']);
    expect(withNet).toContain('# BEGIN sysfleet\n# network: bridged em0\nswitch "sysfleet" {\n\tinterface bridge0\n}\nvm "web1" {');
    const back = vmConfWithNetwork(vmConfWithVm(vmConfWithVm(withNet, 'web2', null), 'web1', null), null);
    expect(back).toBe(OPERATOR + 'switch "uplink" {\n\tinterface bridge1\n}\n');
  });
});

describe('VmConf against the simulated vmd', () => {
  let host: ReturnType<typeof simulatedHost>;
  const path = () => join(host.hostRoot, 'etc/vm.conf');
  beforeEach(async () => {
    host = simulatedHost('vmm');
    await new VmmDriver(host.processEnv).initialize(recordingContext());
    writeFileSync(path(), OPERATOR);
  });
  afterEach(() => host.cleanup());

  it('defines a VM (vmd -n, install, reload): vmd lists it stopped; undefining forgets it and restores the file', async () => {
    const conf = new VmConf(new HostTools(host.processEnv), host.processEnv);
    const disk = join(host.stateDir, 'd.qcow2');
    writeFileSync(disk, '');
    const ctx = recordingContext();
    await conf.defineVm(ctx, 'vm-conf', 'bsd1', { name: 'bsd1', memoryMb: 256, disk });
    expect(readFileSync(path(), 'utf8').startsWith(OPERATOR + '# BEGIN sysfleet\nvm "bsd1" {')).toBe(true);
    expect(ctx.steps.at(-1)?.message).toBe('vm.conf defines bsd1; vmd reloaded');
    expect(readSimState(host.stateDir).machines.find((m) => m.name === 'bsd1')).toMatchObject({ state: 'shut off', memoryKiB: 256 * 1024 });
    await conf.defineVm(recordingContext(), 'delete', 'bsd1', null);
    expect(readFileSync(path(), 'utf8')).toBe(OPERATOR);
    expect(readSimState(host.stateDir).machines.find((m) => m.name === 'bsd1')).toBeUndefined();
  });

  it('leaves vm.conf unchanged when vmd -n refuses the new file', async () => {
    configureSimulation(host.stateDir, { fail: { 'vmd -n': '/etc/vm.conf.sysfleet.tmp:9: syntax error' } });
    const conf = new VmConf(new HostTools(host.processEnv), host.processEnv);
    await expect(conf.defineVm(recordingContext(), 'vm-conf', 'bsd1', { name: 'bsd1', memoryMb: 256, disk: '/var/vmm/x.qcow2' })).rejects.toMatchObject({
      step: 'vm-conf', message: expect.stringMatching(/vmd -n refused the new vm.conf; \/etc\/vm.conf left unchanged: .*syntax error/),
    });
    expect(readFileSync(path(), 'utf8')).toBe(OPERATOR);
    expect(existsSync(path() + '.sysfleet.tmp')).toBe(false);
  });

  it('the simulated vmd -n itself refuses a file that is not vm.conf', async () => {
    writeFileSync(path(), OPERATOR + 'this is not vm.conf\n');
    const conf = new VmConf(new HostTools(host.processEnv), host.processEnv);
    await expect(conf.defineVm(recordingContext(), 'vm-conf', 'bsd1', { name: 'bsd1', memoryMb: 256, disk: '/var/vmm/x.qcow2' })).rejects.toMatchObject({ message: expect.stringMatching(/:6: syntax error/) });
    expect(readFileSync(path(), 'utf8')).toBe(OPERATOR + 'this is not vm.conf\n');
  });
});
