import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureSimulation, readSimCalls, readSimState } from '@sysfleet/host-sim';
import { ChildCreateParams, ChildCreateResult, Firmware, parsePayload } from '@sysfleet/protocol';
import { createChildHandlers } from '../handlers';
import { markKvmInitialised, recordingContext, serveImage, simulatedHost } from '../testing';
import { KvmDriver } from './kvm.driver';

// Each simulated tool call is a node process.
jest.setTimeout(90_000);

const IMAGE = Buffer.from('QFI\xfb{"format":"qcow2","virtualSize":1073741824}\n', 'latin1');
const SHA = createHash('sha256').update(IMAGE).digest('hex');

/** UEFI appliances (Home Assistant OS) on a simulated KVM host: --boot uefi reaches virt-install and needs the OVMF that initialise installs. */
describe('KVM appliance with UEFI firmware', () => {
  const host = simulatedHost('kvm');
  const stateDir = mkdtempSync(join(tmpdir(), 'sysfleet-agent-state-'));
  let image: { url: string; close(): void };
  let imageUrl: string;
  const handlers = createChildHandlers({ stateDir }, { ...host.processEnv, SYSFLEET_CHILD_IP_ATTEMPTS: '2', SYSFLEET_CHILD_IP_INTERVAL_MS: '10' });
  const handler = (command: string) => handlers.find((h) => h.command === command)!;
  const params = (name: string, firmware?: Firmware): ChildCreateParams => {
    const p = parsePayload(ChildCreateParams, {
      childType: 'kvm', name, hostname: name, vcpus: 2, memoryMb: 4096, diskGb: 32, username: 'ops', sshPublicKeys: [], keepOnFailure: false, agentInstall: null,
      ...(firmware && { firmware }),
      distribution: { name: 'home-assistant-os', version: '14.2', installIdentifier: 'generic', imageUrl, sha256: SHA, appliance: true, installCommands: [] },
    });
    if (!p.ok) throw new Error(p.error);
    return p.value;
  };
  const virtInstallCalls = () => readSimCalls(host.stateDir).filter((c) => c.tool === 'virt-install' && !c.args.includes('--version'));
  const vmDir = (name: string) => join(host.hostRoot, 'var/lib/libvirt/images/sysfleet', name);

  beforeAll(async () => {
    configureSimulation(host.stateDir, { recordCalls: true });
    // libvirt, QEMU and the tools, but not OVMF yet: a host initialised before UEFI guests were supported.
    markKvmInitialised(host.stateDir);
    image = await serveImage(IMAGE, 'haos_ova-14.2.qcow2');
    imageUrl = image.url;
  });
  afterAll(() => {
    image.close();
    host.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('rejects a firmware the protocol does not know', () => {
    expect(parsePayload(ChildCreateParams, { ...params('x'), firmware: 'efi' })).toMatchObject({ ok: false, error: expect.stringMatching(/firmware/) });
  });

  it('without OVMF, virt-install --boot uefi fails as libvirt does, and the create removes what it made', async () => {
    await expect(handler('child.create').run(params('ha0', 'uefi'), recordingContext())).rejects.toMatchObject({
      step: 'define', message: expect.stringMatching(/Unable to find any firmware to satisfy 'efi'/), result: { cleanedUp: true },
    });
    expect(virtInstallCalls().at(-1)?.args).toEqual(expect.arrayContaining(['--boot', 'uefi']));
    expect(readSimState(host.stateDir).machines).toEqual([]);
    expect(existsSync(vmDir('ha0'))).toBe(false);
  });

  it('after KVM initialise installs OVMF, imports the appliance booting UEFI; delete takes its NVRAM with it', async () => {
    const init = recordingContext();
    await new KvmDriver(host.processEnv, stateDir).initialize(init);
    expect(init.steps.filter((s) => s.step === 'install-packages').at(-1)?.message).toBe('installed ovmf');

    const ctx = recordingContext();
    const result = (await handler('child.create').run(params('ha1', 'uefi'), ctx)) as unknown as ChildCreateResult;
    expect(result).toMatchObject({ agentInstalled: false, child: { name: 'ha1', state: 'running', vcpus: 2, memoryMb: 4096 } });
    expect(ctx.steps.find((s) => s.step === 'define')?.message).toMatch(/UEFI firmware/);
    const args = virtInstallCalls().at(-1)!.args;
    expect(args.slice(args.indexOf('--boot'), args.indexOf('--boot') + 2)).toEqual(['--boot', 'uefi']);
    expect(args).toEqual(expect.arrayContaining(['--import', '--name', 'ha1']));
    expect(readSimState(host.stateDir).machines.find((m) => m.name === 'ha1')).toMatchObject({ firmware: 'efi', nvram: '/var/lib/libvirt/qemu/nvram/ha1_VARS.fd' });

    expect(await handler('child.delete').run({ childType: 'kvm', name: 'ha1', deleteDisk: true } as never, recordingContext())).toEqual({ children: [] });
    expect(readSimCalls(host.stateDir).filter((c) => c.tool === 'virsh' && c.args.includes('undefine')).at(-1)?.args).toEqual(expect.arrayContaining(['undefine', 'ha1', '--nvram']));
    expect(readSimState(host.stateDir).machines).toEqual([]);
  });

  it('a bios (or unset) firmware passes no --boot, and the domain boots SeaBIOS', async () => {
    await handler('child.create').run(params('ha2'), recordingContext());
    expect(virtInstallCalls().at(-1)!.args).not.toContain('--boot');
    expect(readSimState(host.stateDir).machines.find((m) => m.name === 'ha2')).toMatchObject({ firmware: 'bios' });
    await handler('child.delete').run({ childType: 'kvm', name: 'ha2', deleteDisk: true } as never, recordingContext());
    expect(readSimState(host.stateDir).machines).toEqual([]);
  });
});
