import type { ChildInfo } from '@sysfleet/protocol';
import { WslChildren } from './wsl.children';
import type { HypervisorStatus, VirtualizationConfigureNetworkParams } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { HostTools, hostPlatform, INSTALL_MS, progress, unavailableStatus } from '../host';
import { Hypervisor } from '../types';
import { decodeWslOutput, isWslNotInstalled, parseWslStatus, parseWslVersion } from './parsers';

/** Windows keeps this key while a servicing operation (such as enabling Virtual Machine Platform) waits for a reboot. */
export const REBOOT_PENDING_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending';

export class WslDriver implements Hypervisor {
  readonly type = 'wsl' as const;
  private readonly tools: HostTools;

  readonly children: WslChildren;

  /** `stateDir`: the agent's state dir (image cache, one-off guest keys); child operations need it. */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env, stateDir = env.SYSFLEET_STATE_DIR ?? '') {
    this.tools = new HostTools(env);
    this.children = new WslChildren(this.tools, env, stateDir);
  }

  async listChildren(): Promise<ChildInfo[] | null> {
    return this.applies() ? this.children.list() : null;
  }

  applies(): boolean {
    return hostPlatform(this.env) === 'windows';
  }

  private async wsl(args: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ code: number; text: string } | null> {
    const r = await this.tools.probe('wsl.exe', args, { binary: true, ...opts });
    return r ? { code: r.code, text: decodeWslOutput(r.stdoutBytes) + r.stderr } : null;
  }

  private async rebootPending(): Promise<boolean> {
    return (await this.tools.probe('reg.exe', ['query', REBOOT_PENDING_KEY]))?.code === 0;
  }

  async detect(): Promise<HypervisorStatus> {
    const platform = hostPlatform(this.env);
    if (platform !== 'windows') return unavailableStatus('wsl', 'Windows', platform);
    const details: string[] = [];
    const status = await this.wsl(['--status']);
    const needsReboot = await this.rebootPending();
    const installed = status !== null && status.code === 0 && !isWslNotInstalled(status.text);
    let cpuSupported = true;
    let version: string | null = null;
    if (!installed) details.push('WSL is not installed');
    else {
      const parsed = parseWslStatus(status.text);
      if (parsed.virtualizationUnavailable && !needsReboot) {
        cpuSupported = false;
        details.push('WSL 2 cannot start: enable virtualisation in the BIOS and the Virtual Machine Platform component');
      }
      const v = await this.wsl(['--version']);
      if (v && v.code === 0) version = `WSL ${parseWslVersion(v.text).wsl}`;
      if (parsed.defaultDistribution) details.push(`default distribution: ${parsed.defaultDistribution}`);
    }
    if (needsReboot) details.push('a reboot is pending: restart Windows to finish enabling WSL');
    const initialized = installed && !needsReboot && cpuSupported;
    return {
      type: 'wsl', available: true, installed, enabled: installed, running: initialized, initialized, cpuSupported, kernelSupported: initialized,
      needsInstall: !installed, needsEnable: false, needsReboot, version,
      networks: [{ name: 'wsl-nat', mode: 'nat', active: initialized, autostart: true }], details,
    };
  }

  async initialize(ctx: JobContext): Promise<void> {
    if (!this.applies()) throw new StepError('check', `WSL runs on Windows; this host is ${hostPlatform(this.env)}`);
    await progress(ctx, 'check', 'checking WSL', 5);
    const status = await this.detect();
    if (status.installed || status.needsReboot) await progress(ctx, 'install', 'WSL already installed', 60);
    else {
      await progress(ctx, 'install', 'wsl.exe --install --no-distribution', 10);
      const r = await this.wsl(['--install', '--no-distribution'], { timeoutMs: INSTALL_MS, signal: ctx.signal });
      if (!r) throw new StepError('install', 'wsl.exe is not present: this Windows is too old for WSL (needs Windows 10 2004+ or Windows 11)');
      if (r.code !== 0) throw new StepError('install', `wsl.exe --install --no-distribution exited with ${r.code}: ${r.text.trim().slice(-1500)}`);
      await progress(ctx, 'install', 'WSL installed', 60);
    }
    if (await this.rebootPending()) await progress(ctx, 'reboot', 'reboot required: restart Windows to finish enabling WSL, then check again', 100);
    else if (!status.cpuSupported) throw new StepError('check-cpu', 'WSL 2 cannot start: enable virtualisation in the BIOS and the Virtual Machine Platform component');
    else await progress(ctx, 'reboot', 'no reboot needed', 100);
  }

  async configureNetwork(params: VirtualizationConfigureNetworkParams, ctx: JobContext): Promise<void> {
    if (!this.applies()) throw new StepError('check', `WSL runs on Windows; this host is ${hostPlatform(this.env)}`);
    if (params.mode !== 'nat') throw new StepError('validate', `WSL has only its built-in NAT network; mode "${params.mode}" is not available`);
    await progress(ctx, 'validate', 'WSL uses its built-in NAT network: nothing to change', 100);
  }
}
