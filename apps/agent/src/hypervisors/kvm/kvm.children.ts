import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildCreateParams, ChildCreateResult, ChildInfo, ChildVmState } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { guestUserDefaults, renderNoCloudSeed, SeedInputError } from '../../provisioning/cloud-init';
import { installAgentOverSsh } from '../../provisioning/install-agent';
import { GuestKeyStore } from '../../provisioning/keys';
import { cachedImage, checkChildName, childTimings, sleep, withRollback } from '../children';
import { tail } from '../../run';
import { HostTools, hostPath, INSTALL_MS, progress } from '../host';
import { parseVirshDomifaddr, parseVirshDominfo, parseVirshList } from './parsers';

const URI = ['-c', 'qemu:///system'];

/**
 * Where a KVM child's files live: `<dir>/<name>/` holds disk.qcow2 (the overlay), seed.iso, user-data
 * and meta-data. Default /var/lib/libvirt/images/sysfleet (libvirt's own image directory, which the
 * qemu user and AppArmor profile may read); SYSFLEET_KVM_VM_DIR moves it.
 */
export function kvmVmDir(env: NodeJS.ProcessEnv): string {
  return env.SYSFLEET_KVM_VM_DIR ?? hostPath('/var/lib/libvirt/images/sysfleet', env);
}

function vmState(virshState: string): ChildVmState {
  if (['running', 'idle', 'blocked', 'in shutdown'].includes(virshState)) return 'running';
  if (['paused', 'pmsuspended'].includes(virshState)) return 'paused';
  if (virshState === 'shut off') return 'stopped';
  return 'error';
}

/** Short IDs in the first column of an `osinfo-query os` table (header and separator left out). */
export function parseOsinfoShortIds(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const separator = lines.findIndex((l) => /^-+\+/.test(l.trim()));
  if (separator < 0) return [];
  return lines.slice(separator + 1).map((l) => l.split('|')[0].trim()).filter(Boolean);
}

/** Generic profiles virt-install falls back to when the host's osinfo-db does not know the distribution, best first. */
export const OSINFO_FALLBACKS = ['linux2022', 'generic'] as const;

/**
 * The `--osinfo` id to give virt-install on this host. virt-install refuses an id its osinfo-db does
 * not know ("Unknown OS name"), as an older host's db does not know a newer release (ubuntu24.04 on
 * Debian 12): the id is looked up with `osinfo-query os short-id=<id>` first and, when the host does
 * not list it, replaced by the first generic profile it does (linux2022, else generic), saying so in
 * the job. Without osinfo-query (package libosinfo-bin) or when it fails, the id is passed unchecked.
 */
export async function resolveOsinfo(tools: HostTools, id: string, ctx: JobContext): Promise<string> {
  if (id === 'generic') return id;
  /** True / false: the host's db lists it or not; a string: why it could not be checked. */
  const lookUp = async (candidate: string): Promise<boolean | string> => {
    const r = await tools.probe('osinfo-query', ['os', `short-id=${candidate}`], { signal: ctx.signal });
    if (!r) return 'osinfo-query is not installed';
    if (r.code !== 0) return `osinfo-query os short-id=${candidate} exited with ${r.code}: ${tail(r.stderr || r.stdout, 300).trim() || '(no output)'}`;
    return parseOsinfoShortIds(r.stdout).includes(candidate);
  };
  const found = await lookUp(id);
  if (found === true) return id;
  if (typeof found === 'string') {
    await progress(ctx, 'define', `${found}: passing --osinfo ${id} to virt-install unchecked`, 33);
    return id;
  }
  // virt-install always takes "generic"; any other fallback must be in the host's db too.
  const fallback = (await lookUp(OSINFO_FALLBACKS[0])) === true ? OSINFO_FALLBACKS[0] : 'generic';
  await progress(ctx, 'define', `this host's osinfo-db does not know ${id} (osinfo-query os short-id=${id} lists nothing): using --osinfo ${fallback} instead; a newer osinfo-db gives the exact profile`, 33);
  return fallback;
}

