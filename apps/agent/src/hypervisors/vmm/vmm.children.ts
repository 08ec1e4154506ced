import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildCreateParams, ChildCreateResult, ChildInfo, ChildVmState } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { isAlpine, renderNoCloudSeed, SeedInputError } from '../../provisioning/cloud-init';
import { installAgentOverSsh } from '../../provisioning/install-agent';
import { GuestKeyStore } from '../../provisioning/keys';
import { renderOpenBsdInstallConf } from '../../provisioning/openbsd-install';
import { cachedImage, checkChildName, childTimings, CreatedResources, sleep, withRollback } from '../children';
import { HostTools, hostPath, progress } from '../host';
import { autoinstallPort, serveAutoinstall } from './autoinstall-server';
import { parseArpTable, parseTapDescriptions, parseVmctlStatus, scaledToMb } from './parsers';
import { childSwitch, readVmConfNetwork, VmConf } from './vm-conf';

/** Where a vmd child's files live: `<dir>/<name>/` (disk.qcow2, seed.iso); SYSFLEET_VMD_VM_DIR moves it. */
export function vmdVmDir(env: NodeJS.ProcessEnv): string {
  return env.SYSFLEET_VMD_VM_DIR ?? hostPath('/var/vmm/sysfleet', env);
}

/** OpenBSD guests are installed with autoinstall(8); every other vmd distribution is a cloud image. */
function isOpenBsd(installIdentifier: string): boolean {
  return /^openbsd/i.test(installIdentifier);
}

function vmState(state: string): ChildVmState {
  if (state === 'running' || state === 'stopping') return 'running';
  if (state === 'paused') return 'paused';
  if (state === 'stopped') return 'stopped';
  return 'creating';
}

/**
 * vmd children: `vmctl create` disk -> (OpenBSD: install media booted with the autoinstall(8) response
 * file served over HTTP -> the installer halts) -> a `vm` stanza in vm.conf, `vmd -n`, `vmctl reload`
 * -> `vmctl start NAME` -> IP -> SSH. Later starts and stops use the name: vm.conf keeps the VM defined.
 */
export class VmmChildren {
  private readonly vmConf: VmConf;

