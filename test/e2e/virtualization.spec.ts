/**
 * Hypervisor roles end to end: three agents on simulated hosts (Linux/KVM, OpenBSD/vmd,
 * Windows/WSL) enrol, report their hypervisor as not initialised, are initialised through the
 * API, and report it initialised; failures name their step; a misfit is refused up front.
 */
import { configureSimulation, simulateReboot } from '@sysfleet/host-sim';
import path from 'node:path';
import { login, ApiClient } from '../support/api';
import { startAgent, AgentProcess } from '../support/agent';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { waitFor } from '../support/ports';
import { startServer, ServerProcess } from '../support/server';

type Kind = 'kvm' | 'vmm' | 'wsl';
interface Hypervisor { type: Kind; initialized: boolean; needsReboot: boolean; installed: boolean; running: boolean; networks: { name: string; mode: string; active: boolean }[] }
interface Report { platform: string; roles: string[]; hypervisors: Hypervisor[]; checkedAt: string }
interface Job { id: string; status: string; error: string | null; failedStep: string | null; events: { step: string }[] }

const simDir = (agent: AgentProcess) => path.join(agent.stateDir, 'host-sim');

describe('hypervisor roles', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let api: ApiClient;
  const agents: Partial<Record<Kind, { agent: AgentProcess; hostId: string }>> = {};

  async function runJob(url: string, body?: unknown): Promise<Job> {
    const res = await api.post(url, body);
    expect(res.status).toBe(202);
    const id = (res.body as Job).id;
    return waitFor(`job ${url}`, async () => {
      const job = (await api.get(`/api/jobs/${id}`)).body as Job;
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(job.status) ? job : null;
    }, 60_000, 200);
  }

  const report = async (kind: Kind) => (await api.get(`/api/hosts/${agents[kind]!.hostId}/virtualization`)).body as Report;
  const hv = async (kind: Kind) => (await report(kind)).hypervisors.find((h) => h.type === kind)!;

  beforeAll(async () => {
    db = await createTestDatabase('virt');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('virt') });
    api = await login(server.url);
    const token = (await api.post('/api/enrollment-tokens', { uses: 3, expiresInSeconds: 600, autoApprove: true })).body.secret as string;
    for (const kind of ['kvm', 'vmm', 'wsl'] as Kind[]) {
      const agent = startAgent({ serverUrl: server.url, enrollmentToken: token, simulate: kind });
      const fingerprint = await agent.fingerprint();
      const host = await waitFor(`${kind} host online`, async () => {
        const h = (await api.get('/api/hosts', { q: fingerprint })).body.items[0];
        return h?.online && h.status === 'approved' ? h : null;
      }, 30_000);
      agents[kind] = { agent, hostId: host.id };
    }
  });

  afterAll(async () => {
    for (const a of Object.values(agents)) await a?.agent.cleanup();
    await server?.stop();
    await db?.drop();
  });

  it('each host reports its platform and its hypervisor as not initialised, with no role, as soon as it connects', async () => {
    for (const [kind, platform] of [['kvm', 'linux'], ['vmm', 'openbsd'], ['wsl', 'windows']] as const) {
      // Sent by the agent on connect: no job was started for it.
      const r = await waitFor(`${kind} report on connect`, async () => {
        const res = await api.get(`/api/hosts/${agents[kind]!.hostId}/virtualization`);
        return res.status === 200 ? (res.body as Report) : null;
      });
      expect((await api.get('/api/jobs', { hostId: agents[kind]!.hostId })).body.items.filter((j: { type: string }) => j.type === 'virtualization.check')).toEqual([]);
      expect(r.platform).toBe(platform);
      expect(r.roles).toEqual([]);
      // Every type is reported; only the platform's own one is available.
      expect(r.hypervisors.filter((h) => (h as Hypervisor & { available: boolean }).available).map((h) => h.type)).toEqual([kind]);
      expect(r.hypervisors.find((h) => h.type === kind)!.initialized).toBe(false);
      const host = (await api.get(`/api/hosts/${agents[kind]!.hostId}`)).body;
      expect(host.roles).toEqual([]);
    }
  });

  it('refuses a KVM initialise on the OpenBSD host before making a job', async () => {
    const before = (await api.get('/api/jobs', { hostId: agents.vmm!.hostId })).body.total;
    const res = await api.post(`/api/hosts/${agents.vmm!.hostId}/virtualization/kvm/initialize`);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/kvm runs on linux/i);
    expect((await api.get('/api/jobs', { hostId: agents.vmm!.hostId })).body.total).toBe(before);
  });

  it('a failing step ends the job failed, naming the step and what the tool printed', async () => {
    configureSimulation(simDir(agents.kvm!.agent), { fail: { 'systemctl enable': 'Failed to enable unit: Unit file libvirtd.service is masked.' } });
    const before = await report('kvm');
    expect((await hv('kvm')).installed).toBe(false);
    const job = await runJob(`/api/hosts/${agents.kvm!.hostId}/virtualization/kvm/initialize`);
    expect(job.status).toBe('failed');
    expect(job.failedStep).toBe('enable-libvirtd');
    expect(job.error).toMatch(/masked/);
    // Detection ran after the failed initialise too: the stored report is newer and shows the packages it installed.
    const after = await report('kvm');
    expect(new Date(after.checkedAt).getTime()).toBeGreaterThan(new Date(before.checkedAt).getTime());
    expect(await hv('kvm')).toMatchObject({ installed: true, running: false, initialized: false });
    expect(after.roles).toEqual([]);
    configureSimulation(simDir(agents.kvm!.agent), { fail: {} });
  });

  it('initialises KVM and vmd: the hosts report them initialised and gain their roles', async () => {
    for (const [kind, role] of [['kvm', 'kvm_host'], ['vmm', 'vmm_host']] as const) {
      const job = await runJob(`/api/hosts/${agents[kind]!.hostId}/virtualization/${kind}/initialize`);
      expect(job.status).toBe('succeeded');
      expect(job.events.length).toBeGreaterThan(3);
      const h = await hv(kind);
      expect(h).toMatchObject({ initialized: true, installed: true, running: true });
      expect((await api.get(`/api/hosts/${agents[kind]!.hostId}`)).body.roles).toEqual([role]);
      expect((await api.get('/api/hosts', { role })).body.items.map((x: { id: string }) => x.id)).toEqual([agents[kind]!.hostId]);
    }
    expect((await runJob(`/api/hosts/${agents.kvm!.hostId}/virtualization/check`)).status).toBe('succeeded');
    expect((await hv('kvm')).networks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'default', mode: 'nat', active: true })]));
  });

  it('WSL needs a reboot after installing, and is initialised once the host has rebooted', async () => {
    const job = await runJob(`/api/hosts/${agents.wsl!.hostId}/virtualization/wsl/initialize`);
    expect(job.status).toBe('succeeded');
    expect(await hv('wsl')).toMatchObject({ needsReboot: true, initialized: false });
    simulateReboot(simDir(agents.wsl!.agent));
    expect((await runJob(`/api/hosts/${agents.wsl!.hostId}/virtualization/check`)).status).toBe('succeeded');
    expect(await hv('wsl')).toMatchObject({ needsReboot: false, initialized: true });
    expect((await api.get(`/api/hosts/${agents.wsl!.hostId}`)).body.roles).toEqual(['wsl_host']);
  });

  it('configures the vmd routed network and refuses a mode that does not fit', async () => {
    const bad = await api.post(`/api/hosts/${agents.vmm!.hostId}/virtualization/vmm/network`, { mode: 'nat' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/local, bridged, routed/);
    const job = await runJob(`/api/hosts/${agents.vmm!.hostId}/virtualization/vmm/network`, { mode: 'routed', interface: 'em0', subnet: '10.77.0.0/24' });
    expect(job.status).toBe('succeeded');
  });
});
