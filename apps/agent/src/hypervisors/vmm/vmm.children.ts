import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildCreateParams, ChildCreateResult, ChildInfo, ChildVmState } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { SeedInputError } from '../../provisioning/cloud-init';
import { installAgentOverSsh } from '../../provisioning/install-agent';
import { GuestKeyStore } from '../../provisioning/keys';
import { renderOpenBsdInstallConf } from '../../provisioning/openbsd-install';
import { cachedImage, checkChildName, childTimings, sleep, withRollback } from '../children';
import { HostTools, hostPath, progress } from '../host';
import { parseArpTable, parseTapDescriptions, parseVmctlStatus, scaledToMb } from './parsers';

/** Where a vmd child's files live: `<dir>/<name>/` (disk.qcow2, install.conf); SYSFLEET_VMD_VM_DIR moves it. */
export function vmdVmDir(env: NodeJS.ProcessEnv): string {
  return env.SYSFLEET_VMD_VM_DIR ?? hostPath('/var/vmm/sysfleet', env);
}

function vmState(state: string): ChildVmState {
  if (state === 'running' || state === 'stopping') return 'running';
  if (state === 'paused') return 'paused';
  if (state === 'stopped') return 'stopped';
  return 'creating';
}

/**
 * vmd children: `vmctl create` disk -> install media fetched and verified -> `vmctl start -r` with an
 * autoinstall(8) response file -> the installer halts -> start from disk -> IP -> SSH as root.
 */
export class VmmChildren {
  constructor(private readonly tools: HostTools, private readonly env: NodeJS.ProcessEnv, private readonly stateDir: string) {}

  private vmctl(step: string, args: string[], signal?: AbortSignal) {
    return this.tools.step(step, 'vmctl', args, { signal });
  }

  async list(): Promise<ChildInfo[] | null> {
    const r = await this.tools.probe('vmctl', ['status']);
    if (!r || r.code !== 0) return null;
    const out: ChildInfo[] = [];
    for (const vm of parseVmctlStatus(r.stdout)) {
      const info: ChildInfo = { name: vm.name, childType: 'vmm', state: vmState(vm.state), vcpus: vm.vcpus, memoryMb: scaledToMb(vm.maxMem), ...(vm.tty ? { details: `console ${vm.tty}` } : {}) };
      if (info.state === 'running') {
        const ip = await this.guestIp(vm.id, vm.name);
        if (ip) info.ip = ip;
      }
      out.push(info);
    }
    return out;
  }

  /**
   * vmd names a VM's tap interface "vm<id>-if0-<name>" (its description); the guest's address is the
   * ARP entry on that tap (with -L, vmd's DHCP hands out 100.64.<n>.3).
   */
  private async guestIp(id: number, name: string): Promise<string | undefined> {
    const taps = await this.tools.probe('ifconfig', ['tap']);
    if (!taps || taps.code !== 0) return undefined;
    const tap = parseTapDescriptions(taps.stdout).find((t) => t.description === `vm${id}-if0-${name}`)?.name;
    if (!tap) return undefined;
    const arp = await this.tools.probe('arp', ['-an']);
    if (!arp || arp.code !== 0) return undefined;
    return parseArpTable(arp.stdout).find((e) => e.netif === tap)?.host;
  }

  async info(name: string): Promise<ChildInfo | undefined> {
    return (await this.list())?.find((c) => c.name === name);
  }

  private async mustExist(name: string, step: string): Promise<ChildInfo> {
    const info = await this.info(checkChildName(name));
    if (!info) throw new StepError(step, `there is no VM named ${name} on this host`);
    return info;
  }

  async start(name: string, ctx: JobContext): Promise<ChildInfo> {
    const before = await this.mustExist(name, 'start');
    if (before.state === 'running') await progress(ctx, 'start', `${name} is already running`, 90);
    else await this.vmctl('start', ['start', name], ctx.signal);
    return this.mustExist(name, 'start');
  }

  async stop(name: string, force: boolean, ctx: JobContext): Promise<ChildInfo | undefined> {
    const before = await this.info(checkChildName(name));
    if (!before) return undefined;
    if (before.state === 'stopped') await progress(ctx, 'stop', `${name} is already stopped`, 90);
    else {
      await progress(ctx, 'stop', `vmctl stop ${force ? '-f ' : ''}${name}`, 20);
      await this.vmctl('stop', ['stop', ...(force ? ['-f'] : []), name], ctx.signal);
    }
    return this.info(name);
  }

  async restart(name: string, ctx: JobContext): Promise<ChildInfo> {
    const before = await this.mustExist(name, 'restart');
    if (before.state === 'running') await this.vmctl('restart', ['stop', '-w', name], ctx.signal);
    await this.vmctl('restart', ['start', name], ctx.signal);
    await progress(ctx, 'restart', `${name} restarted`, 90);
    return this.mustExist(name, 'restart');
  }

