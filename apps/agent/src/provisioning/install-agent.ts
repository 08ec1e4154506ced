import type { JobContext } from '../jobs/handler';
import type { GuestKeyPair } from './keys';
import { describeInstallResult, describeInstallStart, detectElevation, INSTALL_STEP, InstallCommandResult, runInstallCommands, WAIT_SSH_STEP, waitForSsh } from './ssh';

/**
 * The SSH part of a child create, the same for every driver that reaches its guest over SSH: wait
 * for the guest to take the one-off key, run the install commands, and report both as job progress.
 */
export interface InstallAgentOverSshOptions {
  host: string;
  port?: number;
  /**
   * `username` with an elevate (cloud images), or root with none (OpenBSD). `auto` uses whichever of
   * sudo and doas the guest has (`command -v sudo || command -v doas`): Alpine's images have only doas.
   */
  username: string;
  elevate?: 'sudo' | 'doas' | 'auto';
  key: GuestKeyPair;
  /** Final install commands from child.create (placeholders filled by the server). */
  commands: string[];
  /** Values never to show, at least the child's enrolment token. */
  secrets: string[];
  attempts?: number;
  intervalMs?: number;
  timeoutMsPerCommand?: number;
  hostKeyFingerprint?: string;
  /** The share of the job's progress bar this part fills (default 60-95). */
  percentFrom?: number;
  percentTo?: number;
}

export async function installAgentOverSsh(ctx: JobContext, opts: InstallAgentOverSshOptions): Promise<InstallCommandResult[]> {
  const from = opts.percentFrom ?? 60;
  const to = opts.percentTo ?? 95;
  const attempts = opts.attempts ?? 30;
  const where = `${opts.username}@${opts.host}:${opts.port ?? 22}`;
  await ctx.progress(WAIT_SSH_STEP, `waiting for SSH on ${where} with the one-off key ${opts.key.fingerprint}`, from);
  const conn = await waitForSsh({
    host: opts.host,
    port: opts.port,
    username: opts.username,
    privateKey: opts.key.privateKey,
    attempts,
    intervalMs: opts.intervalMs,
    hostKeyFingerprint: opts.hostKeyFingerprint,
    signal: ctx.signal,
    // A guest takes a while to boot: say now and then that it is still being tried, and why it failed so far.
    onAttempt: async (attempt, _total, error) => {
      if (error && attempt % 5 === 0) await ctx.progress(WAIT_SSH_STEP, `SSH to ${where} not up yet (attempt ${attempt}/${attempts}): ${error.message}`, from);
    },
  });
  try {
    await ctx.progress(WAIT_SSH_STEP, `SSH to ${where} is up`, from + 5);
    let elevate = opts.elevate === 'auto' ? undefined : opts.elevate;
    if (opts.elevate === 'auto') {
      elevate = await detectElevation(conn, opts.username);
      await ctx.progress(INSTALL_STEP, `the commands run as root through ${elevate}${elevate === 'sudo' ? '' : ' (the guest has no sudo)'}`, from + 5);
    }
    const total = opts.commands.length;
    const percentOf = (done: number) => Math.round(from + 5 + ((to - from - 5) * done) / Math.max(1, total));
    return await runInstallCommands(conn, opts.commands, {
      secrets: opts.secrets,
      signal: ctx.signal,
      elevate,
      timeoutMsPerCommand: opts.timeoutMsPerCommand,
      onStart: (index, command) => ctx.progress(INSTALL_STEP, describeInstallStart(index, total, command), percentOf(index)),
      onCommand: (index, _command, result) => ctx.progress(INSTALL_STEP, describeInstallResult(result, total), percentOf(index + 1)),
    });
  } finally {
    conn.dispose();
  }
}
