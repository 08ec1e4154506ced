import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildCreateParams, ChildCreateResult, ChildInfo, ChildVmState } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { cleanGuestText, describeInstallStart } from '../../provisioning/ssh';
import { tail } from '../../run';
import { cachedImage, checkChildName, withRollback } from '../children';
import { HostTools, hostPath, INSTALL_MS, progress } from '../host';
import { decodeWslOutput, isWslNotInstalled, parseWslList } from './parsers';

/** Where imported distributions keep their disk: `<dir>/<name>/`; SYSFLEET_WSL_VM_DIR moves it. */
export function wslVmDir(env: NodeJS.ProcessEnv): string {
  return env.SYSFLEET_WSL_VM_DIR ?? hostPath('/ProgramData/sysfleet/wsl', env);
}

function vmState(state: string): ChildVmState {
  if (state === 'Running') return 'running';
  if (state === 'Stopped') return 'stopped';
  return 'creating';
}

/** WSL children: `wsl --install -d` or `wsl --import`, a user, then the install commands through `wsl -d NAME -u root --` (no SSH). */
export class WslChildren {
  constructor(private readonly tools: HostTools, private readonly env: NodeJS.ProcessEnv, private readonly stateDir: string) {}

  private async wsl(args: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ code: number; text: string }> {
    const r = await this.tools.probe('wsl.exe', args, { binary: true, ...opts });
    if (!r) throw new StepError('validate', 'wsl.exe is not present on this host');
    return { code: r.code, text: (decodeWslOutput(r.stdoutBytes) + r.stderr).replace(/\r\n/g, '\n') };
  }

  private async must(step: string, args: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
    const r = await this.wsl(args, opts);
    if (r.code !== 0) throw new StepError(step, `wsl.exe ${args.join(' ')} exited with ${r.code}: ${tail(r.text, 1500) || '(no output)'}`);
    return r.text;
  }

  async list(): Promise<ChildInfo[] | null> {
    const r = await this.tools.probe('wsl.exe', ['-l', '-v'], { binary: true });
    if (!r) return null;
    const text = decodeWslOutput(r.stdoutBytes);
    if (isWslNotInstalled(text)) return null;
    if (r.code !== 0) {
      if (/WSL_E_DEFAULT_DISTRO_NOT_FOUND|has no installed distributions/.test(text)) return [];
      return null;
    }
    return parseWslList(text).map((d) => ({ name: d.name, childType: 'wsl' as const, state: vmState(d.state), details: `WSL ${d.version}` }));
  }

  async info(name: string): Promise<ChildInfo | undefined> {
    return (await this.list())?.find((c) => c.name === name);
  }

  private async mustExist(name: string, step: string): Promise<ChildInfo> {
    const info = await this.info(checkChildName(name));
    if (!info) throw new StepError(step, `there is no WSL distribution named ${name} on this host`);
    return info;
  }

  async start(name: string, ctx: JobContext): Promise<ChildInfo> {
    await this.mustExist(name, 'start');
    await progress(ctx, 'start', `starting ${name}`, 20);
    await this.must('start', ['-d', name, '-u', 'root', '--', 'true'], { signal: ctx.signal });
    return this.mustExist(name, 'start');
  }

  async stop(name: string, _force: boolean, ctx: JobContext): Promise<ChildInfo | undefined> {
    const before = await this.info(checkChildName(name));
    if (!before) {
      await progress(ctx, 'stop', `there is no WSL distribution named ${name}: nothing to stop`, 100);
      return undefined;
    }
    // WSL has no clean shutdown of one distribution: --terminate is the only stop.
    await progress(ctx, 'stop', `wsl.exe --terminate ${name}`, 20);
    await this.must('stop', ['--terminate', name], { signal: ctx.signal });
    return this.info(name);
  }

  async restart(name: string, ctx: JobContext): Promise<ChildInfo> {
    await this.mustExist(name, 'restart');
    await progress(ctx, 'restart', `wsl.exe --terminate ${name}, then start it`, 20);
    await this.must('restart', ['--terminate', name], { signal: ctx.signal });
    await this.must('restart', ['-d', name, '-u', 'root', '--', 'true'], { signal: ctx.signal });
    return this.mustExist(name, 'restart');
  }

