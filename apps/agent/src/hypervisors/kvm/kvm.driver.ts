import type { ChildInfo } from '@sysfleet/protocol';
import { KvmChildren } from './kvm.children';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HypervisorNetwork, HypervisorStatus, VirtualizationConfigureNetworkParams } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { HostTools, hostEntryExists, hostFileExists, hostPath, hostPlatform, INSTALL_MS, netmaskPrefix, progress, readHostFile, subnetPlan, unavailableStatus } from '../host';
import { Hypervisor } from '../types';
import { cpuinfoHasVirtualization, parseNetworkXml, parseVirshNetList, parseVirshVersion } from './parsers';

/** libvirt's system instance: what the agent (root) manages, whatever LIBVIRT_DEFAULT_URI says. */
const URI = ['-c', 'qemu:///system'];
export const DEFAULT_NAT_NETWORK = 'default';
export const DEFAULT_NAT_SUBNET = '192.168.122.0/24';
/** Tools a KVM host needs for child VMs: virsh, virt-install, qemu-img, cloud-localds. */
const REQUIRED_TOOLS = ['virsh', 'virt-install', 'qemu-img', 'cloud-localds'];

/** OpenRC enables a service by linking it into a runlevel: `rc-update add libvirtd default` makes this link. */
const OPENRC_DEFAULT_RUNLEVEL_LINK = '/etc/runlevels/default/libvirtd';

type LibvirtdState = { init: 'systemd' | 'openrc' | 'none'; unit: boolean; enabled: boolean; running: boolean };

export type PackageManagerName = 'apt-get' | 'dnf' | 'zypper' | 'pacman' | 'apk';

/**
 * Each distribution family's package names for QEMU/KVM, libvirt (daemon + virsh), virt-install, qemu-img,
 * cloud-localds and OVMF (`ovmf`, also the last of `packages`): the UEFI firmware that UEFI-only images such
 * as Home Assistant OS boot with (virt-install --boot uefi).
 */
export const KVM_PACKAGES: Record<PackageManagerName, { packages: string[]; ovmf: string; install: (pkgs: string[]) => string[] }> = {
  'apt-get': { packages: ['qemu-kvm', 'libvirt-daemon-system', 'libvirt-clients', 'virtinst', 'qemu-utils', 'cloud-image-utils', 'ovmf'], ovmf: 'ovmf', install: (p) => ['install', '-y', ...p] },
  dnf: { packages: ['qemu-kvm', 'libvirt', 'virt-install', 'qemu-img', 'cloud-utils', 'edk2-ovmf'], ovmf: 'edk2-ovmf', install: (p) => ['install', '-y', ...p] },
  zypper: { packages: ['qemu-kvm', 'libvirt', 'virt-install', 'qemu-tools', 'cloud-utils', 'qemu-ovmf-x86_64'], ovmf: 'qemu-ovmf-x86_64', install: (p) => ['--non-interactive', 'install', ...p] },
  pacman: { packages: ['qemu-base', 'libvirt', 'virt-install', 'cloud-image-utils', 'dnsmasq', 'edk2-ovmf'], ovmf: 'edk2-ovmf', install: (p) => ['-S', '--noconfirm', '--needed', ...p] },
  apk: { packages: ['qemu-system-x86_64', 'qemu-img', 'libvirt-daemon', 'libvirt-client', 'virt-install', 'cloud-utils', 'ovmf'], ovmf: 'ovmf', install: (p) => ['add', ...p] },
};

/** QEMU firmware descriptors: libvirt picks the UEFI build for `--boot uefi` from these JSON files, which the OVMF packages install. */
export const FIRMWARE_DESCRIPTOR_DIR = '/usr/share/qemu/firmware';

/** True when some firmware descriptor is installed (what libvirt's UEFI autoselection reads). */
export function uefiFirmwareInstalled(env: NodeJS.ProcessEnv): boolean {
  try {
    return readdirSync(hostPath(FIRMWARE_DESCRIPTOR_DIR, env)).some((f) => f.endsWith('.json'));
  } catch {
    return false;
  }
}