  constructor(private readonly tools: HostTools, private readonly env: NodeJS.ProcessEnv, private readonly stateDir: string) {
    this.vmConf = new VmConf(tools, env);
  }

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
    const before = await this.info(checkChildName(name));
    if (before?.state === 'running') await progress(ctx, 'start', `${name} is already running`, 90);
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
    if (before && before.state !== 'stopped') {
      await this.vmctl('delete', ['stop', '-f', name], ctx.signal);
      await progress(ctx, 'delete', `VM ${name} stopped`, 60);
    }
    // Without its stanza vmd forgets the stopped VM at the reload.
    await this.vmConf.defineVm(ctx, 'delete', name, null);
    if (deleteDisk) {
      await rm(join(vmdVmDir(this.env), name), { recursive: true, force: true });
      new GuestKeyStore(this.stateDir).delete(name);
      await progress(ctx, 'delete', `removed ${join(vmdVmDir(this.env), name)} and the one-off key`, 90);
    }
  }

  /**
   * OpenBSD: the install image is the first disk (the installer boots from it and installs onto sd1);
   * autoinstall(8) takes its answers from install.conf in the VM's directory, which the host serves to
   * the installer (see docs/hypervisors.md). The installer halts the VM when it is done.
   */
  private async autoinstall(p: ChildCreateParams, ctx: JobContext, v: { dir: string; disk: string; media: string; key: string; vmArgs: string[]; made: CreatedResources }): Promise<{ username: string }> {
    const timings = childTimings(this.env);
    const sets = new URL(p.distribution.imageUrl ?? 'https://cdn.openbsd.org/');
    let conf: string;
    try {
      // OpenBSD takes only bcrypt password hashes: a SHA-512 one is not applied (key login only).
      conf = renderOpenBsdInstallConf({
        hostname: p.hostname, rootPublicKey: v.key, username: p.username === 'root' ? undefined : p.username, userPublicKey: p.sshPublicKeys[0],
        setsServer: sets.host, setsDirectory: `pub/OpenBSD/${p.distribution.version}/amd64`, disk: 'sd1',
      });
    } catch (e) {
      if (e instanceof SeedInputError) throw new StepError('install-media', e.message);
      throw e;
    }
    // Served only while the installer runs: closed when it halts, fails or the job is cancelled.
    const served = await serveAutoinstall(conf, autoinstallPort(this.env));
    try {
      await progress(ctx, 'install-media', `install media ${v.media}; autoinstall response file served on port ${served.port}`, 25);
      // Not in vm.conf yet: the install boot has the media as its first disk, the later boots do not.
      await this.vmctl('install', ['start', ...v.vmArgs, '-d', v.media, '-d', v.disk, p.name], ctx.signal);
      v.made.add(`VM ${p.name}`, async () => void (await this.tools.probe('vmctl', ['stop', '-f', p.name])));
      await progress(ctx, 'install', `unattended install of ${p.name} running`, 30);
      const deadline = Date.now() + timings.installTimeoutMs;
      for (;;) {
        // The installer halts the VM at the end: vmd then forgets it (not in vm.conf yet).
        const vm = await this.info(p.name);
        if (!vm || vm.state === 'stopped') break;
        if (Date.now() > deadline) throw new StepError('install', `the unattended install of ${p.name} did not finish within ${Math.round(timings.installTimeoutMs / 1000)} s`);
        await sleep(timings.ipIntervalMs, ctx.signal);
      }
    } finally {
      await served.close();
    }
    const fetched = served.requests;
    await progress(ctx, 'install', `installer finished and halted; it fetched ${fetched.length ? fetched.join(', ') : 'no response file'}`, 40);
    // install.conf gives root the one-off key: log in as root, no doas needed.
    return { username: 'root' };
  }

  /** A cloud image (Debian, Ubuntu, Alpine): a NoCloud seed ISO labelled cidata (makefs), attached as the CD-ROM. */
  private async cloudImage(p: ChildCreateParams, ctx: JobContext, v: { dir: string; key: string; made: CreatedResources }): Promise<{ username: string; elevate?: 'auto' }> {
    let seed;
    try {
      seed = renderNoCloudSeed({ instanceId: p.name, hostname: p.hostname, username: p.username, passwordHash: p.passwordHash, sshPublicKeys: p.sshPublicKeys, oneOffPublicKey: v.key, shell: '/bin/sh', doas: isAlpine(p.distribution) });
    } catch (e) {
      if (e instanceof SeedInputError) throw new StepError('seed', e.message);
      throw e;
    }
    const seedDir = join(v.dir, 'cidata');
    await mkdir(seedDir, { recursive: true });
    await writeFile(join(seedDir, 'user-data'), seed.userData, { mode: 0o600 });
    await writeFile(join(seedDir, 'meta-data'), seed.metaData, { mode: 0o644 });
    const iso = join(v.dir, 'seed.iso');
    await this.tools.step('seed', 'makefs', ['-t', 'cd9660', '-o', 'label=cidata,rockridge', iso, seedDir], { signal: ctx.signal });
    v.made.add(`seed ${iso}`, () => rm(iso, { force: true }));
    await progress(ctx, 'seed', `cloud-init seed for ${p.username}@${p.hostname} with the one-off key`, 30);
    // sudo, or doas where the image has no sudo (Alpine): asked in the guest once SSH is up.
    return p.username === 'root' ? { username: 'root' } : { username: p.username, elevate: 'auto' };
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
      // A cloud image is the base of the VM's qcow2; an OpenBSD install image boots the installer onto an empty disk.
      const base = isOpenBsd(dist.installIdentifier) ? [] : ['-b', media];
      await progress(ctx, 'disk', `vmctl create ${base.join(' ')}${base.length ? ' ' : ''}-s ${p.diskGb}G ${disk}`, 20);
      await this.vmctl('disk', ['create', ...base, '-s', `${p.diskGb}G`, disk], ctx.signal);
      made.add(`disk ${disk}`, () => rm(disk, { force: true }));

      const keys = new GuestKeyStore(this.stateDir);
      const key = keys.ensure(name);
      made.add(`one-off SSH key ${keys.fileOf(name)}`, async () => keys.delete(name));
      const vmArgs = ['-m', `${p.memoryMb}M`, '-L', '-i', '1'];
      let login: { username: string; elevate?: 'auto' };
      if (isOpenBsd(dist.installIdentifier)) {
        login = await this.autoinstall(p, ctx, { dir, disk, media, key: key.publicKey, vmArgs, made });
      } else login = await this.cloudImage(p, ctx, { dir, key: key.publicKey, made });
      // The seed stays attached on later boots: cloud-init sees the same instance-id and does nothing again.
      const cdrom = isOpenBsd(dist.installIdentifier) ? undefined : join(dir, 'seed.iso');
      made.add(`vm.conf entry ${name}`, () => this.vmConf.undefineVm(name));
      // On a bridged or routed host the VM joins the sysfleet switch; on a local one it gets a local interface.
      const vmSwitch = childSwitch(readVmConfNetwork(await this.vmConf.read()));
      await this.vmConf.defineVm(ctx, 'vm-conf', name, { name, memoryMb: p.memoryMb, disk, cdrom, ...(vmSwitch ? { switch: vmSwitch } : {}) });
      await this.vmctl('boot', ['start', name], ctx.signal);
      if (!isOpenBsd(dist.installIdentifier)) made.add(`VM ${name}`, async () => void (await this.tools.probe('vmctl', ['stop', '-f', name])));
      await progress(ctx, 'boot', `${name} started from its disk`, 45);

      let ip: string | undefined;
      for (let attempt = 1; attempt <= timings.ipAttempts && !ip; attempt++) {
        ctx.throwIfCancelled();
        ip = (await this.info(name))?.ip;
        if (!ip && attempt < timings.ipAttempts) await sleep(timings.ipIntervalMs, ctx.signal);
      }
      if (!ip) throw new StepError('ip', `${name} has no address on its vmd local interface after ${timings.ipAttempts} tries`);
      await progress(ctx, 'ip', `${name} has address ${ip}`, 50);

      await installAgentOverSsh(ctx, {
        host: ip, ...login, key, commands: dist.installCommands, secrets: p.agentInstall ? [p.agentInstall.enrollmentToken] : [],
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
