import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import type { ChildCreateParams } from '@sysfleet/protocol';
import { configureSimulation, readSimState } from '@sysfleet/host-sim';
import { recordingContext, simulatedHost } from '../testing';
import { VmmDriver } from './vmm.driver';

jest.setTimeout(60_000);

const IMAGE = Buffer.from('simulated OpenBSD install image');

async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/install.conf`).then(() => true, () => false);
}

/** vmd OpenBSD children: the autoinstall response file is served only while the installer runs. */
describe('vmd OpenBSD child create against the simulated host', () => {
  let host: ReturnType<typeof simulatedHost>;
  let images: Server;
  let imageUrl: string;
  let port: number;
  let driver: VmmDriver;
  const authorized = () => join(host.stateDir, 'authorized_keys');
  const params = (): ChildCreateParams => ({
    childType: 'vmm', name: 'bsd1', hostname: 'bsd1', vcpus: 1, memoryMb: 256, diskGb: 2, username: 'root', sshPublicKeys: [], keepOnFailure: false, agentInstall: null,
    distribution: { name: 'openbsd', version: '7.6', installIdentifier: 'openbsd76', imageUrl, sha256: createHash('sha256').update(IMAGE).digest('hex'), appliance: false, installCommands: [] },
  });

  beforeAll(async () => {
    images = createServer((req, res) => (req.url === '/install76.img' ? res.end(IMAGE) : res.writeHead(404).end()));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/install76.img`;
  });
  afterAll(() => new Promise<void>((resolve) => images.close(() => resolve())));

  beforeEach(async () => {
    host = simulatedHost('vmm');
    port = await freePort();
    const env = { ...host.processEnv, SYSFLEET_VMD_AUTOINSTALL_PORT: String(port), SYSFLEET_CHILD_SSH_ATTEMPTS: '1', SYSFLEET_CHILD_SSH_INTERVAL_MS: '1', SYSFLEET_CHILD_IP_ATTEMPTS: '1', SYSFLEET_CHILD_IP_INTERVAL_MS: '1' };
    driver = new VmmDriver(env, join(host.stateDir, 'agent'));
    await driver.initialize(recordingContext());
    // No sshd answers at this address: the create gets past the install and fails at SSH.
    configureSimulation(host.stateDir, { guestAuthorizedKeysFile: authorized(), guestIp: '127.0.0.1' });
  });
  afterEach(() => host.cleanup());

  it('the installer fetches the response file from the agent; the server is closed after the install, and a later failure rolls back the vm.conf stanza', async () => {
    const ctx = recordingContext();
    const err = await driver.children.create(params(), ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: 'wait-ssh', result: { cleanedUp: true } });
    // The simulated installer got the one-off root key only over HTTP (nothing is written next to the disk).
    expect(readFileSync(authorized(), 'utf8')).toMatch(/^ssh-ed25519 \S+/);
    expect(ctx.steps.find((s) => s.step === 'install' && /halted/.test(s.message))?.message).toMatch(/it fetched \/fe:e1:ba:d0:[0-9a-f:]{5}-install\.conf$/);
    expect(ctx.steps.some((s) => s.step === 'vm-conf' && s.message === 'vm.conf defines bsd1; vmd reloaded')).toBe(true);
    expect(await listening(port)).toBe(false);
    expect(readFileSync(join(host.hostRoot, 'etc/vm.conf'), 'utf8')).not.toMatch(/bsd1/);
    expect(readSimState(host.stateDir).machines.map((m) => m.name)).not.toContain('bsd1');
  });

  it('on a routed host the VM\'s vm.conf stanza joins the sysfleet switch instead of a local interface, and vmd accepts it', async () => {
    await driver.configureNetwork({ type: 'vmm', mode: 'routed' }, recordingContext());
    const err = await driver.children.create({ ...params(), keepOnFailure: true }, recordingContext()).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: 'wait-ssh' });
    const vmConf = readFileSync(join(host.hostRoot, 'etc/vm.conf'), 'utf8');
    const stanza = vmConf.slice(vmConf.indexOf('vm "bsd1" {'));
    expect(stanza).toMatch(/^vm "bsd1" \{\n\tdisable\n\tmemory 256M\n\tdisk "[^"]+\/bsd1\/disk\.qcow2"\n\tinterface \{\n\t\tswitch "sysfleet"\n\t\}\n\}\n# END sysfleet\n$/);
    expect(vmConf).toContain('switch "sysfleet" {\n\tinterface bridge0\n}\n');
    // vmd read it (vmctl reload) and knows the VM.
    expect(readSimState(host.stateDir).settings['vmd.loaded']).toBe(vmConf);
  });

  it('closes the server when the install step fails', async () => {
    configureSimulation(host.stateDir, { fail: { 'vmctl start -L': 'vmctl: start vm command failed: Cannot allocate memory' } });
    const err = await driver.children.create(params(), recordingContext()).catch((e: unknown) => e);
    expect(err).toMatchObject({ step: 'install', message: expect.stringMatching(/Cannot allocate memory/), result: { cleanedUp: true } });
    expect(await listening(port)).toBe(false);
    expect(existsSync(authorized())).toBe(false);
  });
});