function natNetworkXml(name: string, subnet: string): string {
  const plan = subnetPlan(subnet);
  return `<network>\n  <name>${name}</name>\n  <forward mode='nat'/>\n  <bridge stp='on' delay='0'/>\n  <ip address='${plan.gateway}' netmask='${plan.netmask}'>\n    <dhcp>\n      <range start='${plan.dhcpStart}' end='${plan.dhcpEnd}'/>\n    </dhcp>\n  </ip>\n</network>\n`;
}

function bridgeNetworkXml(name: string, bridge: string): string {
  return `<network>\n  <name>${name}</name>\n  <forward mode='bridge'/>\n  <bridge name='${bridge}'/>\n</network>\n`;
}

export class KvmDriver implements Hypervisor {
  readonly type = 'kvm' as const;
  private readonly tools: HostTools;

  readonly children: KvmChildren;

  /** `stateDir`: the agent's state dir (image cache, one-off guest keys); child operations need it. */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env, stateDir = env.SYSFLEET_STATE_DIR ?? '') {
    this.tools = new HostTools(env);
    this.children = new KvmChildren(this.tools, env, stateDir);
  }

  async listChildren(): Promise<ChildInfo[] | null> {
    return this.applies() ? this.children.list() : null;
  }

  applies(): boolean {
    return hostPlatform(this.env) === 'linux';
  }

  private async missingTools(): Promise<string[]> {
    const missing: string[] = [];
    for (const tool of REQUIRED_TOOLS) if (!(await this.tools.probe(tool, ['--version']))) missing.push(tool);
    return missing;
  }

  /**
   * libvirtd's state under the host's init system: systemd (systemctl), else OpenRC (rc-service, e.g.
   * Alpine), where "enabled" means it is in the default runlevel (/etc/runlevels/default/libvirtd).
   */
  private async libvirtd(): Promise<LibvirtdState> {
    const enabled = await this.tools.probe('systemctl', ['is-enabled', 'libvirtd']);
    if (enabled) {
      const active = await this.tools.probe('systemctl', ['is-active', 'libvirtd']);
      const unit = !/No such file|not found|does not exist/.test(enabled.stderr);
      return { init: 'systemd', unit, enabled: enabled.code === 0, running: active?.code === 0 };
    }
    const exists = await this.tools.probe('rc-service', ['--exists', 'libvirtd']);
    if (!exists) return { init: 'none', unit: false, enabled: false, running: false };
    if (exists.code !== 0) return { init: 'openrc', unit: false, enabled: false, running: false };
    const status = await this.tools.probe('rc-service', ['libvirtd', 'status']);
    return { init: 'openrc', unit: true, enabled: hostEntryExists(OPENRC_DEFAULT_RUNLEVEL_LINK, this.env), running: status?.code === 0 };
  }

  /** Enables libvirtd at boot and starts it now, with the host's init system. */
  private async enableLibvirtd(daemon: LibvirtdState, ctx: JobContext): Promise<string> {
    const step = 'enable-libvirtd';
    if (daemon.init === 'systemd') {
      await this.tools.step(step, 'systemctl', ['enable', '--now', 'libvirtd'], { signal: ctx.signal });
      return 'libvirtd enabled and started (systemctl enable --now libvirtd)';
    }
    if (daemon.init === 'openrc') {
      if (!daemon.enabled) await this.tools.step(step, 'rc-update', ['add', 'libvirtd', 'default'], { signal: ctx.signal });
      if (!daemon.running) await this.tools.step(step, 'rc-service', ['libvirtd', 'start'], { signal: ctx.signal });
      const after = await this.libvirtd();
      if (!after.enabled || !after.running) throw new StepError(step, `libvirtd is still ${after.enabled ? 'enabled' : 'not in the default runlevel'} and ${after.running ? 'running' : 'stopped'} after rc-update / rc-service`);
      return 'libvirtd added to the default runlevel and started (OpenRC)';
    }
    throw new StepError(step, 'cannot enable libvirtd: the host has neither systemctl (systemd) nor rc-service (OpenRC)');
  }

  private async networks(): Promise<HypervisorNetwork[]> {
    const list = await this.tools.step('detect', 'virsh', [...URI, 'net-list', '--all']);
    const out: HypervisorNetwork[] = [];
    for (const n of parseVirshNetList(list.stdout)) {
      const def = parseNetworkXml((await this.tools.step('detect', 'virsh', [...URI, 'net-dumpxml', n.name])).stdout);
      const mode = (['nat', 'bridge', 'route', 'open', 'isolated'] as const).find((m) => m === def.forward) ?? 'isolated';
      out.push({
        name: n.name, active: n.active, autostart: n.autostart, mode,
        ...(def.bridge ? { bridge: def.bridge } : {}),
        ...(def.ipAddress && def.netmask ? { subnet: subnetPlan(`${def.ipAddress}/${netmaskPrefix(def.netmask)}`).network + `/${netmaskPrefix(def.netmask)}` } : {}),
      });
    }
    return out;
  }

  async detect(): Promise<HypervisorStatus> {
    const platform = hostPlatform(this.env);
    if (platform !== 'linux') return unavailableStatus('kvm', 'Linux', platform);
    const details: string[] = [];
    const cpuinfo = readHostFile('/proc/cpuinfo', this.env);
    const cpuSupported = cpuinfo !== null && cpuinfoHasVirtualization(cpuinfo);
    const kernelSupported = hostFileExists('/dev/kvm', this.env);
    if (!cpuSupported) details.push('the CPU shows no vmx/svm flag: enable Intel VT-x / AMD-V in the BIOS (or nested virtualisation on a VM)');
    if (!kernelSupported) details.push('/dev/kvm is missing: the kvm_intel / kvm_amd module is not loaded');
    const missing = await this.missingTools();
    const daemon = await this.libvirtd();
    const installed = missing.length === 0 && daemon.unit;
    if (missing.length) details.push(`missing tools: ${missing.join(', ')}`);
    if (!daemon.unit) details.push('libvirtd is not installed');
    else if (!daemon.enabled || !daemon.running) details.push(`libvirtd is ${daemon.enabled ? 'enabled' : 'disabled'} and ${daemon.running ? 'running' : 'stopped'}`);
    let version: string | null = null;
    let networks: HypervisorNetwork[] = [];
    if (installed && daemon.running) {
      const v = parseVirshVersion((await this.tools.step('detect', 'virsh', [...URI, 'version'])).stdout);
      version = `${v.library}, ${v.hypervisor}`;
      networks = await this.networks();
      if (!networks.some((n) => n.active && n.autostart)) details.push('no libvirt network is active and autostarted');
    } else if (!missing.includes('virsh')) {
      const v = await this.tools.probe('virsh', ['--version']);
      if (v?.code === 0) version = `libvirt ${v.stdout.trim()}`;
    }
    // Not part of "initialised": BIOS guests run without it; initialise again installs it.
    if (installed && !uefiFirmwareInstalled(this.env)) details.push(`no UEFI firmware (OVMF) in ${FIRMWARE_DESCRIPTOR_DIR}: UEFI guests such as Home Assistant OS cannot boot until KVM is initialised again`);
    const initialized = installed && daemon.enabled && daemon.running && cpuSupported && kernelSupported && networks.some((n) => n.active && n.autostart);
    return {
      type: 'kvm', available: true, installed, enabled: daemon.enabled, running: daemon.running, initialized, cpuSupported, kernelSupported,
      needsInstall: !installed, needsEnable: installed && !(daemon.enabled && daemon.running), needsReboot: false,
      version, networks, details,
    };
  }

  private async packageManager(): Promise<PackageManagerName> {
    for (const pm of Object.keys(KVM_PACKAGES) as PackageManagerName[]) if (await this.tools.probe(pm, ['--version'])) return pm;
    throw new StepError('install-packages', 'no supported package manager found (apt-get, dnf, zypper, pacman, apk)');
  }

  /** `done`, plus a warning when the OVMF package left no firmware descriptor (UEFI guests would not boot; BIOS ones do). */
  private firmwareNote(done: string, pm: PackageManagerName, ovmf: string): string {
    return uefiFirmwareInstalled(this.env) ? done : `${done}; warning: ${pm} installed ${ovmf} but ${FIRMWARE_DESCRIPTOR_DIR} has no firmware descriptor, so UEFI guests cannot boot`;
  }

  async initialize(ctx: JobContext): Promise<void> {
    if (!this.applies()) throw new StepError('check', `KVM runs on Linux; this host is ${hostPlatform(this.env)}`);
    await progress(ctx, 'check-cpu', 'checking CPU virtualisation support', 5);
    const cpuinfo = readHostFile('/proc/cpuinfo', this.env);
    const status = { cpuSupported: cpuinfo !== null && cpuinfoHasVirtualization(cpuinfo), kernelSupported: hostFileExists('/dev/kvm', this.env) };
    if (!status.cpuSupported) throw new StepError('check-cpu', 'the CPU shows no vmx/svm flag: enable Intel VT-x / AMD-V in the BIOS');
    if (!status.kernelSupported) throw new StepError('check-cpu', '/dev/kvm is missing: load kvm_intel or kvm_amd (modprobe) and check the BIOS setting');

    const missingBefore = await this.missingTools();
    const daemonBefore = await this.libvirtd();
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    if (missingBefore.length === 0 && daemonBefore.unit) {
      if (uefiFirmwareInstalled(this.env)) await progress(ctx, 'install-packages', 'already installed: libvirt, QEMU, virt-install, cloud-image-utils, OVMF', 40);
      else {
        // A host initialised before UEFI guests were supported: add only the firmware.
        const pm = await this.packageManager();
        const { ovmf, install } = KVM_PACKAGES[pm];
        await progress(ctx, 'install-packages', `libvirt, QEMU, virt-install and cloud-image-utils already installed; installing ${ovmf} (UEFI firmware) with ${pm}`, 15);
        if (pm === 'apt-get') await this.tools.step('install-packages', pm, ['update'], { timeoutMs: INSTALL_MS, signal: ctx.signal, env });
        await this.tools.step('install-packages', pm, install([ovmf]), { timeoutMs: INSTALL_MS, signal: ctx.signal, env });
        await progress(ctx, 'install-packages', this.firmwareNote(`installed ${ovmf}`, pm, ovmf), 40);
      }
    } else {
      const pm = await this.packageManager();
      const { packages, install } = KVM_PACKAGES[pm];
      await progress(ctx, 'install-packages', `installing ${packages.join(' ')} with ${pm}`, 15);
      if (pm === 'apt-get') await this.tools.step('install-packages', pm, ['update'], { timeoutMs: INSTALL_MS, signal: ctx.signal, env });
      await this.tools.step('install-packages', pm, install(packages), { timeoutMs: INSTALL_MS, signal: ctx.signal, env });
      const missing = await this.missingTools();
      if (missing.length) throw new StepError('install-packages', `${pm} finished but these tools are still missing: ${missing.join(', ')}`);
      await progress(ctx, 'install-packages', this.firmwareNote(`installed ${packages.join(' ')}`, pm, KVM_PACKAGES[pm].ovmf), 40);
    }

    const daemon = missingBefore.length === 0 && daemonBefore.unit ? daemonBefore : await this.libvirtd();
    if (daemon.enabled && daemon.running) await progress(ctx, 'enable-libvirtd', 'libvirtd already enabled and running', 60);
    else {
      await progress(ctx, 'enable-libvirtd', await this.enableLibvirtd(daemon, ctx), 60);
    }
    await this.ensureNatNetwork(ctx, DEFAULT_NAT_NETWORK, DEFAULT_NAT_SUBNET, 'define-network', 'start-network', 70);
  }

  /** Defines (when missing), starts and autostarts a libvirt NAT network. */
  private async ensureNatNetwork(ctx: JobContext, name: string, subnet: string, defineStep: string, startStep: string, percent: number, requested = false): Promise<void> {
    const existing = parseVirshNetList((await this.tools.step(defineStep, 'virsh', [...URI, 'net-list', '--all'])).stdout).find((n) => n.name === name);
    if (existing) {
      const def = parseNetworkXml((await this.tools.step(defineStep, 'virsh', [...URI, 'net-dumpxml', name])).stdout);
      const have = def.ipAddress && def.netmask ? `${subnetPlan(`${def.ipAddress}/${netmaskPrefix(def.netmask)}`).network}/${netmaskPrefix(def.netmask)}` : undefined;
      if (def.forward !== 'nat') throw new StepError(defineStep, `libvirt network ${name} exists with forward mode ${def.forward}, not nat`);
      if (requested && have && have !== `${subnetPlan(subnet).network}/${subnetPlan(subnet).prefix}`) {
        throw new StepError(defineStep, `libvirt network ${name} already uses ${have}; undefine it first to change the subnet to ${subnet}`);
      }
      await progress(ctx, defineStep, `network ${name} already defined${have ? ` (${have})` : ''}`, percent);
    } else {
      await this.defineNetwork(defineStep, natNetworkXml(name, subnet), ctx);
      await progress(ctx, defineStep, `defined NAT network ${name} (${subnet})`, percent);
    }
    await this.startNetwork(ctx, name, startStep, percent + 20, existing);
  }

  private async startNetwork(ctx: JobContext, name: string, step: string, percent: number, known?: { active: boolean; autostart: boolean }): Promise<void> {
    if (!known?.active) await this.tools.step(step, 'virsh', [...URI, 'net-start', name], { signal: ctx.signal });
    if (!known?.autostart) await this.tools.step(step, 'virsh', [...URI, 'net-autostart', name], { signal: ctx.signal });
    await progress(ctx, step, known?.active && known.autostart ? `network ${name} already active and autostarted` : `network ${name} started and set to autostart`, percent);
  }

  /** virsh net-define reads a file: a private temp dir, removed afterwards. */
  private async defineNetwork(step: string, xml: string, ctx: JobContext): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'sysfleet-net-'));
    try {
      const file = join(dir, 'network.xml');
      await writeFile(file, xml, { mode: 0o600 });
      await this.tools.step(step, 'virsh', [...URI, 'net-define', file], { signal: ctx.signal });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async configureNetwork(params: VirtualizationConfigureNetworkParams, ctx: JobContext): Promise<void> {
    if (!this.applies()) throw new StepError('check', `KVM runs on Linux; this host is ${hostPlatform(this.env)}`);
    const daemon = await this.libvirtd();
    if (!daemon.unit || !daemon.running || !(await this.tools.probe('virsh', ['--version']))) throw new StepError('check', 'KVM is not initialised on this host: run virtualization.initialize first');
    if (params.mode === 'nat') {
      await progress(ctx, 'validate', `NAT network ${DEFAULT_NAT_NETWORK} (${params.subnet ?? DEFAULT_NAT_SUBNET})`, 10);
      await this.ensureNatNetwork(ctx, DEFAULT_NAT_NETWORK, params.subnet ?? DEFAULT_NAT_SUBNET, 'define-network', 'start-network', 40, params.subnet !== undefined);
      return;
    }
    if (params.mode !== 'bridge') throw new StepError('validate', `KVM networks are "nat" or "bridge", not "${params.mode}"`);
    if (!params.interface) throw new StepError('validate', 'bridge mode needs the host bridge interface (e.g. br0)');
    const link = await this.tools.probe('ip', ['-o', 'link', 'show', 'dev', params.interface]);
    if (!link || link.code !== 0) throw new StepError('validate', `host interface ${params.interface} does not exist${link ? `: ${link.stderr.trim()}` : ''}`);
    const name = `bridge-${params.interface}`;
    await progress(ctx, 'validate', `bridge network ${name} on ${params.interface}`, 10);
    const existing = parseVirshNetList((await this.tools.step('define-network', 'virsh', [...URI, 'net-list', '--all'])).stdout).find((n) => n.name === name);
    if (existing) await progress(ctx, 'define-network', `network ${name} already defined`, 40);
    else {
      await this.defineNetwork('define-network', bridgeNetworkXml(name, params.interface), ctx);
      await progress(ctx, 'define-network', `defined bridge network ${name} on ${params.interface}`, 40);
    }
    await this.startNetwork(ctx, name, 'start-network', 80, existing);
  }
}
