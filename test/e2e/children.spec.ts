/**
 * Child VMs end to end: real server, real agents on simulated KVM / vmd / WSL hosts, a real OpenSSH
 * sshd as the guest (the simulated VM's IP leads to it, and the simulator's cloud-init / autoinstall
 * stand-in writes the agent's one-off key into its authorized_keys). The install commands download the
 * real agent bundle from the server, check it and start it; that child agent enrols with its token,
 * is auto-approved and linked to its parent.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { configureSimulation, readSimCalls, readSimState, simulateReboot, simulationEnvironment } from '@sysfleet/host-sim';
import { login, ApiClient } from '../support/api';
import { startAgent, AgentProcess } from '../support/agent';
import { createTestDatabase, TestDatabase, uniqueRedisPrefix } from '../support/db';
import { freePort, waitFor } from '../support/ports';
import { startServer, ServerProcess } from '../support/server';
import { createSudoGuestUser, startSshd, SshdProcess, SudoGuestUser } from '../support/sshd';

jest.setTimeout(240_000);

type Kind = 'kvm' | 'vmm' | 'wsl';
interface Job { id: string; status: string; error: string | null; failedStep: string | null; events: { step: string; message: string }[] }

/** The agent's steps of a job, in order (the server's own queued / dispatched / final events left out). */
const agentSteps = (job: Job) => [...new Set(job.events.map((e) => e.step))].filter((s) => !['queued', 'dispatched', 'succeeded', 'failed', 'cancelled', 'expired'].includes(s));
interface Child { id: string; name: string; state: string; childHostId: string | null; error: string | null }

const IMAGE = Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.from(JSON.stringify({ format: 'qcow2', virtualSize: 1024 ** 3 }) + '\n')]);
const IMAGE_SHA = createHash('sha256').update(IMAGE).digest('hex');
const PREFIX = `sysfleet-e2e-${process.pid}`;

const installCommands = [
  `mkdir -p /tmp/${PREFIX}-{{hostname}} && curl -fsSL {{serverUrl}}/agent/sysfleet-agent.cjs -o /tmp/${PREFIX}-{{hostname}}/agent.cjs`,
  `echo "{{agentSha256}}  /tmp/${PREFIX}-{{hostname}}/agent.cjs" | sha256sum -c -`,
  // No "cd X &&" before the "&": the backgrounded list would keep the SSH channel's output open.
  `nohup node /tmp/${PREFIX}-{{hostname}}/agent.cjs run --server {{serverUrl}} --state-dir /tmp/${PREFIX}-{{hostname}}/state --enrollment-token {{enrollmentToken}} >/tmp/${PREFIX}-{{hostname}}/agent.log 2>&1 </dev/null & echo $! > /tmp/${PREFIX}-{{hostname}}/pid`,
];