  /** `wsl --unregister` always removes the distribution's disk, whatever deleteDisk says. */
  async delete(name: string, _deleteDisk: boolean, ctx: JobContext): Promise<void> {
    if (await this.info(checkChildName(name))) {
      await this.must('delete', ['--unregister', name], { signal: ctx.signal });
      await progress(ctx, 'delete', `unregistered ${name} (its disk is gone with it)`, 60);
    } else await progress(ctx, 'delete', `there is no WSL distribution named ${name}`, 60);
    await rm(join(wslVmDir(this.env), name), { recursive: true, force: true });
  }

  async create(p: ChildCreateParams, ctx: JobContext): Promise<ChildCreateResult> {
    const name = checkChildName(p.name);
    const dist = p.distribution;
    await progress(ctx, 'validate', `creating WSL distribution ${name} from ${dist.name} ${dist.version}`, 2);
    const existing = await this.list();
    if (existing === null) throw new StepError('validate', 'WSL is not installed or not ready on this host', { cleanedUp: true });
    if (existing.some((c) => c.name === name)) throw new StepError('validate', `a WSL distribution named ${name} already exists`, { cleanedUp: true });

    return withRollback(ctx, p.keepOnFailure, async (made) => {
      const dir = join(wslVmDir(this.env), name);
      if (dist.imageUrl) {
        const tarball = await cachedImage(this.stateDir, dist, ctx, { fetch: 5, verify: 20 });
        await mkdir(dir, { recursive: true });
        made.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
        await progress(ctx, 'import', `wsl.exe --import ${name} ${dir} ${tarball}`, 25);
        await this.must('import', ['--import', name, dir, tarball, '--version', '2'], { signal: ctx.signal, timeoutMs: INSTALL_MS });
      } else {
        await progress(ctx, 'install', `wsl.exe --install -d ${dist.installIdentifier} --name ${name} --no-launch`, 10);
        await this.must('install', ['--install', '-d', dist.installIdentifier, '--name', name, '--no-launch'], { signal: ctx.signal, timeoutMs: INSTALL_MS });
      }
      made.add(`WSL distribution ${name}`, async () => {
        await this.must('cleanup', ['--unregister', name]);
      });
      await progress(ctx, dist.imageUrl ? 'import' : 'install', `distribution ${name} registered`, 30);

      if (dist.appliance) {
        await progress(ctx, 'enrol', 'appliance imported as it is: no agent to install', 100);
        return this.result(name, false);
      }

      ctx.throwIfCancelled();
      if (p.username !== 'root') {
        const useradd = ['-d', name, '-u', 'root', '--', 'useradd', '-m', '-s', '/bin/sh', ...(p.passwordHash ? ['-p', p.passwordHash] : []), p.username];
        await this.must('user', useradd, { signal: ctx.signal });
        await progress(ctx, 'user', `user ${p.username} created${p.passwordHash ? ' with its password' : ' (no password: log in with wsl -d)'}`, 35);
      } else await progress(ctx, 'user', 'using root, as asked', 35);

      const secrets = p.agentInstall ? [p.agentInstall.enrollmentToken] : [];
      const total = dist.installCommands.length;
      for (let i = 0; i < total; i++) {
        ctx.throwIfCancelled();
        const shown = cleanGuestText(dist.installCommands[i], secrets, Infinity);
        const percent = Math.round(40 + (55 * i) / Math.max(1, total));
        await progress(ctx, 'install-agent', describeInstallStart(i, total, shown), percent);
        const r = await this.wsl(['-d', name, '-u', 'root', '--', 'sh', '-c', dist.installCommands[i]], { signal: ctx.signal, timeoutMs: 15 * 60_000 });
        const out = cleanGuestText(tail(r.text, 2000), secrets, 2000);
        if (r.code !== 0) throw new StepError('install-agent', `install command ${i + 1}/${total} failed (exit ${r.code}): ${shown.slice(0, 500)}${out ? `\n${out}` : ''}`);
        await progress(ctx, 'install-agent', `command ${i + 1}/${total} done (exit 0): ${shown.slice(0, 500)}`, Math.round(40 + (55 * (i + 1)) / Math.max(1, total)));
      }
      await progress(ctx, 'enrol', `agent installed in ${name}; it enrols with its single-use token`, 100);
      return this.result(name, total > 0);
    });
  }

  private async result(name: string, agentInstalled: boolean): Promise<ChildCreateResult> {
    const children = (await this.list()) ?? [];
    const child = children.find((c) => c.name === name);
    if (!child) throw new StepError('install', `${name} is not listed by wsl.exe -l -v after it was created`);
    return { child, agentInstalled, children };
  }
}
