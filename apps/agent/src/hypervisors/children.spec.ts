import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureSimulation, readSimState } from '@sysfleet/host-sim';
import { ChildCreateParams, ChildCreateResult, ChildDistribution, parsePayload } from '@sysfleet/protocol';
import { StepError } from '../jobs/handler';
import { cachedImage, parseChecksumList, withRollback } from './children';
import { createChildHandlers } from './handlers';
import { markKvmInitialised, recordingContext, serveImage, simulatedHost } from './testing';

jest.setTimeout(60_000);

const IMAGE = Buffer.from('QFI\xfb{"format":"qcow2","virtualSize":1073741824}\n', 'latin1');
const SHA = createHash('sha256').update(IMAGE).digest('hex');
// Packed by the host's real xz; the checksum is of the file as downloaded, like the publishers' lists.
const IMAGE_XZ = execFileSync('xz', ['--compress', '--stdout'], { input: IMAGE });
const SHA_XZ = createHash('sha256').update(IMAGE_XZ).digest('hex');
const NOT_XZ = Buffer.from('this is not xz data at all\n');
const SHA_NOT_XZ = createHash('sha256').update(NOT_XZ).digest('hex');

describe('image cache', () => {
  let server: Server;
  let base: string;
  let requests = 0;
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sysfleet-images-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      if (req.url === '/jammy.img') res.end(IMAGE);
      else if (req.url === '/haos.qcow2.xz') res.end(IMAGE_XZ);
      else if (req.url === '/broken.qcow2.xz') res.end(NOT_XZ);
      else if (req.url === '/SHA256SUMS') res.end(`${'0'.repeat(64)}  other.img\n${SHA} *jammy.img\n`);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dist = (over: Partial<ChildDistribution>): ChildDistribution => ({ name: 'ubuntu', version: '22.04', installIdentifier: 'ubuntu22.04', appliance: false, installCommands: [], imageUrl: `${base}/jammy.img`, ...over });

  it('downloads once, verifies against the pinned checksum, and serves the next create from the cache', async () => {
    const dir = tempDir();
    const ctx = recordingContext();
    const path = await cachedImage(dir, dist({ sha256: SHA }), ctx, { fetch: 5, verify: 10 });
    expect(readFileSync(path)).toEqual(IMAGE);
    const before = requests;
    expect(await cachedImage(dir, dist({ sha256: SHA }), recordingContext(), { fetch: 5, verify: 10 })).toBe(path);
    expect(requests).toBe(before);
    expect(ctx.steps.map((s) => s.step)).toEqual(['fetch-image', 'fetch-image', 'fetch-image', 'verify-image']);
  });

  it('looks the checksum up in checksumUrl when none is pinned', async () => {
    const path = await cachedImage(tempDir(), dist({ checksumUrl: `${base}/SHA256SUMS` }), recordingContext(), { fetch: 5, verify: 10 });
    expect(readFileSync(path)).toEqual(IMAGE);
    await expect(cachedImage(tempDir(), dist({ imageUrl: `${base}/missing.img`, checksumUrl: `${base}/SHA256SUMS` }), recordingContext(), { fetch: 5, verify: 10 })).rejects.toMatchObject({ step: 'verify-image', message: expect.stringMatching(/lists no checksum for missing\.img/) });
  });

  it('a mismatch fails verify-image and leaves no file in the cache', async () => {
    const dir = tempDir();
    await expect(cachedImage(dir, dist({ sha256: 'a'.repeat(64) }), recordingContext(), { fetch: 5, verify: 10 })).rejects.toMatchObject({ step: 'verify-image', message: expect.stringMatching(/checksum mismatch for jammy\.img: expected sha256 a{64}, got [0-9a-f]{64}/) });
    expect(readdirSync(join(dir, 'images'))).toEqual([]);
  });

  it('unpacks a verified .xz image with the host\'s xz into the cache, leaving only the unpacked file', async () => {
    const dir = tempDir();
    const ctx = recordingContext();
    const path = await cachedImage(dir, dist({ imageUrl: `${base}/haos.qcow2.xz`, sha256: SHA_XZ }), ctx, { fetch: 5, verify: 10 });
    expect(path).toBe(join(dir, 'images', `${SHA_XZ.slice(0, 16)}-haos.qcow2`));
    expect(readFileSync(path)).toEqual(IMAGE);
    expect(readdirSync(join(dir, 'images'))).toEqual([`${SHA_XZ.slice(0, 16)}-haos.qcow2`]);
    // Verified first, then unpacked.
    expect(ctx.steps.filter((s) => s.step === 'verify-image').map((s) => s.message)).toEqual([`sha256 of haos.qcow2.xz matches ${SHA_XZ.slice(0, 16)}…`, 'unpacking haos.qcow2.xz with xz']);
    const before = requests;
    expect(await cachedImage(dir, dist({ imageUrl: `${base}/haos.qcow2.xz`, sha256: SHA_XZ }), recordingContext(), { fetch: 5, verify: 10 })).toBe(path);
    expect(requests).toBe(before);
  });

  it('never unpacks an .xz whose checksum does not match, and a corrupt one fails verify-image leaving nothing', async () => {
    const dir = tempDir();
    const ctx = recordingContext();
    await expect(cachedImage(dir, dist({ imageUrl: `${base}/haos.qcow2.xz`, sha256: 'a'.repeat(64) }), ctx, { fetch: 5, verify: 10 }))
      .rejects.toMatchObject({ step: 'verify-image', message: expect.stringMatching(/checksum mismatch for haos\.qcow2\.xz/) });
    expect(ctx.steps.some((s) => /unpacking/.test(s.message))).toBe(false);
    await expect(cachedImage(dir, dist({ imageUrl: `${base}/broken.qcow2.xz`, sha256: SHA_NOT_XZ }), recordingContext(), { fetch: 5, verify: 10 }))
      .rejects.toMatchObject({ step: 'verify-image', message: expect.stringMatching(/^xz --decompress \.broken\.qcow2\.xz\.[0-9a-f]{8}\.part exited with 1: .*format/) });
    expect(readdirSync(join(dir, 'images'))).toEqual([]);
  });

  it('reads GNU, BSD and single-hash checksum lists, by file name', () => {
    const h = 'b'.repeat(64);
    expect(parseChecksumList(`${h}  ./disk.qcow2\n`, 'disk.qcow2')).toEqual({ algorithm: 'sha256', hex: h });
    expect(parseChecksumList(`SHA256 (install76.img) = ${h}\nSHA256 (other) = ${'c'.repeat(64)}\n`, 'install76.img')).toEqual({ algorithm: 'sha256', hex: h });
    expect(parseChecksumList(`SHA512 (x.iso) = ${'d'.repeat(128)}\n`, 'x.iso')).toEqual({ algorithm: 'sha512', hex: 'd'.repeat(128) });
    expect(parseChecksumList(`${h}\n`, 'anything')).toEqual({ algorithm: 'sha256', hex: h });
    expect(parseChecksumList(`${h}  other\n${h}  more\n`, 'disk.qcow2')).toBeNull();
  });
});

