/**
 * Guest provisioning against a real OpenSSH sshd standing in for a new VM: the agent's one-off key,
 * the bounded wait for SSH, and the install commands run one by one with their output reported,
 * failures named and the enrolment token never shown.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeSSH } from 'node-ssh';
import { JobCancelledError, JobContext, StepError } from '../../apps/agent/src/jobs/handler';
import { installAgentOverSsh } from '../../apps/agent/src/provisioning/install-agent';
import { GuestKeyPair, GuestKeyStore } from '../../apps/agent/src/provisioning/keys';
import { InstallCommandError, InstallCommandResult, runInstallCommands, SshHostKeyError, SshUnreachableError, waitForSsh } from '../../apps/agent/src/provisioning/ssh';
import { freePort } from '../support/ports';
import { SshdProcess, startSshd } from '../support/sshd';

const TOKEN = 'sfe_' + 'Q'.repeat(20) + 'secret-token-part' + 'z'.repeat(6);

let sshd: SshdProcess;
let stateDir: string;
let work: string;
let key: GuestKeyPair;
const open: NodeSSH[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  stateDir = mkdtempSync(path.join(tmpdir(), 'sysfleet-agent-state-'));
  work = mkdtempSync(path.join(tmpdir(), 'sysfleet-guest-work-'));
  // The key most tests log in with is authorised from the start; the first test makes its own.
  key = new GuestKeyStore(stateDir).ensure('guest1');
  appendFileSync(sshd.authorizedKeysFile, key.publicKey + '\n');
});

afterEach(() => {
  for (const c of open.splice(0)) c.dispose();
});

afterAll(async () => {
  await sshd?.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** A connection with the one-off key authorised in beforeAll. */
async function connected(): Promise<NodeSSH> {
  const conn = await waitForSsh({ host: sshd.host, port: sshd.port, username: sshd.user, privateKey: key.privateKey, attempts: 5, intervalMs: 200 });
  open.push(conn);
  return conn;
}

describe('waitForSsh', () => {
  it('keeps trying until the guest accepts the one-off key, then logs in with it', async () => {
    const late = new GuestKeyStore(stateDir).ensure('guest-late');
    const attempts: { attempt: number; error?: string }[] = [];
    const conn = await waitForSsh({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: late.privateKey,
      attempts: 20,
      intervalMs: 200,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      onAttempt: (attempt, _total, error) => {
        attempts.push({ attempt, error: error?.message });
        // The guest "finishes booting" (cloud-init writes the key) after two refused logins.
        if (attempt === 2) appendFileSync(sshd.authorizedKeysFile, late.publicKey + '\n');
      },
    });
    open.push(conn);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts[0].error).toMatch(/authentication methods failed/i);
    expect(attempts[1].error).toMatch(/authentication methods failed/i);
    expect(attempts[attempts.length - 1].error).toBeUndefined();
    const who = await conn.execCommand('id -un');
    expect(who.stdout.trim()).toBe(sshd.user);
    // sshd itself names the key it accepted: the one-off key, by the fingerprint the agent computed.
    expect(sshd.logs()).toContain(`Accepted publickey for ${sshd.user} from`);
    expect(sshd.logs()).toContain(late.fingerprint);
  });

  it('gives up after the bounded retries with an error that says where, how often and why', async () => {
    const port = await freePort();
    const seen: number[] = [];
    const attempt = waitForSsh({ host: '127.0.0.1', port, username: 'root', privateKey: key.privateKey, attempts: 3, intervalMs: 100, onAttempt: (n) => void seen.push(n) });
    await expect(attempt).rejects.toThrow(SshUnreachableError);
    await expect(attempt).rejects.toThrow(new RegExp(`^SSH to 127\\.0\\.0\\.1:${port} did not come up after 3 attempts over \\d+ s: .*ECONNREFUSED`));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('refuses at once a guest whose host key is not the pinned one', async () => {
    const seen: number[] = [];
    const attempt = waitForSsh({
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      privateKey: key.privateKey,
      attempts: 5,
      intervalMs: 100,
      hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43),
      onAttempt: (n) => void seen.push(n),
    });
    await expect(attempt).rejects.toThrow(SshHostKeyError);
    await expect(attempt).rejects.toThrow(`the host key is ${sshd.hostKeyFingerprint}`);
    expect(seen).toEqual([]);
  });

  it('stops waiting when the job is cancelled', async () => {
    const controller = new AbortController();
    const port = await freePort();
    const attempt = waitForSsh({
      host: '127.0.0.1', port, username: 'root', privateKey: key.privateKey, attempts: 1000, intervalMs: 100, signal: controller.signal,
      onAttempt: (n) => {
        if (n === 2) controller.abort();
      },
    });
    await expect(attempt).rejects.toThrow(JobCancelledError);
  });
});

