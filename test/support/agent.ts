import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './server';

export const AGENT_BUNDLE = path.join(ROOT, 'apps/agent/dist/sysfleet-agent.cjs');

export interface AgentOptions {
  serverUrl: string;
  /** Made under the OS temp dir (and removed by cleanup()) when not given. */
  stateDir?: string;
  enrollmentToken?: string;
  simulate?: 'kvm' | 'vmm' | 'wsl';
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Extra environment, e.g. { SYSFLEET_AGENT_STEP_DELAY_MS: '500' } to slow every job step down. */
  env?: Record<string, string>;
}

export interface AgentProcess {
  stateDir: string;
  /** The current process (a new one after restart()). */
  readonly proc: ChildProcess;
  /** Everything the agent logged (stderr and stdout) across restarts. */
  logs(): string;
  /** Runs `sysfleet-agent fingerprint` on the same state dir. */
  fingerprint(): Promise<string>;
  /** Sends the signal (default SIGTERM) and waits for the process to exit; SIGKILL simulates a crash. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the agent (if running) and starts it again with the same state dir and options. */
  restart(): Promise<void>;
  /** kill() and remove the state dir if this helper made it. */
  cleanup(): Promise<void>;
}

/** Starts the built agent bundle (`npx nx run @sysfleet/agent:build` first) as a real process. */
export function startAgent(opts: AgentOptions): AgentProcess {
  const ownDir = !opts.stateDir;
  const stateDir = opts.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'sysfleet-agent-'));
  const args = ['run', '--server', opts.serverUrl, '--state-dir', stateDir, '--log-level', opts.logLevel ?? 'debug'];
  if (opts.enrollmentToken) args.push('--enrollment-token', opts.enrollmentToken);
  if (opts.simulate) args.push('--simulate', opts.simulate);
  let out = '';
  let proc: ChildProcess;
  let exited: Promise<void>;

  const spawnAgent = () => {
    proc = spawn(process.execPath, [AGENT_BUNDLE, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  };

  spawnAgent();
  return {
    stateDir,
    get proc() {
      return proc;
    },
    logs: () => out,
    fingerprint: () =>
      new Promise((resolve, reject) => {
        execFile(process.execPath, [AGENT_BUNDLE, 'fingerprint', '--state-dir', stateDir], (err, stdout, stderr) => {
          if (err) reject(new Error(`fingerprint failed: ${stderr || err.message}`));
          else resolve(stdout.trim());
        });
      }),
    kill,
    async restart() {
      await kill();
      spawnAgent();
    },
    async cleanup() {
      await kill();
      if (ownDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