describe('withRollback', () => {
  it('takes back what was made, newest first, and says it cleaned up', async () => {
    const undone: string[] = [];
    const ctx = recordingContext();
    const failure = withRollback(ctx, false, async (made) => {
      made.add('disk', async () => void undone.push('disk'));
      made.add('domain', async () => void undone.push('domain'));
      throw new StepError('ip', 'no lease');
    });
    await expect(failure).rejects.toMatchObject({ step: 'ip', message: 'no lease (everything it made was removed)', result: { cleanedUp: true } });
    expect(undone).toEqual(['domain', 'disk']);
    expect(ctx.steps.at(-1)).toMatchObject({ step: 'cleanup', message: 'removed domain, disk' });
  });

  it('keeps everything with keepOnFailure, and reports an undo that failed', async () => {
    await expect(withRollback(recordingContext(), true, async (made) => {
      made.add('disk /x', async () => undefined);
      throw new Error('boom');
    })).rejects.toMatchObject({ result: { cleanedUp: false, kept: 'disk /x' }, message: 'boom; left on the host: disk /x' });
    await expect(withRollback(recordingContext(), false, async (made) => {
      made.add('domain web1', async () => {
        throw new Error('virsh undefine failed');
      });
      throw new Error('boom');
    })).rejects.toMatchObject({ result: { cleanedUp: false, kept: 'domain web1 (virsh undefine failed)' } });
  });
});

