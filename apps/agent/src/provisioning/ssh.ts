import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel } from 'ssh2';
import { utils } from 'ssh2';
import { HOSTNAME_PATTERN } from '@sysfleet/protocol';
import { JobCancelledError, StepError } from '../jobs/handler';
import { tail } from '../run';

/**
 * How the agent reaches a new guest and installs the agent in it: wait until the guest's sshd takes
 * the one-off key, then run the (server-filled) install commands one by one. Everything the guest
 * prints is untrusted: it is capped, stripped of control characters and has secrets masked before
 * it goes into a progress message or an error.
 */

export interface WaitForSshOptions {
  host: string;
  port?: number;
  username: string;
  /** The one-off key's private half (GuestKeyStore), OpenSSH format. */
  privateKey: string;
  /** How many connection attempts before giving up (default 30). */
  attempts?: number;
  /** Pause between attempts (default 5000 ms). */
  intervalMs?: number;
  /** Limit of one attempt: TCP connect, handshake and authentication (default 10000 ms). */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  /** Called after each attempt: the error when it failed, undefined when it got in. */
  onAttempt?(attempt: number, attempts: number, error: Error | undefined): void | Promise<void>;
  /** Pin the guest's host key (`SHA256:...`) when it is known in advance; otherwise the first key is taken. */
  hostKeyFingerprint?: string;
}

/** Job steps of provisioning, as they appear in job progress and as a failed job's `failedStep`. */
export const WAIT_SSH_STEP = 'wait-ssh';
export const INSTALL_STEP = 'install-agent';

/** SSH never came up within the bounded retries. */
export class SshUnreachableError extends StepError {
  constructor(message: string) {
    super(WAIT_SSH_STEP, message);
  }
}

/** The guest presented a host key other than the pinned one: not retried, it may not be our guest. */
export class SshHostKeyError extends StepError {
  constructor(message: string) {
    super(WAIT_SSH_STEP, message);
  }
}

const MAX_GUEST_MESSAGE = 300;

/** Connects to the guest, retrying while it boots; resolves with the open connection. */
export async function waitForSsh(opts: WaitForSshOptions): Promise<NodeSSH> {
  const port = opts.port ?? 22;
  const attempts = opts.attempts ?? 30;
  const intervalMs = opts.intervalMs ?? 5000;
  if (!(isIP(opts.host) || HOSTNAME_PATTERN.test(opts.host))) throw new Error(`invalid guest address ${JSON.stringify(opts.host.slice(0, 80))}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid SSH port ${port}`);
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error(`attempts must be a positive integer, not ${attempts}`);
  // A key ssh2 cannot read would fail every attempt the same way: say so at once.
  const parsed = utils.parseKey(opts.privateKey);
  if (parsed instanceof Error) throw new Error(`the guest key cannot be used: ${parsed.message}`);

  const where = `${isIP(opts.host) === 6 ? `[${opts.host}]` : opts.host}:${port}`;
  const started = Date.now();
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    throwIfAborted(opts.signal);
    let offeredKey: string | undefined;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: opts.host,
        port,
        username: opts.username,
        privateKey: opts.privateKey,
        readyTimeout: opts.readyTimeoutMs ?? 10_000,
        // Only the one-off key: no agent forwarding, no password, no keyboard-interactive.
        tryKeyboard: false,
        hostVerifier: opts.hostKeyFingerprint
          ? (key: Buffer) => {
              offeredKey = 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
              return offeredKey === opts.hostKeyFingerprint;
            }
          : undefined,
      });
    } catch (e) {
      ssh.dispose();
      if (offeredKey && offeredKey !== opts.hostKeyFingerprint) {
        throw new SshHostKeyError(`SSH to ${where}: the host key is ${offeredKey}, expected ${opts.hostKeyFingerprint}; not connecting`);
      }
      lastError = new Error(cleanGuestText(e instanceof Error ? e.message : String(e), [], MAX_GUEST_MESSAGE) || 'unknown error');
      await opts.onAttempt?.(attempt, attempts, lastError);
      if (attempt < attempts) await sleep(intervalMs, opts.signal);
      continue;
    }
    try {
      throwIfAborted(opts.signal);
      await opts.onAttempt?.(attempt, attempts, undefined);
    } catch (e) {
      ssh.dispose();
      throw e;
    }
    return ssh;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  throw new SshUnreachableError(`SSH to ${where} did not come up after ${attempts} attempts over ${seconds} s: ${lastError?.message ?? 'no attempt was made'}`);
}

