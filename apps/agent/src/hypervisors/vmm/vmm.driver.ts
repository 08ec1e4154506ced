import type { ChildInfo } from '@sysfleet/protocol';
import { VmmChildren } from './vmm.children';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { HypervisorNetwork, HypervisorStatus, VirtualizationConfigureNetworkParams } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { tail } from '../../run';
import { HostTools, hostFileExists, hostPath, hostPlatform, progress, readHostFile, replaceMarkedBlock, subnetPlan, unavailableStatus } from '../host';
import { Hypervisor } from '../types';
import { parseDmesgVirtualization, parseRcctlCheck, parseSysctl } from './parsers';
import { DEFAULT_ROUTED_SUBNET, readVmConfNetwork, VmConf, vmConfWithNetwork, VmdNetworkConfig, VMD_SWITCH } from './vm-conf';

const SWITCH = VMD_SWITCH;
const BRIDGE = 'bridge0';
const VETHER = 'vether0';
const FORWARDING = 'net.inet.ip.forwarding';
/** The one line Sysfleet adds to /etc/sysctl.conf for the routed network (rc(8) strips the comment); removal deletes exactly it. */
export const SYSCTL_CONF_LINE = `${FORWARDING}=1\t# sysfleet: routed VM network`;

/** /etc/sysctl.conf with Sysfleet's forwarding line added (once) or removed; every other line kept as it was. */
export function sysctlConfWithForwarding(text: string, on: boolean): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const others = lines.filter((l) => l !== SYSCTL_CONF_LINE);
  const kept = others.length === lines.length ? text : others.length ? others.join('\n') + '\n' : '';
  if (!on) return kept;
  return lines.includes(SYSCTL_CONF_LINE) ? text : text + (text === '' || text.endsWith('\n') ? '' : '\n') + SYSCTL_CONF_LINE + '\n';
}

