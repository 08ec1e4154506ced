/**
 * A real OpenSSH sshd as a fake guest for e2e tests: the agent's provisioning code talks to it
 * exactly as to a new VM. Whatever a test (or the host simulator) writes to `authorizedKeysFile` is
 * what the "guest" accepts, and commands run as the current user on this machine.
 *
 * Needs /usr/sbin/sshd and ssh-keygen (Debian: openssh-server; `npm test` installs it). As root it
 * listens on port 22 of a loopback address of its own (127.0.0.2-254, so several can run at once)
 * and creates /run/sshd, sshd's privilege separation directory, if it is missing. Not as root: pass
 * a port >= 1024, make /run/sshd once (`sudo mkdir -p /run/sshd`), and only the current user can log in.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { waitFor } from './ports';

export const SSHD = '/usr/sbin/sshd';

export interface SshdOptions {
  /** Loopback address to listen on; default: a random one in 127.0.0.2-254, retried if taken. */
  host?: string;
  port?: number;
  /** Lines for authorized_keys from the start. */
  authorizedKeys?: string[];
}

export interface SshdProcess {
  host: string;
  port: number;
  /** The user to log in as: whoever runs the tests. */
  user: string;
  authorizedKeysFile: string;
  /** `SHA256:...` of the server's host key, for pinning. */
  hostKeyFingerprint: string;
  /** sshd's own log (it runs with -e, logging to stderr). */
  logs(): string;
  stop(): Promise<void>;
}

function randomLoopback(): string {
  return `127.0.0.${2 + Math.floor(Math.random() * 253)}`;
}

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startSshd(opts: SshdOptions = {}): Promise<SshdProcess> {
  const port = opts.port ?? 22;
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(path.join(tmpdir(), 'sysfleet-sshd-'));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sysfleet-test-guest', '-f', hostKey]);
  const hostKeyFingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1];
  const authorizedKeysFile = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, (opts.authorizedKeys ?? []).map((k) => k + '\n').join(''), { mode: 0o600 });

  // A taken address is only a problem when none was asked for: then try another.
  const tries = opts.host ? 1 : 5;
  let lastLogs = '';
  for (let i = 0; i < tries; i++) {
    const host = opts.host ?? randomLoopback();
    if (!opts.host && (await portOpen(host, port))) continue;
    const config = path.join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `ListenAddress ${host}:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${authorizedKeysFile}`,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'StrictModes no',
        'UsePAM no',
        'LogLevel VERBOSE',
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
    );
    let out = '';
    const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      await waitFor(`sshd on ${host}:${port}`, async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`sshd exited (${proc.exitCode ?? proc.signalCode}):\n${out.slice(-2000)}`);
        return portOpen(host, port);
      }, 10_000, 50);
    } catch (e) {
      proc.kill('SIGTERM');
      await exited;
      lastLogs = out;
      if (opts.host || !/Address already in use|Cannot bind/i.test(out)) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      continue;
    }
    return {
      host,
      port,
      user: userInfo().username,
      authorizedKeysFile,
      hostKeyFingerprint,
      logs: () => out,
      async stop() {
        if (proc.exitCode === null && proc.signalCode === null) {
          proc.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`no free loopback address for sshd on port ${port} after ${tries} tries${lastLogs ? `:\n${lastLogs.slice(-2000)}` : ''}`);
}