/** KVM child VMs: cloud image -> qcow2 overlay -> cloud-init seed -> virt-install --import -> lease IP -> SSH install. */
export class KvmChildren {
  constructor(private readonly tools: HostTools, private readonly env: NodeJS.ProcessEnv, private readonly stateDir: string) {}

  private virsh(step: string, args: string[], signal?: AbortSignal) {
    return this.tools.step(step, 'virsh', [...URI, ...args], { signal });
  }

  async list(): Promise<ChildInfo[] | null> {
    const r = await this.tools.probe('virsh', [...URI, 'list', '--all']);
    if (!r || r.code !== 0) return null;
    const out: ChildInfo[] = [];
    for (const d of parseVirshList(r.stdout)) {
      const info = await this.info(d.name);
      if (info) out.push(info);
    }
    return out;
  }

  /** The VM as the tools show it; undefined when there is no such domain. */
  async info(name: string): Promise<ChildInfo | undefined> {
    const r = await this.tools.probe('virsh', [...URI, 'dominfo', name]);
    if (!r) throw new StepError('list', 'virsh is not installed on this host');
    if (r.code !== 0) {
      if (/failed to get domain|Domain not found/.test(r.stderr)) return undefined;
      throw new StepError('list', `virsh dominfo ${name}: ${r.stderr.trim()}`);
    }
    const d = parseVirshDominfo(r.stdout);
    const info: ChildInfo = { name: d.name, childType: 'kvm', state: vmState(d.state), vcpus: d.vcpus, memoryMb: Math.round(d.maxMemoryKiB / 1024) };
    if (info.state === 'running') {
      const ip = await this.leaseIp(name);
      if (ip) info.ip = ip;
    }
    return info;
  }

  private async leaseIp(name: string): Promise<string | undefined> {
    const r = await this.tools.probe('virsh', [...URI, 'domifaddr', name, '--source', 'lease']);
    if (!r || r.code !== 0) return undefined;
    return parseVirshDomifaddr(r.stdout).find((a) => a.protocol === 'ipv4')?.address;
  }

  private async mustExist(name: string, step: string): Promise<ChildInfo> {
    const info = await this.info(checkChildName(name));
    if (!info) throw new StepError(step, `there is no VM named ${name} on this host`);
    return info;
  }

  async start(name: string, ctx: JobContext): Promise<ChildInfo> {
    const before = await this.mustExist(name, 'start');
    if (before.state === 'running') await progress(ctx, 'start', `${name} is already running`, 90);
    else {
      await progress(ctx, 'start', `virsh start ${name}`, 20);
      await this.virsh('start', before.state === 'paused' ? ['resume', name] : ['start', name], ctx.signal);
    }
    return this.mustExist(name, 'start');
  }

  async stop(name: string, force: boolean, ctx: JobContext): Promise<ChildInfo | undefined> {
    const before = await this.info(checkChildName(name));
    if (!before) {
      await progress(ctx, 'stop', `there is no VM named ${name}: nothing to stop`, 100);
      return undefined;
    }
    if (before.state === 'stopped') await progress(ctx, 'stop', `${name} is already stopped`, 90);
    else {
      await progress(ctx, 'stop', force ? `virsh destroy ${name} (power off)` : `virsh shutdown ${name} (clean shutdown)`, 20);
      await this.virsh('stop', [force ? 'destroy' : 'shutdown', name], ctx.signal);
    }
    return this.info(name);
  }

  async restart(name: string, ctx: JobContext): Promise<ChildInfo> {
    const before = await this.mustExist(name, 'restart');
    await progress(ctx, 'restart', before.state === 'running' ? `virsh reboot ${name}` : `${name} is ${before.state}: virsh start ${name}`, 20);
    await this.virsh('restart', [before.state === 'running' ? 'reboot' : 'start', name], ctx.signal);
    return this.mustExist(name, 'restart');
  }

