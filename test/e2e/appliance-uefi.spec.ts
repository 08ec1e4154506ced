/**
 * A UEFI appliance end to end: the seeded Home Assistant OS entry (firmware uefi from its migration),
 * pinned and enabled by an admin, imported on a simulated KVM host whose initialise installed OVMF.
 * Real server, real agent; the simulator's virt-install needs the OVMF firmware descriptor for --boot uefi.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { configureSimulation, readSimCalls, readSimState } from '@sysfleet/host-sim';
import { login, ApiClient } from '../support/api';
import { startAgent, AgentProcess } from '../support/agent';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { waitFor } from '../support/ports';
import { startServer, ServerProcess } from '../support/server';

jest.setTimeout(180_000);

interface Job { id: string; status: string; error: string | null; failedStep: string | null; events: { step: string; message: string }[] }

const IMAGE = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.from(JSON.stringify({ format: 'qcow2', virtualSize: 1024 ** 3 }) + '\n')]);
// Packed by the host's real xz, as Home Assistant publishes its qcow2; the pinned sha256 is of the .xz.
const IMAGE_XZ = execFileSync('xz', ['--compress', '--stdout'], { input: IMAGE });
const IMAGE_XZ_SHA = createHash('sha256').update(IMAGE_XZ).digest('hex');

describe('UEFI appliance (Home Assistant OS) on a simulated KVM host', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let api: ApiClient;
  let images: Server;
  let agent: AgentProcess;
  let hostId: string;
  let sim: string;

  async function runJob(url: string, body?: unknown, method: 'post' | 'delete' = 'post'): Promise<Job> {
    const res = method === 'post' ? await api.post(url, body) : await api.delete(url);
    expect(res.status).toBe(202);
    return waitFor(`job ${res.body.id}`, async () => {
      const job = (await api.get(`/api/jobs/${res.body.id}`)).body as Job;
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(job.status) ? job : null;
    }, 90_000, 200);
  }

  beforeAll(async () => {
    db = await createTestDatabase('appliance_uefi');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('appliance-uefi') });
    api = await login(server.url);
    images = createServer((req, res) => (req.url === '/haos_ova-14.2.qcow2.xz' ? res.end(IMAGE_XZ) : res.writeHead(404).end()));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    const token = (await api.post('/api/enrollment-tokens', { uses: 1, expiresInSeconds: 600, autoApprove: true })).body.secret as string;
    agent = startAgent({ serverUrl: server.url, enrollmentToken: token, simulate: 'kvm', env: { SYSFLEET_CHILD_IP_ATTEMPTS: '5', SYSFLEET_CHILD_IP_INTERVAL_MS: '200' } });
    const fingerprint = await agent.fingerprint();
    const host = await waitFor('kvm host online', async () => {
      const h = (await api.get('/api/hosts', { q: fingerprint })).body.items[0];
      return h?.online && h.status === 'approved' ? h : null;
    }, 30_000);
    hostId = host.id;
    sim = path.join(agent.stateDir, 'host-sim');
    configureSimulation(sim, { recordCalls: true });
  });

  afterAll(async () => {
    await agent?.cleanup();
    images?.close();
    await server?.stop();
    await db?.drop();
  });

  it('the seeded entry is uefi and disabled; an admin pins its sha256 and enables it; uefi is refused on vmd', async () => {
    const haos = (await api.get('/api/distributions', { childType: 'kvm' })).body.find((d: { name: string }) => d.name === 'home-assistant-os');
    expect(haos).toMatchObject({ appliance: true, firmware: 'uefi', enabled: false, sha256: null, installCommands: [] });
    expect((await api.get('/api/distributions', { childType: 'kvm' })).body.filter((d: { firmware: string }) => d.firmware === 'uefi').map((d: { name: string }) => d.name)).toEqual(['home-assistant-os']);
    const port = (images.address() as AddressInfo).port;
    const patched = await api.patch(`/api/distributions/${haos.id}`, { imageUrl: `http://127.0.0.1:${port}/haos_ova-14.2.qcow2.xz`, sha256: IMAGE_XZ_SHA });
    expect(patched).toMatchObject({ status: 200, body: { firmware: 'uefi', sha256: IMAGE_XZ_SHA } });
    expect((await api.post(`/api/distributions/${haos.id}/enable`)).status).toBeLessThan(300);
    expect((await api.patch(`/api/distributions/${haos.id}`, { firmware: 'efi' })).status).toBe(400);
    const vmd = (await api.get('/api/distributions', { childType: 'vmm' })).body[0];
    expect(vmd.firmware).toBe('bios');
    const refused = await api.patch(`/api/distributions/${vmd.id}`, { firmware: 'uefi' });
    expect({ status: refused.status, message: refused.body.message }).toEqual({ status: 400, message: expect.stringMatching(/uefi is only available for kvm/) });
  });

  it('KVM initialise installs OVMF; the appliance is imported with --boot uefi and runs as a UEFI domain; delete removes it and its NVRAM', async () => {
    expect((await runJob(`/api/hosts/${hostId}/virtualization/kvm/initialize`)).status).toBe('succeeded');
    expect(readSimState(sim).packages).toContain('ovmf');

    const haos = (await api.get('/api/distributions', { childType: 'kvm' })).body.find((d: { name: string }) => d.name === 'home-assistant-os');
    const job = await runJob(`/api/hosts/${hostId}/children`, { childType: 'kvm', distributionId: haos.id, name: 'ha1', hostname: 'ha1', vcpus: 2, memoryMb: 2048, diskGb: 8, username: 'root' });
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    const steps = [...new Set(job.events.map((e) => e.step))].filter((s) => !['queued', 'dispatched', 'succeeded'].includes(s));
    expect(steps).toEqual(['validate', 'fetch-image', 'verify-image', 'overlay', 'define', 'enrol']);
    expect(job.events.find((e) => e.step === 'define')?.message).toMatch(/UEFI firmware/);
    const virtInstall = readSimCalls(sim).filter((c) => c.tool === 'virt-install' && c.args.includes('--import')).at(-1)!;
    expect(virtInstall.args.join(' ')).toMatch(/--osinfo generic --boot uefi /);
    expect(readSimState(sim).machines.find((m) => m.name === 'ha1')).toMatchObject({ state: 'running', firmware: 'efi', vcpus: 2, memoryKiB: 2048 * 1024 });
    const row = await waitFor('ha1 running', async () => ((await api.get(`/api/hosts/${hostId}/children`)).body as { id: string; name: string; state: string }[]).find((c) => c.name === 'ha1' && c.state === 'running'), 10_000, 200);

    expect((await runJob(`/api/hosts/${hostId}/children/${row.id}?deleteDisk=true`, undefined, 'delete')).status).toBe('succeeded');
    expect(readSimState(sim).machines).toEqual([]);
    expect(readSimCalls(sim).some((c) => c.tool === 'virsh' && c.args.includes('undefine') && c.args.includes('--nvram'))).toBe(true);
  });
});