export interface InstallCommandResult {
  index: number;
  /** The command as given, secrets masked: safe to show. */
  command: string;
  /** Exit status; null when the command was killed, timed out or the connection dropped. */
  code: number | null;
  /** Signal name when the guest reported the command was killed by one. */
  signal?: string;
  timedOut: boolean;
  /** Last ~2 KB of each stream, cleaned and masked. */
  stdoutTail: string;
  stderrTail: string;
}

export interface RunInstallOptions {
  /** Strings never to show (the enrolment token, ...): replaced by *** in every message. */
  secrets?: string[];
  /** Checked between commands: a cancelled job runs no further command. */
  signal?: AbortSignal;
  /** Default 15 minutes: package installs on a slow mirror take a while. */
  timeoutMsPerCommand?: number;
  /**
   * Run each command as root through `sudo -n sh -c '<command>'` (Linux) or `doas -n sh -c '<command>'`
   * (OpenBSD) when logged in as an ordinary user; leave out when logged in as root.
   */
  elevate?: Elevator;
  /** How much of each stream to keep for messages (default 2048 bytes). */
  tailBytes?: number;
  onStart?(index: number, command: string): void | Promise<void>;
  onCommand?(index: number, command: string, result: InstallCommandResult): void | Promise<void>;
}

/** An install command failed; `command` says how and what it printed. The message is safe to show. */
export class InstallCommandError extends StepError {
  constructor(readonly command: InstallCommandResult, total: number) {
    super(INSTALL_STEP, `install command ${command.index + 1}/${total} failed (${outcome(command)}): ${shorten(command.command)}${outputOf(command) ? `\n${outputOf(command)}` : ''}`);
  }
}

/**
 * Runs `commands` in the guest one by one, in order, and stops at the first that fails. Commands are
 * sent as given (the server filled their templates); nothing is interpolated here.
 */
export async function runInstallCommands(conn: NodeSSH, commands: string[], opts: RunInstallOptions = {}): Promise<InstallCommandResult[]> {
  const client = conn.connection;
  if (!client || !conn.isConnected()) throw new Error('not connected to the guest');
  const secrets = (opts.secrets ?? []).filter((s) => s.length > 0);
  const results: InstallCommandResult[] = [];
  for (let index = 0; index < commands.length; index++) {
    throwIfAborted(opts.signal);
    const shown = cleanGuestText(commands[index], secrets, Infinity);
    await opts.onStart?.(index, shown);
    const toRun = opts.elevate ? `${opts.elevate} -n sh -c ${shellQuote(commands[index])}` : commands[index];
    const tailBytes = opts.tailBytes ?? 2048;
    // Keep a little more than the tail: outputTail drops the start, where a secret may be cut.
    const raw = await execOne(client, toRun, opts.timeoutMsPerCommand ?? 15 * 60_000, tailBytes + longest(secrets) + 64);
    const result: InstallCommandResult = {
      index,
      command: shown,
      code: raw.code,
      timedOut: raw.timedOut,
      stdoutTail: outputTail(raw.stdout, secrets, tailBytes),
      stderrTail: outputTail(raw.stderr, secrets, tailBytes),
    };
    if (raw.signal) result.signal = cleanGuestText(raw.signal, [], 32);
    results.push(result);
    await opts.onCommand?.(index, shown, result);
    if (result.code !== 0) throw new InstallCommandError(result, commands.length);
  }
  return results;
}

/** The guest's elevation commands in order of preference: the first that `command -v` finds is used. */
export const ELEVATORS = ['sudo', 'doas'] as const;
export type Elevator = (typeof ELEVATORS)[number];

/**
 * Which of sudo and doas the guest has, asked with `command -v sudo || command -v doas` as the user
 * logged in: cloud images have sudo, Alpine's have doas. Neither fails the install step at once,
 * before any command runs, with a message saying what to do.
 */
export async function detectElevation(conn: Pick<NodeSSH, 'execCommand'>, username: string): Promise<Elevator> {
  const probe = ELEVATORS.map((e) => `command -v ${e}`).join(' || ');
  const r = await conn.execCommand(probe);
  const found = r.code === 0 ? r.stdout.trim().split('\n')[0].split('/').pop() : undefined;
  const elevator = ELEVATORS.find((e) => e === found);
  if (!elevator) {
    throw new StepError(INSTALL_STEP, `the install commands need root, but ${username} has neither sudo nor doas in the guest (\`${probe}\` found nothing): install one in the image, or create the VM with username root`);
  }
  return elevator;
}

/** The progress message for a command about to run. */
export function describeInstallStart(index: number, total: number, command: string): string {
  return `running command ${index + 1}/${total}: ${shorten(command)}`;
}