  async delete(name: string, deleteDisk: boolean, ctx: JobContext): Promise<void> {
    const before = await this.info(checkChildName(name));
    if (before) {
      // A VM started with vmctl (not in vm.conf) is forgotten by vmd once it stops.
      if (before.state !== 'stopped') await this.vmctl('delete', ['stop', '-f', name], ctx.signal);
      await progress(ctx, 'delete', `VM ${name} stopped`, 60);
    }
    if (deleteDisk) {
      await rm(join(vmdVmDir(this.env), name), { recursive: true, force: true });
      new GuestKeyStore(this.stateDir).delete(name);
      await progress(ctx, 'delete', `removed ${join(vmdVmDir(this.env), name)} and the one-off key`, 90);
    }
  }

  async create(p: ChildCreateParams, ctx: JobContext): Promise<ChildCreateResult> {
    const name = checkChildName(p.name);
    const timings = childTimings(this.env);
    const dist = p.distribution;
    await progress(ctx, 'validate', `creating vmd guest ${name} from ${dist.name} ${dist.version}`, 2);
    const existing = await this.list();
    if (existing === null) throw new StepError('validate', 'vmd is not running on this host', { cleanedUp: true });
    if (existing.some((c) => c.name === name)) throw new StepError('validate', `a VM named ${name} already exists`, { cleanedUp: true });
    if (dist.appliance) throw new StepError('validate', 'appliances are imported on KVM only', { cleanedUp: true });

    return withRollback(ctx, p.keepOnFailure, async (made) => {
      const media = await cachedImage(this.stateDir, dist, ctx, { fetch: 5, verify: 15 });
      const dir = join(vmdVmDir(this.env), name);
      const disk = join(dir, 'disk.qcow2');
      await mkdir(dir, { recursive: true, mode: 0o750 });
      made.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
      await progress(ctx, 'disk', `vmctl create -s ${p.diskGb}G ${disk}`, 20);
      await this.vmctl('disk', ['create', '-s', `${p.diskGb}G`, disk], ctx.signal);
      made.add(`disk ${disk}`, () => rm(disk, { force: true }));

      const keys = new GuestKeyStore(this.stateDir);
      const key = keys.ensure(name);
      made.add(`one-off SSH key ${keys.fileOf(name)}`, async () => keys.delete(name));
      const sets = new URL(dist.imageUrl ?? 'https://cdn.openbsd.org/');
      let conf: string;
      try {
        // OpenBSD takes only bcrypt password hashes: a SHA-512 one is not applied (key login only).
        conf = renderOpenBsdInstallConf({
          hostname: p.hostname, rootPublicKey: key.publicKey, username: p.username === 'root' ? undefined : p.username,
          userPublicKey: p.sshPublicKeys[0], setsServer: sets.host, setsDirectory: `pub/OpenBSD/${dist.version}/amd64`,
        });
      } catch (e) {
        if (e instanceof SeedInputError) throw new StepError('install-media', e.message);
        throw e;
      }
      await writeFile(join(dir, 'install.conf'), conf, { mode: 0o644 });
      await progress(ctx, 'install-media', `install media ${media} and autoinstall response file ${join(dir, 'install.conf')}`, 25);

      const common = ['-m', `${p.memoryMb}M`, '-L', '-i', '1', '-d', disk];
      await this.vmctl('install', ['start', ...common, '-r', media, name], ctx.signal);
      made.add(`VM ${name}`, async () => {
        await this.tools.probe('vmctl', ['stop', '-f', name]);
      });
      await progress(ctx, 'install', `unattended install of ${name} running`, 30);
      const deadline = Date.now() + timings.installTimeoutMs;
      for (;;) {
        const vm = await this.info(name);
        if (vm?.state === 'stopped') break;
        if (Date.now() > deadline) throw new StepError('install', `the unattended install of ${name} did not finish within ${Math.round(timings.installTimeoutMs / 1000)} s`);
        await sleep(timings.ipIntervalMs, ctx.signal);
      }
      await progress(ctx, 'install', 'installer finished and halted', 40);
      await this.vmctl('boot', ['start', name], ctx.signal);
      await progress(ctx, 'boot', `${name} restarted from its disk`, 45);

      let ip: string | undefined;
      for (let attempt = 1; attempt <= timings.ipAttempts && !ip; attempt++) {
        ctx.throwIfCancelled();
        ip = (await this.info(name))?.ip;
        if (!ip && attempt < timings.ipAttempts) await sleep(timings.ipIntervalMs, ctx.signal);
      }
      if (!ip) throw new StepError('ip', `${name} has no address on its vmd local interface after ${timings.ipAttempts} tries`);
      await progress(ctx, 'ip', `${name} has address ${ip}`, 50);

      // install.conf gives root the one-off key: log in as root, no doas needed.
      await installAgentOverSsh(ctx, {
        host: ip, username: 'root', key, commands: dist.installCommands, secrets: p.agentInstall ? [p.agentInstall.enrollmentToken] : [],
        attempts: timings.sshAttempts, intervalMs: timings.sshIntervalMs, percentFrom: 55, percentTo: 95,
      });
      await progress(ctx, 'enrol', `agent installed in ${name}; it enrols with its single-use token`, 100);
      const children = (await this.list()) ?? [];
      const child = children.find((c) => c.name === name);
      if (!child) throw new StepError('boot', `${name} vanished after the install`);
      return { child, agentInstalled: dist.installCommands.length > 0, children };
    });
  }
}