describe('runInstallCommands', () => {
  it('runs the commands one by one, in order, reporting each exit status and output tail', async () => {
    const conn = await connected();
    const file = path.join(work, 'order.txt');
    const commands = [`echo one >> ${file}`, `echo two >> ${file}; echo "warning: to stderr" >&2`, `cat ${file}; printf 'bell\\007 \\033[31mred\\033[0m\\r\\n'`];
    const started: number[] = [];
    const reported: [number, string, InstallCommandResult][] = [];
    const results = await runInstallCommands(conn, commands, {
      onStart: (i) => {
        started.push(i);
      },
      onCommand: (i, command, result) => {
        reported.push([i, command, result]);
      },
    });
    expect(started).toEqual([0, 1, 2]);
    expect(reported.map(([i, c, r]) => [i, c, r.code])).toEqual([
      [0, commands[0], 0],
      [1, commands[1], 0],
      [2, commands[2], 0],
    ]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(results[1].stderrTail).toBe('warning: to stderr');
    // Terminal escapes and control characters from the guest are gone; the text stays.
    expect(results[2].stdoutTail).toBe('one\ntwo\nbell red');
    expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n');
  });

  it('stops at the first failing command, names it and masks the token everywhere', async () => {
    const conn = await connected();
    const marker = path.join(work, 'must-not-exist');
    const commands = [
      'echo preparing',
      `echo "enrolling with ${TOKEN}"; echo "server refused token ${TOKEN}" >&2; exit 3`,
      `touch ${marker}`,
    ];
    const reported: InstallCommandResult[] = [];
    const run = runInstallCommands(conn, commands, { secrets: [TOKEN], onCommand: (_i, _c, r) => void reported.push(r) });
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InstallCommandError);
    const message = (error as Error).message;
    expect(message).toContain('install command 2/3 failed (exit 3): echo "enrolling with ***"; echo "server refused token ***" >&2; exit 3');
    expect(message).toContain('server refused token ***');
    expect(message).not.toContain('secret-token-part');
    expect(reported.map((r) => r.code)).toEqual([0, 3]);
    expect(JSON.stringify(reported)).not.toContain('secret-token-part');
    expect(reported[1].stdoutTail).toBe('enrolling with ***');
    expect(existsSync(marker)).toBe(false);
  });

  it('keeps only the tail of a flood of output, token masked', async () => {
    const conn = await connected();
    const [result] = await runInstallCommands(conn, [`head -c 1000000 /dev/zero | tr '\\0' x; echo; echo "done ${TOKEN}"`], { secrets: [TOKEN] });
    expect(result.stdoutTail.length).toBeLessThanOrEqual(2049);
    expect(result.stdoutTail.startsWith('…x')).toBe(true);
    expect(result.stdoutTail.endsWith('\ndone ***')).toBe(true);
  });

  it('runs no further command once the job is cancelled', async () => {
    const conn = await connected();
    const marker = path.join(work, 'after-cancel');
    const controller = new AbortController();
    const run = runInstallCommands(conn, ['true', `touch ${marker}`], { signal: controller.signal, onCommand: () => controller.abort() });
    await expect(run).rejects.toThrow(JobCancelledError);
    expect(existsSync(marker)).toBe(false);
  });

  it('ends a command that runs past its time limit and reports it as timed out', async () => {
    const conn = await connected();
    const run = runInstallCommands(conn, ['sleep 30'], { timeoutMsPerCommand: 1000 });
    await expect(run).rejects.toThrow(/^install command 1\/1 failed \(timed out; it may still be running in the guest\): sleep 30$/);
    // The connection is still usable for the next step (e.g. collecting logs).
    expect((await conn.execCommand('echo still here')).stdout).toBe('still here');
  });
});