describe('child VMs', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let api: ApiClient;
  let sshd: SshdProcess;
  let sudoUser: SudoGuestUser | undefined;
  let images: Server;
  let imageBase: string;
  const hosts: Partial<Record<Kind, { agent: AgentProcess; hostId: string; sim: string }>> = {};
  const distributions: Record<string, string> = {};

  const simDir = (kind: Kind) => hosts[kind]!.sim;

  async function waitJob(id: string): Promise<Job> {
    return waitFor(`job ${id}`, async () => {
      const job = (await api.get(`/api/jobs/${id}`)).body as Job;
      return ['succeeded', 'failed', 'cancelled', 'expired'].includes(job.status) ? job : null;
    }, 90_000, 200);
  }

  async function runJob(url: string, body?: unknown): Promise<Job> {
    const res = await api.post(url, body);
    expect(res.status).toBe(202);
    return waitJob(res.body.id);
  }

  async function children(kind: Kind): Promise<Child[]> {
    return (await api.get(`/api/hosts/${hosts[kind]!.hostId}/children`)).body as Child[];
  }

  /** Waits until the parent's children list shows `name` in `state`, as an operator would see it. */
  async function expectState(kind: Kind, name: string, state: string): Promise<void> {
    await waitFor(`${name} ${state} in the API`, async () => (await children(kind)).find((c) => c.name === name)?.state === state, 10_000, 200);
  }

  /** The simulated tool calls made from here on, as `tool arg arg ...` lines (recordCalls on). */
  function recordCalls(kind: Kind): () => string[] {
    configureSimulation(simDir(kind), { recordCalls: true });
    const before = readSimCalls(simDir(kind)).length;
    return () => readSimCalls(simDir(kind)).slice(before).map((c) => [c.tool, ...c.args].join(' '));
  }

  function createBody(kind: Kind, name: string, distribution = `${kind}-test`, extra: Record<string, unknown> = {}) {
    return { childType: kind, distributionId: distributions[distribution], name, hostname: name, vcpus: 1, memoryMb: 256, diskGb: 2, username: 'root', ...extra };
  }

  async function addDistribution(key: string, kind: Kind, over: Record<string, unknown> = {}): Promise<void> {
    const res = await api.post('/api/distributions', {
      childType: kind, name: key, version: kind === 'vmm' ? '7.6' : '1', displayName: `E2E ${key}`, installIdentifier: kind === 'wsl' ? 'Debian' : 'debian12',
      imageUrl: kind === 'wsl' ? null : `${imageBase}/image.qcow2`, sha256: kind === 'wsl' ? null : IMAGE_SHA,
      defaultVcpus: 1, defaultMemoryMb: 256, defaultDiskGb: 2, installCommands, appliance: false, ...over,
    });
    expect(res.status).toBe(201);
    distributions[key] = res.body.id;
  }

  /** The created child is enrolled, approved and linked: its host shows parentHostId. */
  async function expectLinked(kind: Kind, name: string): Promise<string> {
    const child = await waitFor(`${name} linked`, async () => (await children(kind)).find((c) => c.name === name && c.childHostId), 60_000, 300);
    const host = (await api.get(`/api/hosts/${child.childHostId}`)).body;
    expect(host).toMatchObject({ parentHostId: hosts[kind]!.hostId, status: 'approved' });
    return child.childHostId!;
  }

  beforeAll(async () => {
    db = await createTestDatabase('children');
    server = await startServer({ databaseUrl: db.url, redisPrefix: uniqueRedisPrefix('children') });
    api = await login(server.url);
    sshd = await startSshd();
    images = createServer((req, res) => {
      if (req.url === '/image.qcow2' || req.url === '/install76.img') res.end(IMAGE);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;

    const token = (await api.post('/api/enrollment-tokens', { uses: 3, expiresInSeconds: 600, autoApprove: true })).body.secret as string;
    for (const kind of ['kvm', 'vmm', 'wsl'] as Kind[]) {
      const env: Record<string, string> = { SYSFLEET_CHILD_SSH_ATTEMPTS: '3', SYSFLEET_CHILD_SSH_INTERVAL_MS: '300', SYSFLEET_CHILD_IP_ATTEMPTS: '5', SYSFLEET_CHILD_IP_INTERVAL_MS: '200' };
      // vmd: the agent serves the autoinstall response file here (80 on a real host); the simulated installer fetches it.
      if (kind === 'vmm') env.SYSFLEET_VMD_AUTOINSTALL_PORT = String(await freePort());
      const agent = startAgent({ serverUrl: server.url, enrollmentToken: token, simulate: kind, env });
      const fingerprint = await agent.fingerprint();
      const host = await waitFor(`${kind} host online`, async () => {
        const h = (await api.get('/api/hosts', { q: fingerprint })).body.items[0];
        return h?.online && h.status === 'approved' ? h : null;
      }, 30_000);
      const sim = path.join(agent.stateDir, 'host-sim');
      hosts[kind] = { agent, hostId: host.id, sim };
      configureSimulation(sim, { guestIp: sshd.host, guestAuthorizedKeysFile: sshd.authorizedKeysFile });
      if (kind === 'wsl') {
        expect((await runJob(`/api/hosts/${host.id}/virtualization/wsl/initialize`)).status).toBe('succeeded');
        simulateReboot(sim);
        expect((await runJob(`/api/hosts/${host.id}/virtualization/check`)).status).toBe('succeeded');
      } else expect((await runJob(`/api/hosts/${host.id}/virtualization/${kind}/initialize`)).status).toBe('succeeded');
      await addDistribution(`${kind}-test`, kind);
    }
    await addDistribution('openbsd-e2e', 'vmm', { installIdentifier: 'openbsd76', imageUrl: `${imageBase}/install76.img` });
  });

  afterAll(async () => {
    for (const dir of readdirSync('/tmp').filter((d) => d.startsWith(PREFIX))) {
      const pidFile = path.join('/tmp', dir, 'pid');
      if (existsSync(pidFile)) {
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
        } catch {
          // Already gone.
        }
      }
      rmSync(path.join('/tmp', dir), { recursive: true, force: true });
    }
    for (const h of Object.values(hosts)) await h?.agent.cleanup();
    await sshd?.stop();
    sudoUser?.remove();
    images?.close();
    await server?.stop();
    await db?.drop();
  });

  it('creates a KVM child: steps in order, the agent installed over SSH enrols and is linked to its parent', async () => {
    const job = await runJob(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'web1'));
    expect(job).toMatchObject({ status: 'succeeded' });
    const steps = agentSteps(job);
    expect(steps).toEqual(['validate', 'fetch-image', 'verify-image', 'overlay', 'seed', 'define', 'ip', 'wait-ssh', 'install-agent', 'enrol']);
    expect(job.events.filter((e) => e.step === 'install-agent' && /done \(exit 0\)/.test(e.message))).toHaveLength(3);
    // The enrolment token never shows in progress.
    expect(job.events.some((e) => /sfe_[A-Za-z0-9_-]{43}/.test(e.message))).toBe(false);
    const domain = readSimState(simDir('kvm')).machines.find((m) => m.name === 'web1');
    expect(domain).toMatchObject({ state: 'running', vcpus: 1, memoryKiB: 256 * 1024 });
    const childHostId = await expectLinked('kvm', 'web1');
    const parentChildren = await children('kvm');
    expect(parentChildren.find((c) => c.name === 'web1')).toMatchObject({ state: 'running', childHostId });
  });

  it('creates a KVM child as an ordinary user: every install command runs through sudo, its output reported', async () => {
    sudoUser = createSudoGuestUser('sysfleet-ops');
    await addDistribution('kvm-sudo', 'kvm', { installCommands: ['echo "as $(id -un), uid $(id -u), for ${SUDO_USER:-nobody}"', ...installCommands] });
    const job = await runJob(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'ops1', 'kvm-sudo', { username: sudoUser.name }));
    if (job.status !== 'succeeded') console.log(sshd.logs().slice(-3000));
    expect(job).toMatchObject({ status: 'succeeded', error: null });
    // The guest was reached as the ordinary user, with the one-off key...
    expect(job.events.find((e) => e.step === 'wait-ssh')?.message).toMatch(new RegExp(`^waiting for SSH on sysfleet-ops@${sshd.host.replace(/\./g, '\\.')}:22 `));
    expect(sshd.logs()).toMatch(/Accepted publickey for sysfleet-ops from/);
    // ...and the commands ran as root through sudo, which the agent found in the guest (command -v sudo || command -v doas)...
    expect(job.events.filter((e) => e.step === 'install-agent')[0].message).toBe('the commands run as root through sudo');
    // ...the first printing who it ran as and for whom.
    const done = job.events.filter((e) => e.step === 'install-agent' && /^command \d\/4 done \(exit 0\)/.test(e.message));
    expect(done).toHaveLength(4);
    expect(done[0].message).toBe('command 1/4 done (exit 0): echo "as $(id -un), uid $(id -u), for ${SUDO_USER:-nobody}"\nas root, uid 0, for sysfleet-ops');
    expect(done[2].message).toMatch(new RegExp(`\n/tmp/${PREFIX}-ops1/agent\\.cjs: OK$`));
    // What the commands made belongs to root, not to the user who logged in.
    expect(execFileSync('stat', ['-c', '%U', `/tmp/${PREFIX}-ops1/agent.cjs`], { encoding: 'utf8' }).trim()).toBe('root');
    await expectLinked('kvm', 'ops1');
  });

  it('a bad checksum fails verify-image and leaves nothing', async () => {
    await addDistribution('kvm-bad', 'kvm', { sha256: 'f'.repeat(64) });
    const job = await runJob(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'bad1', 'kvm-bad'));
    expect(job).toMatchObject({ status: 'failed', failedStep: 'verify-image' });
    expect(job.error).toMatch(/checksum mismatch/);
    await expectNothingLeft('bad1');
  });

  it('SSH that never comes up fails wait-ssh after the bounded retries and removes the domain, overlay and seed', async () => {
    configureSimulation(simDir('kvm'), { guestIp: '127.0.0.1' });
    try {
      const job = await runJob(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'nossh1'));
      expect(job).toMatchObject({ status: 'failed', failedStep: 'wait-ssh' });
      expect(job.error).toMatch(/did not come up after 3 attempts/);
      expect(job.events.find((e) => e.step === 'cleanup')?.message).toMatch(/removed domain nossh1.*overlay/);
    } finally {
      configureSimulation(simDir('kvm'), { guestIp: sshd.host });
    }
    await expectNothingLeft('nossh1');
  });

  it('a failing install command names the command and cleans up', async () => {
    await addDistribution('kvm-failing', 'kvm', { installCommands: ['true', 'echo broken-mirror >&2; exit 7'] });
    const job = await runJob(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'fail1', 'kvm-failing'));
    expect(job).toMatchObject({ status: 'failed', failedStep: 'install-agent' });
    expect(job.error).toMatch(/install command 2\/2 failed \(exit 7\): echo broken-mirror/);
    expect(job.error).toMatch(/broken-mirror/);
    // Without keepOnFailure the job says it took everything back.
    expect(job.error).toMatch(/\(everything it made was removed\)$/);
    expect(job.events.find((e) => e.step === 'cleanup')?.message).toMatch(/^removed domain fail1, seed .*, overlay .*, directory /);
    await expectNothingLeft('fail1');
  });

  it('with keepOnFailure a failing install command leaves the domain, overlay and seed, and says so; deleting with disk then removes them', async () => {
    const job = await runJob(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'keep1', 'kvm-failing', { keepOnFailure: true }));
    expect(job).toMatchObject({ status: 'failed', failedStep: 'install-agent' });
    const dir = path.join(simDir('kvm'), 'root/var/lib/libvirt/images/sysfleet/keep1');
    // The job's error names the failed command and what was left where.
    expect(job.error).toMatch(/^install command 2\/2 failed \(exit 7\): echo broken-mirror/);
    expect(job.error).toContain('; left on the host: ');
    expect(job.error).toContain(`overlay ${dir}/disk.qcow2`);
    expect(job.error).toContain(`seed ${dir}/seed.iso`);
    expect(job.error).toMatch(/domain keep1$/);
    const cleanup = job.events.filter((e) => e.step === 'cleanup');
    expect(cleanup).toHaveLength(1);
    expect(cleanup[0].message).toMatch(/^kept for debugging \(keepOnFailure\): .*domain keep1$/);
    expect(cleanup[0].message).not.toMatch(/removed/);
    // All of it is really there on the host, the domain still running for a look inside.
    expect(readSimState(simDir('kvm')).machines.find((m) => m.name === 'keep1')?.state).toBe('running');
    const env = { ...process.env, ...simulationEnvironment('kvm', simDir('kvm')).env };
    expect(execFileSync('virsh', ['list', '--all'], { env, encoding: 'utf8' })).toMatch(/ keep1 +running/);
    expect(existsSync(path.join(dir, 'disk.qcow2'))).toBe(true);
    expect(existsSync(path.join(dir, 'seed.iso'))).toBe(true);
    // The parent's children list keeps the row as an error that says it was kept.
    const row = await waitFor('keep1 in error', async () => (await children('kvm')).find((c) => c.name === 'keep1' && c.state === 'error'), 15_000, 200);
    expect(row.error).toMatch(/install command 2\/2 failed.*kept for debugging: .*domain keep1/s);

    const del = await api.delete(`/api/hosts/${hosts.kvm!.hostId}/children/${row.id}?deleteDisk=true`);
    expect(del.status).toBe(202);
    expect((await waitJob(del.body.id)).status).toBe('succeeded');
    await expectNothingLeft('keep1');
  });

  async function expectNothingLeft(name: string): Promise<void> {
    expect(readSimState(simDir('kvm')).machines.map((m) => m.name)).not.toContain(name);
    const list = execFileSync('virsh', ['list', '--all'], { env: { ...process.env, ...simulationEnvironment('kvm', simDir('kvm')).env }, encoding: 'utf8' });
    expect(list).not.toContain(name);
    expect(existsSync(path.join(simDir('kvm'), 'root/var/lib/libvirt/images/sysfleet', name))).toBe(false);
    expect(existsSync(path.join(hosts.kvm!.agent.stateDir, 'guest-keys', name))).toBe(false);
    await waitFor(`${name} row gone`, async () => !(await children('kvm')).some((c) => c.name === name), 15_000, 200);
  }

  it('refuses before any job: not enough memory, a duplicate name, and one of two parallel creates of one name', async () => {
    const jobsBefore = (await api.get('/api/jobs', { hostId: hosts.kvm!.hostId })).body.total;
    const big = await api.post(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'big1', 'kvm-test', { memoryMb: 4 * 1024 * 1024 }));
    expect(big.status).toBeGreaterThanOrEqual(400);
    expect(big.status).toBeLessThan(500);
    expect(big.body.message).toMatch(/memory/i);
    const dup = await api.post(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'web1'));
    expect(dup.status).toBe(409);
    expect((await api.get('/api/jobs', { hostId: hosts.kvm!.hostId })).body.total).toBe(jobsBefore);

    const [a, b] = await Promise.all([1, 2].map(() => api.post(`/api/hosts/${hosts.kvm!.hostId}/children`, createBody('kvm', 'twin1', 'kvm-failing'))));
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    await waitJob((a.status === 202 ? a : b).body.id);
    await expectNothingLeft('twin1');
  });

  it('start, stop, force stop, restart and delete with disk, each seen in the simulated host', async () => {
    const web1 = (await children('kvm')).find((c) => c.name === 'web1')!;
    const base = `/api/hosts/${hosts.kvm!.hostId}/children/${web1.id}`;
    const domain = () => readSimState(simDir('kvm')).machines.find((m) => m.name === 'web1');
    expect((await runJob(`${base}/stop`, { force: false })).status).toBe('succeeded');
    expect(domain()?.state).toBe('shut off');
    expect((await runJob(`${base}/start`)).status).toBe('succeeded');
    expect(domain()?.state).toBe('running');
    expect((await runJob(`${base}/stop`, { force: true })).status).toBe('succeeded');
    expect(domain()?.state).toBe('shut off');
    await waitFor('stopped in the API', async () => (await children('kvm')).find((c) => c.name === 'web1')?.state === 'stopped', 10_000, 200);
    expect((await runJob(`${base}/restart`)).status).toBe('succeeded');
    expect(domain()?.state).toBe('running');

    const del = await api.delete(`${base}?deleteDisk=true`);
    expect(del.status).toBe(202);
    expect((await waitJob(del.body.id)).status).toBe('succeeded');
    expect(domain()).toBeUndefined();
    expect(existsSync(path.join(simDir('kvm'), 'root/var/lib/libvirt/images/sysfleet/web1'))).toBe(false);
    await waitFor('web1 forgotten', async () => !(await children('kvm')).some((c) => c.name === 'web1'), 10_000, 200);
    expect((await api.get(`/api/hosts/${web1.childHostId}`)).status).toBe(404);
  });

  it('reconciles: a VM made behind the server\'s back appears, one removed behind its back is marked gone', async () => {
    const env = { ...process.env, ...simulationEnvironment('kvm', simDir('kvm')).env };
    const disk = path.join(simDir('kvm'), 'handmade.qcow2');
    execFileSync('qemu-img', ['create', '-f', 'qcow2', disk, '1G'], { env });
    execFileSync('virt-install', ['--import', '--name', 'handmade', '--memory', '512', '--vcpus', '1', '--disk', `path=${disk}`, '--network', 'network=default', '--osinfo', 'debian12', '--noautoconsole'], { env });
    // The agent reports its VMs (child.list) whenever it connects: reconnect it.
    await hosts.kvm!.agent.restart();
    const handmade = await waitFor('handmade listed', async () => (await children('kvm')).find((c) => c.name === 'handmade'), 30_000, 300);
    expect(handmade.state).toBe('running');
    execFileSync('virsh', ['destroy', 'handmade'], { env });
    execFileSync('virsh', ['undefine', 'handmade', '--remove-all-storage'], { env });
    expect(existsSync(disk)).toBe(false);
    await hosts.kvm!.agent.restart();
    await waitFor('handmade gone', async () => (await children('kvm')).find((c) => c.name === 'handmade' && c.state === 'gone'), 30_000, 300);
  });

  it('creates an OpenBSD vmd child: disk, install media, unattended install, restart from disk, SSH as root, linked', async () => {
    const job = await runJob(`/api/hosts/${hosts.vmm!.hostId}/children`, createBody('vmm', 'bsd1', 'openbsd-e2e'));
    expect(job).toMatchObject({ status: 'succeeded' });
    expect(agentSteps(job)).toEqual(['validate', 'fetch-image', 'verify-image', 'disk', 'install-media', 'install', 'vm-conf', 'boot', 'ip', 'wait-ssh', 'install-agent', 'enrol']);
    expect(job.events.find((e) => e.step === 'install' && /halted/.test(e.message))?.message).toMatch(/fetched \/fe:e1:ba:d0:[0-9a-f:]{5}-install\.conf$/);
    expect(readFileSync(path.join(simDir('vmm'), 'root/etc/vm.conf'), 'utf8')).toMatch(/# BEGIN sysfleet\n(.*\n)*vm "bsd1" \{\n\tdisable\n\tmemory 256M\n\tdisk "[^"]+\/bsd1\/disk\.qcow2"\n\tlocal interface\n\}\n(.*\n)*# END sysfleet\n/);
    expect(readSimState(simDir('vmm')).machines.find((m) => m.name === 'bsd1')?.state).toBe('running');
    await expectLinked('vmm', 'bsd1');
  });

  it('creates a Debian cloud-image vmd child: derived disk, cidata seed, boot, SSH, linked', async () => {
    const job = await runJob(`/api/hosts/${hosts.vmm!.hostId}/children`, createBody('vmm', 'deb2'));
    expect(job).toMatchObject({ status: 'succeeded' });
    expect(agentSteps(job)).toEqual(['validate', 'fetch-image', 'verify-image', 'disk', 'seed', 'vm-conf', 'boot', 'ip', 'wait-ssh', 'install-agent', 'enrol']);
    await expectLinked('vmm', 'deb2');
    expect((await children('vmm')).map((c) => [c.name, c.state]).sort()).toEqual([['bsd1', 'running'], ['deb2', 'running']]);
  });

  it('vmd: a stopped child stays defined and starts again by name; delete with disk removes its vm.conf stanza', async () => {
    const bsd1 = (await children('vmm')).find((c) => c.name === 'bsd1')!;
    const base = `/api/hosts/${hosts.vmm!.hostId}/children/${bsd1.id}`;
    const vm = () => readSimState(simDir('vmm')).machines.find((m) => m.name === 'bsd1');
    const vmConf = () => readFileSync(path.join(simDir('vmm'), 'root/etc/vm.conf'), 'utf8');
    const status = () => execFileSync('vmctl', ['status'], { env: { ...process.env, ...simulationEnvironment('vmm', simDir('vmm')).env }, encoding: 'utf8' });
    expect((await runJob(`${base}/stop`, { force: false })).status).toBe('succeeded');
    expect(vm()?.state).toBe('shut off');
    expect(status()).toMatch(/ stopped bsd1\n/);
    await waitFor('stopped in the API', async () => (await children('vmm')).find((c) => c.name === 'bsd1')?.state === 'stopped', 10_000, 200);
    const start = await runJob(`${base}/start`);
    expect(start.status).toBe('succeeded');
    expect(vm()?.state).toBe('running');
    expect(status()).toMatch(/ running bsd1\n/);

    const del = await api.delete(`${base}?deleteDisk=true`);
    expect(del.status).toBe(202);
    expect((await waitJob(del.body.id)).status).toBe('succeeded');
    expect(vmConf()).not.toMatch(/vm "bsd1"/);
    expect(vmConf()).toMatch(/vm "deb2" \{/);
    expect(status()).not.toMatch(/bsd1/);
    expect(existsSync(path.join(simDir('vmm'), 'root/var/vmm/sysfleet/bsd1'))).toBe(false);
    await waitFor('bsd1 forgotten', async () => !(await children('vmm')).some((c) => c.name === 'bsd1'), 10_000, 200);
  });

  it('vmd: force stop powers the VM off at once; restart starts a stopped VM and stops then starts a running one', async () => {
    const deb2 = (await children('vmm')).find((c) => c.name === 'deb2')!;
    const base = `/api/hosts/${hosts.vmm!.hostId}/children/${deb2.id}`;
    const vm = () => readSimState(simDir('vmm')).machines.find((m) => m.name === 'deb2');
    const status = () => execFileSync('vmctl', ['status'], { env: { ...process.env, ...simulationEnvironment('vmm', simDir('vmm')).env }, encoding: 'utf8' });
    const calls = recordCalls('vmm');
    expect(vm()?.state).toBe('running');

    const stop = await runJob(`${base}/stop`, { force: true });
    expect(stop.status).toBe('succeeded');
    expect(stop.events.some((e) => e.step === 'stop' && e.message === 'vmctl stop -f deb2')).toBe(true);
    expect(calls()).toContain('vmctl stop -f deb2');
    expect(vm()?.state).toBe('shut off');
    // Stopped, and still known to vmd (vm.conf defines it), not forgotten.
    expect(status()).toMatch(/ stopped deb2\n/);
    await expectState('vmm', 'deb2', 'stopped');

    const fromStopped = await runJob(`${base}/restart`);
    expect(fromStopped.status).toBe('succeeded');
    expect(vm()?.state).toBe('running');
    expect(status()).toMatch(/ running deb2\n/);
    await expectState('vmm', 'deb2', 'running');

    const mark = calls().length;
    const fromRunning = await runJob(`${base}/restart`);
    expect(fromRunning.status).toBe('succeeded');
    expect(calls().slice(mark).filter((c) => /^vmctl (stop|start)/.test(c))).toEqual(['vmctl stop -w deb2', 'vmctl start deb2']);
    expect(vm()?.state).toBe('running');
    expect(status()).toMatch(/ running deb2\n/);
    await expectState('vmm', 'deb2', 'running');
  });

  it('creates a WSL child through wsl.exe with no SSH, linked', async () => {
    const job = await runJob(`/api/hosts/${hosts.wsl!.hostId}/children`, createBody('wsl', 'deb1'));
    expect(job).toMatchObject({ status: 'succeeded' });
    expect(agentSteps(job)).toEqual(['validate', 'install', 'user', 'install-agent', 'enrol']);
    // Each command reports its exit status and the tail of its output, as over SSH; the token never shows.
    const done = job.events.filter((e) => e.step === 'install-agent' && /^command \d\/3 done \(exit 0\)/.test(e.message));
    expect(done).toHaveLength(3);
    expect(done[1].message).toMatch(new RegExp(`\n/tmp/${PREFIX}-deb1/agent\\.cjs: OK$`));
    expect(job.events.some((e) => /sfe_[A-Za-z0-9_-]{43}/.test(e.message))).toBe(false);
    await expectLinked('wsl', 'deb1');
    await expectState('wsl', 'deb1', 'running');
  });

  it('WSL: stop terminates the distribution, start and restart run it again, each seen in wsl.exe and the API', async () => {
    const deb1 = (await children('wsl')).find((c) => c.name === 'deb1')!;
    const base = `/api/hosts/${hosts.wsl!.hostId}/children/${deb1.id}`;
    const distro = () => readSimState(simDir('wsl')).machines.find((m) => m.name === 'deb1');
    const calls = recordCalls('wsl');

    const stop = await runJob(`${base}/stop`, { force: false });
    expect(stop.status).toBe('succeeded');
    expect(calls()).toContain('wsl.exe --terminate deb1');
    expect(distro()?.state).toBe('shut off');
    await expectState('wsl', 'deb1', 'stopped');

    const start = await runJob(`${base}/start`);
    expect(start.status).toBe('succeeded');
    expect(calls()).toContain('wsl.exe -d deb1 -u root -- true');
    expect(distro()?.state).toBe('running');
    await expectState('wsl', 'deb1', 'running');

    const mark = calls().length;
    const restart = await runJob(`${base}/restart`);
    expect(restart.status).toBe('succeeded');
    expect(calls().slice(mark).filter((c) => /--terminate|-- true$/.test(c))).toEqual(['wsl.exe --terminate deb1', 'wsl.exe -d deb1 -u root -- true']);
    expect(distro()?.state).toBe('running');
    await expectState('wsl', 'deb1', 'running');
  });

  it('deleting a WSL child unregisters it', async () => {
    const deb1 = (await children('wsl')).find((c) => c.name === 'deb1')!;
    const del = await api.delete(`/api/hosts/${hosts.wsl!.hostId}/children/${deb1.id}?deleteDisk=true`);
    expect((await waitJob(del.body.id)).status).toBe('succeeded');
    expect(readSimState(simDir('wsl')).machines.map((m) => m.name)).not.toContain('deb1');
  });
});