/** A one-line progress message for a finished command, within job.progress's 4000 characters. */
export function describeInstallResult(result: InstallCommandResult, total: number): string {
  const out = outputOf(result);
  return `command ${result.index + 1}/${total} ${result.code === 0 ? 'done' : 'failed'} (${outcome(result)}): ${shorten(result.command)}${out ? `\n${out}` : ''}`;
}

function outcome(r: InstallCommandResult): string {
  if (r.timedOut) return 'timed out; it may still be running in the guest';
  if (r.code !== null) return `exit ${r.code}`;
  return r.signal ? `killed by ${r.signal}` : 'connection lost before it finished';
}

/** What a failure shows of the output: stderr when there is any, else stdout. */
function outputOf(r: InstallCommandResult): string {
  return r.stderrTail || r.stdoutTail;
}

function shorten(text: string, max = 500): string {
  return text.length <= max ? text : text.slice(0, max) + '…';
}

/** POSIX sh single-quoting: the command reaches `sh -c` byte for byte. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Replaces every occurrence of each secret with `***` (longest first, so no part of one survives). */
export function maskSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

/* eslint-disable no-control-regex -- these patterns are there to find control characters */
/** Terminal control sequences: colours, cursor moves (CSI) and window titles (OSC). */
const CSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
const OSC = /\x1b\][^\x07\x1b]*(\x07|\x1b\\)?/g;
const UNSHOWABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
/* eslint-enable no-control-regex */

/**
 * Makes guest text safe to show: terminal escape sequences and control characters go (newline and
 * tab stay; a carriage return becomes a newline), as do bidi overrides and line separators that
 * would let output disguise itself in a UI; secrets are masked before and after, and the result is
 * cut to its last `max` characters.
 */
export function cleanGuestText(text: string, secrets: string[], max: number): string {
  let out = maskSecrets(text, secrets).replace(CSI, '').replace(OSC, '').replace(/\r\n?/g, '\n').replace(UNSHOWABLE, '');
  out = maskSecrets(out, secrets);
  return max === Infinity ? out : tail(out, max);
}

/** The cleaned tail of a captured stream. */
export function outputTail(captured: CapturedOutput, secrets: string[], max: number): string {
  let text = captured.bytes.toString('utf8');
  if (captured.truncated) {
    // A secret cut at the start of the kept window cannot be recognised any more: mask the rest,
    // then drop as much of the start as a secret could reach into.
    text = maskSecrets(text, secrets).slice(longest(secrets));
  }
  const cleaned = cleanGuestText(text, secrets, max);
  return captured.truncated && cleaned && !cleaned.startsWith('…') ? '…' + cleaned : cleaned;
}

function longest(secrets: string[]): number {
  return secrets.reduce((m, s) => Math.max(m, Buffer.byteLength(s)), 0);
}

export interface CapturedOutput {
  bytes: Buffer;
  truncated: boolean;
}

/** Keeps only the last `limit` bytes of a stream, however much the guest prints. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0].length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
      this.dropped = true;
    }
  }

  get captured(): CapturedOutput {
    const all = Buffer.concat(this.chunks);
    const cut = all.length > this.limit;
    return { bytes: cut ? all.subarray(all.length - this.limit) : all, truncated: this.dropped || cut };
  }
}

interface ExecOutcome {
  code: number | null;
  signal?: string;
  timedOut: boolean;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
}

/** One command over an exec channel: no pty, stdin closed at once (nothing may wait for input). */
function execOne(client: Client, command: string, timeoutMs: number, keepBytes: number): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
      if (err) {
        reject(new Error(`could not start the command in the guest: ${cleanGuestText(err.message, [], MAX_GUEST_MESSAGE)}`));
        return;
      }
      const stdout = new TailBuffer(keepBytes);
      const stderr = new TailBuffer(keepBytes);
      let code: number | null = null;
      let signal: string | undefined;
      let timedOut = false;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code: timedOut ? null : code, signal, timedOut, stdout: stdout.captured, stderr: stderr.captured });
      };
      const timer = setTimeout(() => {
        timedOut = true;
        // sshd closes the channel only when the command exits and does not always deliver signals,
        // so the wait ends here; the channel is closed and the command is asked to die.
        try {
          stream.signal('KILL');
          stream.close();
        } catch {
          /* the channel may already be closing */
        }
        finish();
      }, timeoutMs);
      stream.on('data', (d: Buffer) => stdout.push(d));
      stream.stderr.on('data', (d: Buffer) => stderr.push(d));
      stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
        if (typeof exitCode === 'number') code = exitCode;
        else if (typeof exitSignal === 'string') signal = exitSignal;
      });
      stream.on('close', finish);
      stream.end();
    });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new JobCancelledError();
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new JobCancelledError());
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(new JobCancelledError());
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