/** A JobContext like the runner's, recording the progress an operator would see. */
function recordingContext(): { ctx: JobContext; steps: { step: string; message: string; percent?: number }[] } {
  const steps: { step: string; message: string; percent?: number }[] = [];
  const controller = new AbortController();
  const ctx: JobContext = {
    jobId: '00000000-0000-4000-8000-000000000001',
    resumed: false,
    signal: controller.signal,
    progress: async (step, message, percent) => void steps.push({ step, message, percent }),
    throwIfCancelled: () => {
      if (controller.signal.aborted) throw new JobCancelledError();
    },
  };
  return { ctx, steps };
}

describe('installAgentOverSsh', () => {
  it('reports waiting for SSH and every command as job progress, token masked', async () => {
    const { ctx, steps } = recordingContext();
    const results = await installAgentOverSsh(ctx, {
      host: sshd.host,
      port: sshd.port,
      username: sshd.user,
      key,
      commands: ['echo fetching agent', `echo "enrol ${TOKEN}" >/dev/null && echo enrolled`],
      secrets: [TOKEN],
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      intervalMs: 200,
    });
    expect(results.map((r) => r.stdoutTail)).toEqual(['fetching agent', 'enrolled']);
    expect(steps.map((s) => s.step)).toEqual(['wait-ssh', 'wait-ssh', 'install-agent', 'install-agent', 'install-agent', 'install-agent']);
    expect(steps[0].message).toBe(`waiting for SSH on ${sshd.user}@${sshd.host}:${sshd.port} with the one-off key ${key.fingerprint}`);
    expect(steps[4].message).toBe('running command 2/2: echo "enrol ***" >/dev/null && echo enrolled');
    expect(steps[5].message).toBe('command 2/2 done (exit 0): echo "enrol ***" >/dev/null && echo enrolled\nenrolled');
    expect(JSON.stringify(steps)).not.toContain('secret-token-part');
    const percents = steps.map((s) => s.percent ?? 0);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
  });

  it('fails the job at the step that failed, with the failing command named', async () => {
    const { ctx, steps } = recordingContext();
    const error = await installAgentOverSsh(ctx, { host: sshd.host, port: sshd.port, username: sshd.user, key, commands: ['false'], secrets: [TOKEN] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).step).toBe('install-agent');
    expect((error as Error).message).toBe('install command 1/1 failed (exit 1): false');
    expect(steps[steps.length - 1].message).toBe('command 1/1 failed (exit 1): false');
  });

  it('fails at wait-ssh when the guest never answers, having said so along the way', async () => {
    const { ctx, steps } = recordingContext();
    const port = await freePort();
    const error = await installAgentOverSsh(ctx, { host: '127.0.0.1', port, username: 'root', key, commands: ['true'], secrets: [], attempts: 5, intervalMs: 50 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as StepError).step).toBe('wait-ssh');
    expect((error as Error).message).toMatch(/did not come up after 5 attempts/);
    expect(steps.map((s) => s.message)).toEqual([
      `waiting for SSH on root@127.0.0.1:${port} with the one-off key ${key.fingerprint}`,
      expect.stringMatching(new RegExp(`^SSH to root@127\\.0\\.0\\.1:${port} not up yet \\(attempt 5/5\\): .*ECONNREFUSED`)),
    ]);
  });
});