  async delete(name: string, deleteDisk: boolean, ctx: JobContext): Promise<void> {
    const before = await this.info(checkChildName(name));
    if (!before) await progress(ctx, 'delete', `there is no domain named ${name}`, 50);
    else {
      if (before.state !== 'stopped') await this.virsh('delete', ['destroy', name], ctx.signal);
      // --nvram: a UEFI domain's variable store goes with it (libvirt refuses to undefine it otherwise); BIOS domains have none.
      await this.virsh('delete', ['undefine', name, '--nvram', ...(deleteDisk ? ['--remove-all-storage'] : [])], ctx.signal);
      await progress(ctx, 'delete', `domain ${name} undefined${deleteDisk ? ' with its storage' : ' (disks kept)'}`, 60);
    }
    if (deleteDisk) {
      await rm(join(kvmVmDir(this.env), name), { recursive: true, force: true });
      new GuestKeyStore(this.stateDir).delete(name);
      await progress(ctx, 'delete', `removed ${join(kvmVmDir(this.env), name)} and the one-off key`, 90);
    }
  }

  async create(p: ChildCreateParams, ctx: JobContext): Promise<ChildCreateResult> {
    const name = checkChildName(p.name);
    const timings = childTimings(this.env);
    const dist = p.distribution;
    await progress(ctx, 'validate', `creating KVM guest ${name} from ${dist.name} ${dist.version}`, 2);
    const existing = await this.tools.step('validate', 'virsh', [...URI, 'list', '--all']);
    if (parseVirshList(existing.stdout).some((d) => d.name === name)) throw new StepError('validate', `a domain named ${name} already exists on this host`, { cleanedUp: true });
    const network = p.network?.mode === 'bridge' ? `bridge=${p.network.interface ?? ''}` : 'network=default';
    if (p.network?.mode === 'bridge' && !p.network.interface) throw new StepError('validate', 'bridge networking needs the host bridge interface', { cleanedUp: true });

    return withRollback(ctx, p.keepOnFailure, async (made) => {
      const image = await cachedImage(this.stateDir, dist, ctx, { fetch: 5, verify: 15 });

      const dir = join(kvmVmDir(this.env), name);
      const overlay = join(dir, 'disk.qcow2');
      await mkdir(dir, { recursive: true, mode: 0o750 });
      made.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
      await progress(ctx, 'overlay', `qcow2 overlay ${overlay} on ${image}, ${p.diskGb} GiB`, 20);
      await this.tools.step('overlay', 'qemu-img', ['create', '-f', 'qcow2', '-F', 'qcow2', '-b', image, overlay], { signal: ctx.signal });
      await this.tools.step('overlay', 'qemu-img', ['resize', overlay, `${p.diskGb}G`], { signal: ctx.signal });
      made.add(`overlay ${overlay}`, () => rm(overlay, { force: true }));

      const disks = ['--disk', `path=${overlay},format=qcow2,bus=virtio`];
      const keys = new GuestKeyStore(this.stateDir);
      let key;
      if (!dist.appliance) {
        key = keys.ensure(name);
        made.add(`one-off SSH key ${keys.fileOf(name)}`, async () => keys.delete(name));
        let seed;
        try {
          seed = renderNoCloudSeed({ instanceId: name, hostname: p.hostname, username: p.username, passwordHash: p.passwordHash, sshPublicKeys: p.sshPublicKeys, oneOffPublicKey: key.publicKey, ...guestUserDefaults(dist) });
        } catch (e) {
          if (e instanceof SeedInputError) throw new StepError('seed', e.message);
          throw e;
        }
        await writeFile(join(dir, 'user-data'), seed.userData, { mode: 0o600 });
        await writeFile(join(dir, 'meta-data'), seed.metaData, { mode: 0o644 });
        const iso = join(dir, 'seed.iso');
        await this.tools.step('seed', 'cloud-localds', [iso, join(dir, 'user-data'), join(dir, 'meta-data')], { signal: ctx.signal });
        made.add(`seed ${iso}`, () => rm(iso, { force: true }));
        disks.push('--disk', `path=${iso},device=cdrom`);
        await progress(ctx, 'seed', `cloud-init seed for ${p.username}@${p.hostname} with ${p.sshPublicKeys.length} operator key(s) and the one-off key ${key.fingerprint}`, 30);
      }

      ctx.throwIfCancelled();
      // UEFI: libvirt picks OVMF from the host's firmware descriptors (KVM initialise installs the package) and gives the domain its own NVRAM.
      const uefi = p.firmware === 'uefi';
      const osinfo = await resolveOsinfo(this.tools, dist.installIdentifier, ctx);
      await progress(ctx, 'define', `virt-install --import ${name}: ${p.vcpus} vCPU, ${p.memoryMb} MiB, ${network}${uefi ? ', UEFI firmware' : ''}`, 35);
      await this.tools.step('define', 'virt-install', [
        '--connect', 'qemu:///system', '--import', '--name', name, '--memory', String(p.memoryMb), '--vcpus', String(p.vcpus),
        ...disks, '--network', network, '--osinfo', osinfo, ...(uefi ? ['--boot', 'uefi'] : []), '--graphics', 'none', '--noautoconsole',
      ], { signal: ctx.signal, timeoutMs: INSTALL_MS });
      // No network lease to release here: the guest takes a dynamic lease (no static ip-dhcp-host
      // entry is added, so there is none for `virsh net-update ... delete`); libvirt cannot delete a
      // dynamic lease and dnsmasq frees it when it expires. See docs/children.md, "A failed create".
      made.add(`domain ${name}`, async () => {
        await this.tools.probe('virsh', [...URI, 'destroy', name]);
        await this.tools.step('cleanup', 'virsh', [...URI, 'undefine', name, '--nvram']);
      });
      await progress(ctx, 'define', `domain ${name} defined and started`, 40);

      if (dist.appliance) {
        await progress(ctx, 'enrol', 'appliance imported as it is: no agent to install', 100);
        return this.result(name, false);
      }

      let ip: string | undefined;
      for (let attempt = 1; attempt <= timings.ipAttempts && !ip; attempt++) {
        ctx.throwIfCancelled();
        ip = await this.leaseIp(name);
        if (!ip && attempt < timings.ipAttempts) await sleep(timings.ipIntervalMs, ctx.signal);
      }
      if (!ip) throw new StepError('ip', `${name} got no DHCP lease after ${timings.ipAttempts} tries (virsh domifaddr ${name} --source lease)`);
      await progress(ctx, 'ip', `${name} has address ${ip}`, 50);

      await installAgentOverSsh(ctx, {
        host: ip,
        username: p.username,
        // root needs no elevation (and a minimal image may have neither); others use sudo, or doas where there is no sudo (Alpine).
        elevate: p.username === 'root' ? undefined : 'auto',
        key: key!,
        commands: dist.installCommands,
        secrets: p.agentInstall ? [p.agentInstall.enrollmentToken] : [],
        attempts: timings.sshAttempts,
        intervalMs: timings.sshIntervalMs,
        percentFrom: 55,
        percentTo: 95,
      });
      await progress(ctx, 'enrol', `agent installed in ${name}; it enrols with its single-use token`, 100);
      return this.result(name, dist.installCommands.length > 0);
    });
  }

  private async result(name: string, agentInstalled: boolean): Promise<ChildCreateResult> {
    const child = await this.info(name);
    if (!child) throw new StepError('define', `${name} vanished right after it was created`);
    return { child, agentInstalled, children: (await this.list()) ?? [child] };
  }
}
