import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildCreateParams, ChildCreateResult, ChildInfo, ChildVmState } from '@sysfleet/protocol';
import { JobContext, StepError } from '../../jobs/handler';
import { cleanGuestText, describeInstallResult, describeInstallStart, INSTALL_STEP, InstallCommandError, InstallCommandResult } from '../../provisioning/ssh';
import { tail } from '../../run';
import { cachedImage, checkChildName, withRollback } from '../children';
import { HostTools, hostPath, INSTALL_MS, progress } from '../host';
import { decodeWslOutput, isWslNotInstalled, parseWslList } from './parsers';

/** How long one install command may run in the guest. */
const INSTALL_COMMAND_MS = 15 * 60_000;
/** Characters of each output stream kept for the job, as over SSH. */
const INSTALL_TAIL = 2048;

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

  /**
   * Runs wsl.exe and fails the step on a non-zero exit. `secrets` (a password hash among the args)
   * are masked in the error, which is shown in the job and logged.
   */
  private async must(step: string, args: string[], opts: { timeoutMs?: number; signal?: AbortSignal; secrets?: string[] } = {}): Promise<string> {
    const r = await this.wsl(args, opts);
    if (r.code !== 0) {
      const secrets = opts.secrets ?? [];
      const shown = cleanGuestText(`wsl.exe ${args.join(' ')}`, secrets, Infinity);
      throw new StepError(step, `${shown} exited with ${r.code}: ${cleanGuestText(tail(r.text, 1500), secrets, 1500) || '(no output)'}`);
    }
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
        await this.must('user', useradd, { signal: ctx.signal, secrets: p.passwordHash ? [p.passwordHash] : [] });
        await progress(ctx, 'user', `user ${p.username} created${p.passwordHash ? ' with its password' : ' (no password: log in with wsl -d)'}`, 35);
      } else await progress(ctx, 'user', 'using root, as asked', 35);

      const secrets = [...(p.agentInstall ? [p.agentInstall.enrollmentToken] : []), ...(p.passwordHash ? [p.passwordHash] : [])];
      const total = dist.installCommands.length;
      const percentOf = (done: number) => Math.round(40 + (55 * done) / Math.max(1, total));
      for (let i = 0; i < total; i++) {
        ctx.throwIfCancelled();
        const result = await this.installCommand(name, i, dist.installCommands[i], secrets, ctx, () => progress(ctx, INSTALL_STEP, describeInstallStart(i, total, cleanGuestText(dist.installCommands[i], secrets, Infinity)), percentOf(i)));
        // The same report as over SSH: exit status and the tail of the output, on success too.
        await progress(ctx, INSTALL_STEP, describeInstallResult(result, total), percentOf(i + 1));
        if (result.code !== 0) throw new InstallCommandError(result, total);
      }
      await progress(ctx, 'enrol', `agent installed in ${name}; it enrols with its single-use token`, 100);
      return this.result(name, total > 0);
    });
  }

  /** One install command as root through `wsl -d NAME -u root -- sh -c`, reported like an SSH one (secrets masked). */
  private async installCommand(name: string, index: number, command: string, secrets: string[], ctx: JobContext, onStart: () => Promise<void>): Promise<InstallCommandResult> {
    await onStart();
    const r = await this.tools.probe('wsl.exe', ['-d', name, '-u', 'root', '--', 'sh', '-c', command], { binary: true, signal: ctx.signal, timeoutMs: INSTALL_COMMAND_MS });
    if (!r) throw new StepError('validate', 'wsl.exe is not present on this host');
    // Masked over the whole text, then cut to its tail (cleanGuestText does both in that order).
    const stream = (text: string) => cleanGuestText(text, secrets, INSTALL_TAIL);
    return {
      index, command: cleanGuestText(command, secrets, Infinity), code: r.timedOut ? null : r.code, timedOut: r.timedOut,
      stdoutTail: stream(decodeWslOutput(r.stdoutBytes)), stderrTail: stream(r.stderr),
    };
  }

  private async result(name: string, agentInstalled: boolean): Promise<ChildCreateResult> {
    const children = (await this.list()) ?? [];
    const child = children.find((c) => c.name === name);
    if (!child) throw new StepError('install', `${name} is not listed by wsl.exe -l -v after it was created`);
    return { child, agentInstalled, children };
  }
}