/** True when a line of sysctl.conf other than Sysfleet's turns IPv4 forwarding on (rc(8): text after # is a comment). */
function forwardingEnabledElsewhere(text: string): boolean {
  return text.split('\n').some((l) => l !== SYSCTL_CONF_LINE && /^\s*net\.inet\.ip\.forwarding\s*=\s*1\s*$/.test(l.replace(/#.*$/, '')));
}

function vmConfBlock(config: VmdNetworkConfig): string {
  if (config.mode === 'local') return '# network: local (VMs get a local interface, vmctl start -L / "local interface")\n';
  const detail = config.mode === 'bridged' ? config.interface : config.subnet;
  return `# network: ${config.mode} ${detail}\nswitch "${SWITCH}" {\n\tinterface ${BRIDGE}\n}\n`;
}

function pfBlock(subnet: string): string {
  return `match out on egress inet from ${subnet} to any nat-to (egress)\npass in on ${VETHER} inet from ${subnet}\n`;
}

export class VmmDriver implements Hypervisor {
  readonly type = 'vmm' as const;
  private readonly tools: HostTools;

  readonly children: VmmChildren;

  /** `stateDir`: the agent's state dir (image cache, one-off guest keys); child operations need it. */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env, stateDir = env.SYSFLEET_STATE_DIR ?? '') {
    this.tools = new HostTools(env);
    this.children = new VmmChildren(this.tools, env, stateDir);
  }

  async listChildren(): Promise<ChildInfo[] | null> {
    return this.applies() ? this.children.list() : null;
  }

  applies(): boolean {
    return hostPlatform(this.env) === 'openbsd';
  }

  private async vmdState(): Promise<{ enabled: boolean; running: boolean }> {
    const on = await this.tools.step('detect', 'rcctl', ['ls', 'on']);
    const check = await this.tools.probe('rcctl', ['check', 'vmd']);
    return { enabled: on.stdout.split('\n').includes('vmd'), running: check ? parseRcctlCheck(check.stdout, 'vmd') : false };
  }

  async detect(): Promise<HypervisorStatus> {
    const platform = hostPlatform(this.env);
    if (platform !== 'openbsd') return unavailableStatus('vmm', 'OpenBSD', platform);
    const details: string[] = [];
    const dmesg = readHostFile('/var/run/dmesg.boot', this.env);
    const boot = dmesg ? parseDmesgVirtualization(dmesg) : { cpuFlag: false, vmmAttached: false };
    const devVmm = hostFileExists('/dev/vmm', this.env);
    if (!boot.cpuFlag) details.push('the CPU shows no VMX/SVM feature: enable virtualisation in the BIOS');
    if (!boot.vmmAttached) details.push('vmm(4) did not attach at boot (needs VMX+EPT or SVM+RVI)');
    if (!devVmm) details.push('/dev/vmm is missing');
    const vmctl = await this.tools.probe('vmctl', ['status']);
    const firmware = hostFileExists('/etc/firmware/vmm-bios', this.env);
    if (!firmware) details.push('vmm-firmware (SeaBIOS) is not installed: fw_update vmm');
    const vmd = await this.vmdState();
    if (!vmd.enabled || !vmd.running) details.push(`vmd is ${vmd.enabled ? 'enabled' : 'disabled'} and ${vmd.running ? 'running' : 'stopped'}`);
    const release = parseSysctl((await this.tools.step('detect', 'sysctl', ['kern.osrelease'])).stdout)['kern.osrelease'];
    const installed = vmctl !== null && firmware;
    const kernelSupported = boot.vmmAttached && devVmm;
    const net = readVmConfNetwork(readHostFile('/etc/vm.conf', this.env));
    const networks: HypervisorNetwork[] = [
      net.mode === 'local'
        ? { name: 'local', mode: 'local', active: vmd.running, autostart: vmd.enabled }
        : { name: SWITCH, mode: net.mode, active: vmd.running, autostart: vmd.enabled, bridge: BRIDGE, ...(net.mode === 'routed' ? { subnet: net.subnet } : {}) },
    ];
    return {
      type: 'vmm', available: true, installed, enabled: vmd.enabled, running: vmd.running,
      initialized: installed && vmd.enabled && vmd.running && kernelSupported && boot.cpuFlag,
      cpuSupported: boot.cpuFlag, kernelSupported, needsInstall: !installed, needsEnable: !(vmd.enabled && vmd.running), needsReboot: false,
      version: release ? `OpenBSD ${release} vmd` : null, networks, details,
    };
  }

  async initialize(ctx: JobContext): Promise<void> {
    if (!this.applies()) throw new StepError('check', `vmd runs on OpenBSD; this host is ${hostPlatform(this.env)}`);
    await progress(ctx, 'check-cpu', 'checking vmm(4) and /dev/vmm', 5);
    const status = await this.detect();
    if (!status.cpuSupported) throw new StepError('check-cpu', 'the CPU shows no VMX/SVM feature in dmesg: enable virtualisation in the BIOS');
    if (!status.kernelSupported) throw new StepError('check-cpu', 'vmm(4) is not attached or /dev/vmm is missing: the CPU needs VMX+EPT or SVM+RVI');

    if (hostFileExists('/etc/firmware/vmm-bios', this.env)) await progress(ctx, 'firmware', 'vmm-firmware already installed', 30);
    else {
      await this.tools.step('firmware', 'fw_update', ['vmm'], { timeoutMs: 10 * 60_000, signal: ctx.signal });
      if (!hostFileExists('/etc/firmware/vmm-bios', this.env)) throw new StepError('firmware', 'fw_update finished but /etc/firmware/vmm-bios is still missing');
      await progress(ctx, 'firmware', 'installed vmm-firmware', 30);
    }

    if (status.enabled) await progress(ctx, 'enable-vmd', 'vmd already enabled', 50);
    else {
      await this.tools.step('enable-vmd', 'rcctl', ['enable', 'vmd'], { signal: ctx.signal });
      await progress(ctx, 'enable-vmd', 'vmd enabled', 50);
    }

    if (status.running) await progress(ctx, 'start-vmd', 'vmd already running', 80);
    else {
      await this.tools.step('start-vmd', 'rcctl', ['start', 'vmd'], { signal: ctx.signal });
      await progress(ctx, 'start-vmd', 'vmd started', 80);
    }
    const check = await this.tools.step('verify', 'rcctl', ['check', 'vmd']).catch((e: unknown) => {
      throw e instanceof StepError ? new StepError('verify', `vmd is not running after start: ${e.message}`) : e;
    });
    if (!parseRcctlCheck(check.stdout, 'vmd')) throw new StepError('verify', 'vmd is not running after start');
    await progress(ctx, 'verify', 'vmd(ok), /dev/vmm present', 95);
  }

  async configureNetwork(params: VirtualizationConfigureNetworkParams, ctx: JobContext): Promise<void> {
    if (!this.applies()) throw new StepError('check', `vmd runs on OpenBSD; this host is ${hostPlatform(this.env)}`);
    if (!['local', 'bridged', 'routed'].includes(params.mode)) throw new StepError('validate', `vmd networks are "local", "bridged" or "routed", not "${params.mode}"`);
    if (params.remove) {
      if (params.mode !== 'routed') throw new StepError('validate', 'remove applies to the routed set-up only');
      return this.removeRouted(ctx);
    }
    if (params.mode === 'local') {
      await this.writeVmConf(ctx, { mode: 'local' }, 60);
    } else if (params.mode === 'bridged') {
      if (!params.interface) throw new StepError('validate', 'bridged mode needs the host interface to bridge to (e.g. em0)');
      await this.tools.step('validate', 'ifconfig', [params.interface]);
      await progress(ctx, 'validate', `bridging VMs to ${params.interface}`, 10);
      await this.ensureBridge(ctx, params.interface);
      await this.writeHostnameFile(`/etc/hostname.${BRIDGE}`, `add ${params.interface}\nup\n`);
      await this.writeVmConf(ctx, { mode: 'bridged', interface: params.interface }, 70);
    } else {
      const subnet = params.subnet ?? DEFAULT_ROUTED_SUBNET;
      const plan = subnetPlan(subnet);
      const cidr = `${plan.network}/${plan.prefix}`;
      await progress(ctx, 'validate', `routed network ${cidr} on ${VETHER}`, 5);
      // pf first: a rule set pfctl refuses must leave the host untouched.
      await this.updatePf(ctx, pfBlock(cidr));
      if ((await this.tools.probe('ifconfig', [VETHER]))?.code !== 0) await this.tools.step('vether', 'ifconfig', [VETHER, 'create'], { signal: ctx.signal });
      await this.tools.step('vether', 'ifconfig', [VETHER, 'inet', `${plan.gateway}/${plan.prefix}`, 'up'], { signal: ctx.signal });
      await this.writeHostnameFile(`/etc/hostname.${VETHER}`, `inet ${plan.gateway} ${plan.netmask}\nup\n`);
      await progress(ctx, 'vether', `${VETHER} holds ${plan.gateway}/${plan.prefix}`, 40);
      await this.ensureBridge(ctx, VETHER);
      await this.writeHostnameFile(`/etc/hostname.${BRIDGE}`, `add ${VETHER}\nup\n`);
      await this.tools.step('forwarding', 'sysctl', [`${FORWARDING}=1`], { signal: ctx.signal });
      await this.updateSysctlConf(true);
      await progress(ctx, 'forwarding', `IPv4 forwarding on, kept across reboots by a sysfleet line in /etc/sysctl.conf`, 70);
      await this.writeVmConf(ctx, { mode: 'routed', subnet: cidr }, 85);
    }
    await this.tools.step('reload-vmd', 'vmctl', ['reload'], { signal: ctx.signal });
    await progress(ctx, 'reload-vmd', 'vmd reloaded /etc/vm.conf', 100);
  }

  private async ensureBridge(ctx: JobContext, member: string): Promise<void> {
    const show = await this.tools.probe('ifconfig', [BRIDGE]);
    if (!show || show.code !== 0) await this.tools.step('bridge', 'ifconfig', [BRIDGE, 'create'], { signal: ctx.signal });
    const current = show && show.code === 0 ? show.stdout : '';
    if (new RegExp(`^\\s+${member} flags=`, 'm').test(current)) await progress(ctx, 'bridge', `${member} already on ${BRIDGE}`, 55);
    else {
      await this.tools.step('bridge', 'ifconfig', [BRIDGE, 'add', member, 'up'], { signal: ctx.signal });
      await progress(ctx, 'bridge', `${member} added to ${BRIDGE}`, 55);
    }
  }

  private async writeHostnameFile(path: string, content: string): Promise<void> {
    await writeFile(hostPath(path, this.env), content, { mode: 0o640 });
  }

  private async writeVmConf(ctx: JobContext, config: VmdNetworkConfig | null, percent: number): Promise<void> {
    // The block's VM stanzas (one per child) are kept; vmd -n checks the new file before it is installed.
    await new VmConf(this.tools, this.env).update('vm-conf', (text) => vmConfWithNetwork(text, config ? vmConfBlock(config) : null), ctx.signal);
    await progress(ctx, 'vm-conf', config ? `vm.conf: ${config.mode} network` : 'vm.conf: sysfleet network removed', percent);
  }

  /** Replaces the marked block of /etc/pf.conf, validated with `pfctl -nf` on a temp copy before the real file changes. */
  private async updatePf(ctx: JobContext, body: string | null): Promise<void> {
    const path = hostPath('/etc/pf.conf', this.env);
    let before: string;
    try {
      before = await readFile(path, 'utf8');
    } catch (e) {
      throw new StepError('pf-validate', `cannot read /etc/pf.conf: ${(e as Error).message}`);
    }
    const after = replaceMarkedBlock(before, body);
    if (after === before) {
      await progress(ctx, 'pf-load', 'pf rules already in place', 30);
      return;
    }
    const tmp = `${path}.sysfleet.tmp`;
    await writeFile(tmp, after, { mode: 0o600 });
    try {
      const check = await this.tools.probe('pfctl', ['-nf', tmp], { signal: ctx.signal });
      if (!check || check.code !== 0) throw new StepError('pf-validate', `pfctl -nf refused the new rules; /etc/pf.conf left unchanged: ${tail(check ? check.stderr || check.stdout : 'pfctl is not installed', 1500)}`);
      await progress(ctx, 'pf-validate', 'pfctl -nf accepted the new rules', 20);
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
    // pf loads a rule set all or nothing: when loading fails the old rules stay active, so the old file goes back too.
    const load = await this.tools.probe('pfctl', ['-f', path], { signal: ctx.signal });
    if (!load || load.code !== 0) {
      await writeFile(path, before);
      throw new StepError('pf-load', `pfctl -f /etc/pf.conf ${load ? `exited with ${load.code}` : 'could not run'}; /etc/pf.conf restored to the previous rules, which stay loaded: ${tail(load ? load.stderr || load.stdout : 'pfctl is not installed', 1500) || '(no output)'}`);
    }
    await progress(ctx, 'pf-load', body ? 'pf NAT rules loaded' : 'pf NAT rules removed', 30);
  }

  /** Adds or removes Sysfleet's forwarding line in /etc/sysctl.conf; a file left empty by the removal is deleted. */
  private async updateSysctlConf(on: boolean): Promise<void> {
    const path = hostPath('/etc/sysctl.conf', this.env);
    const before = readHostFile('/etc/sysctl.conf', this.env);
    const after = sysctlConfWithForwarding(before ?? '', on);
    if (after === (before ?? '')) return;
    if (after === '') await rm(path, { force: true });
    else await writeFile(path, after, { mode: 0o644 });
  }

  /**
   * Undoes the routed set-up: the pf block (reloaded), vether0 and /etc/hostname.vether0, bridge0 and
   * /etc/hostname.bridge0 unless something else is on the bridge or the file was changed, the sysctl.conf
   * line and run-time forwarding (left on when sysctl.conf enables it outside Sysfleet's line), and the vm.conf block.
   */
  private async removeRouted(ctx: JobContext): Promise<void> {
    await this.updatePf(ctx, null);
    if ((await this.tools.probe('ifconfig', [VETHER]))?.code === 0) await this.tools.step('vether', 'ifconfig', [VETHER, 'destroy'], { signal: ctx.signal });
    await rm(hostPath(`/etc/hostname.${VETHER}`, this.env), { force: true });
    await progress(ctx, 'vether', `${VETHER} and /etc/hostname.${VETHER} removed`, 50);

    const bridge = await this.tools.probe('ifconfig', [BRIDGE]);
    const others = bridge?.code === 0 ? [...bridge.stdout.matchAll(/^\s+(\S+) flags=/gm)].map((m) => m[1]) : [];
    if (bridge?.code === 0 && others.length === 0) await this.tools.step('bridge', 'ifconfig', [BRIDGE, 'destroy'], { signal: ctx.signal });
    const hostnameBridge = readHostFile(`/etc/hostname.${BRIDGE}`, this.env);
    const ours = hostnameBridge === `add ${VETHER}\nup\n`;
    if (ours && others.length === 0) await rm(hostPath(`/etc/hostname.${BRIDGE}`, this.env), { force: true });
    const kept = [others.length ? `${BRIDGE} kept: ${others.join(', ')} still on it` : '', hostnameBridge !== null && !(ours && others.length === 0) ? `/etc/hostname.${BRIDGE} kept (${ours ? 'the bridge is in use' : 'not the file Sysfleet wrote'})` : ''].filter(Boolean);
    await progress(ctx, 'bridge', kept.length ? kept.join('; ') : `${BRIDGE} and /etc/hostname.${BRIDGE} removed`, 60);

    await this.updateSysctlConf(false);
    const elsewhere = forwardingEnabledElsewhere(readHostFile('/etc/sysctl.conf', this.env) ?? '');
    if (elsewhere) await progress(ctx, 'forwarding', 'sysfleet line removed from /etc/sysctl.conf; IPv4 forwarding left on: sysctl.conf enables it elsewhere', 70);
    else {
      await this.tools.step('forwarding', 'sysctl', [`${FORWARDING}=0`], { signal: ctx.signal });
      await progress(ctx, 'forwarding', 'IPv4 forwarding off, sysfleet line removed from /etc/sysctl.conf', 70);
    }
    await this.writeVmConf(ctx, null, 85);
    await this.tools.step('reload-vmd', 'vmctl', ['reload'], { signal: ctx.signal });
    await progress(ctx, 'reload-vmd', 'vmd reloaded /etc/vm.conf', 100);
  }
}