describe('child.* handlers on a simulated KVM host', () => {
  const host = simulatedHost('kvm');
  const stateDir = mkdtempSync(join(tmpdir(), 'sysfleet-agent-state-'));
  let image: { url: string; close(): void };
  let imageUrl: string;
  const handlers = createChildHandlers({ stateDir }, { ...host.processEnv, SYSFLEET_CHILD_IP_ATTEMPTS: '2', SYSFLEET_CHILD_IP_INTERVAL_MS: '10' });
  const handler = (command: string) => handlers.find((h) => h.command === command)!;

  beforeAll(async () => {
    markKvmInitialised(host.stateDir);
    image = await serveImage(IMAGE, 'haos.qcow2');
    imageUrl = image.url;
  });
  afterAll(() => {
    image.close();
    host.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const params = (name: string, appliance: boolean): ChildCreateParams => {
    const p = parsePayload(ChildCreateParams, {
      childType: 'kvm', name, hostname: name, vcpus: 2, memoryMb: 2048, diskGb: 32, username: 'ops', sshPublicKeys: [], keepOnFailure: false, agentInstall: null,
      distribution: { name: 'haos', version: '14', installIdentifier: 'linux2022', imageUrl, sha256: SHA, appliance, installCommands: [] },
    });
    if (!p.ok) throw new Error(p.error);
    return p.value;
  };
  const vmDir = (name: string) => join(host.hostRoot, 'var/lib/libvirt/images/sysfleet', name);

  it('imports an appliance: overlay resized, domain defined and running, no seed, no key; the result passes the protocol class', async () => {
    const ctx = recordingContext();
    const result = (await handler('child.create').run(params('haos1', true), ctx)) as unknown as ChildCreateResult;
    expect(parsePayload(ChildCreateResult, JSON.parse(JSON.stringify(result)))).toMatchObject({ ok: true });
    expect(result).toMatchObject({ agentInstalled: false, child: { name: 'haos1', childType: 'kvm', state: 'running', vcpus: 2, memoryMb: 2048 } });
    expect([...new Set(ctx.steps.map((s) => s.step))]).toEqual(['validate', 'fetch-image', 'verify-image', 'overlay', 'define', 'enrol']);
    expect(readFileSync(join(vmDir('haos1'), 'disk.qcow2'), 'latin1')).toContain('"virtualSize":34359738368');
    expect(existsSync(join(vmDir('haos1'), 'seed.iso'))).toBe(false);
    expect(existsSync(join(stateDir, 'guest-keys', 'haos1'))).toBe(false);
  });

  it('refuses a name that is taken, before making anything', async () => {
    await expect(handler('child.create').run(params('haos1', true), recordingContext())).rejects.toMatchObject({ step: 'validate', result: { cleanedUp: true } });
    expect(readSimState(host.stateDir).machines.filter((m) => m.name === 'haos1')).toHaveLength(1);
  });

  it('a guest with no DHCP lease fails step ip and removes the domain, overlay, seed and one-off key', async () => {
    configureSimulation(host.stateDir, { fail: { 'virsh domifaddr web2': 'error: Failed to query for interfaces addresses' } });
    try {
      await expect(handler('child.create').run(params('web2', false), recordingContext())).rejects.toMatchObject({ step: 'ip', message: expect.stringMatching(/no DHCP lease after 2 tries/), result: { cleanedUp: true } });
    } finally {
      configureSimulation(host.stateDir, { fail: {} });
    }
    expect(readSimState(host.stateDir).machines.map((m) => m.name)).toEqual(['haos1']);
    expect(existsSync(vmDir('web2'))).toBe(false);
    expect(existsSync(join(stateDir, 'guest-keys', 'web2'))).toBe(false);
  });

  it('a create cancelled after the seed is made removes it all', async () => {
    await expect(handler('child.create').run(params('web3', false), recordingContext('seed'))).rejects.toMatchObject({ result: { cleanedUp: true } });
    expect(readSimState(host.stateDir).machines.map((m) => m.name)).toEqual(['haos1']);
    expect(existsSync(vmDir('web3'))).toBe(false);
  });

  it('stop, start, restart, delete and list report the VM as the tools show it', async () => {
    const stop = await handler('child.stop').run({ childType: 'kvm', name: 'haos1', force: true } as never, recordingContext());
    expect(stop).toMatchObject({ child: { state: 'stopped' }, children: [{ name: 'haos1', state: 'stopped' }] });
    expect(await handler('child.start').run({ childType: 'kvm', name: 'haos1' } as never, recordingContext())).toMatchObject({ child: { state: 'running' } });
    expect(await handler('child.restart').run({ childType: 'kvm', name: 'haos1' } as never, recordingContext())).toMatchObject({ child: { state: 'running' } });
    expect(await handler('child.list').run({}, recordingContext())).toEqual({ types: ['kvm'], children: [expect.objectContaining({ name: 'haos1', state: 'running', ip: '192.168.122.45' })] });
    expect(await handler('child.delete').run({ childType: 'kvm', name: 'haos1', deleteDisk: true } as never, recordingContext())).toEqual({ children: [] });
    expect(existsSync(vmDir('haos1'))).toBe(false);
    // Idempotent: deleting or stopping what is not there succeeds, with no child.
    expect(await handler('child.delete').run({ childType: 'kvm', name: 'haos1', deleteDisk: true } as never, recordingContext())).toEqual({ children: [] });
    expect(await handler('child.stop').run({ childType: 'kvm', name: 'haos1', force: false } as never, recordingContext())).toEqual({ children: [] });
    await expect(handler('child.start').run({ childType: 'vmm', name: 'x' } as never, recordingContext())).rejects.toMatchObject({ step: 'validate', message: 'vmm VMs cannot be made on this host' });
  });
});
