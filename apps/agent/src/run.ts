import { execFile } from 'node:child_process';

/**
 * The agent's one way to start a process: execFile with an argument array (never a shell),
 * a timeout, a cap on captured output and an optional AbortSignal for cancellation.
 */
export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Keep stdout as raw bytes (e.g. wsl.exe's UTF-16LE). */
  binary?: boolean;
  maxBuffer?: number;
}

export interface RunResult {
  command: string;
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  timedOut: boolean;
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    super(`${[result.command, ...result.args].join(' ')} ${result.timedOut ? 'timed out' : `exited with ${result.code}`}: ${tail(result.stderr || result.stdout, 1500)}`);
  }
}

/** Last `max` characters of a tool's output, trimmed: what an operator needs to see of a failure. */
export function tail(text: string, max = 2000): string {
  const t = text.trim();
  return t.length <= max ? t : '…' + t.slice(t.length - max);
}

/** Runs a command and resolves with its result whatever the exit code; rejects only if it cannot be started. */
export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        encoding: 'buffer',
        timeout: opts.timeoutMs ?? 60_000,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        signal: opts.signal,
        maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
        if (err && typeof err.code === 'string' && err.code !== 'ABORT_ERR' && err.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          reject(new Error(`cannot run ${command}: ${err.message}`));
          return;
        }
        const out = Buffer.isBuffer(stdout) ? stdout : Buffer.from(stdout ?? '');
        resolve({
          command,
          args,
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          stdout: opts.binary ? '' : out.toString('utf8'),
          stderr: (Buffer.isBuffer(stderr) ? stderr : Buffer.from(stderr ?? '')).toString('utf8'),
          stdoutBytes: out,
          timedOut: Boolean(err?.killed && !opts.signal?.aborted),
        });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command and throws CommandError unless it exits 0. */
export async function runChecked(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const result = await run(command, args, opts);
  if (result.code !== 0) throw new CommandError(result);
  return result;
}
