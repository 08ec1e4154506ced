/**
 * A real OpenSSH sshd as a fake guest for e2e tests: the agent's provisioning code talks to it
 * exactly as to a new VM. Whatever a test (or the host simulator) writes to `authorizedKeysFile` is
 * what the "guest" accepts, for any user, and commands run as the user who logged in on this machine:
 * the current user, or an ordinary user made by createSudoGuestUser who elevates with sudo.
 *
 * Needs /usr/sbin/sshd and ssh-keygen (Debian: openssh-server; `npm test` installs it). As root it
 * listens on port 22 of a loopback address of its own (127.0.0.2-254, so several can run at once)
 * and creates /run/sshd, sshd's privilege separation directory, if it is missing. Not as root: pass
 * a port >= 1024, make /run/sshd once (`sudo mkdir -p /run/sshd`), and only the current user can log in.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  // sshd reads it as the user logging in: readable by all (public keys only; the host key stays 0600),
  // so an ordinary user (createSudoGuestUser) logs in with the same keys as the current one.
  writeFileSync(authorizedKeysFile, (opts.authorizedKeys ?? []).map((k) => k + '\n').join(''), { mode: 0o644 });
  chmodSync(authorizedKeysFile, 0o644);
  chmodSync(dir, 0o711);

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

export interface SudoGuestUser {
  /** The ordinary user to log in as; its install commands need `sudo -n` to act as root. */
  name: string;
  /** Removes the user, its home and its sudoers rule. */
  remove(): void;
}

/**
 * An ordinary (non-root) user on this machine who may elevate with `sudo -n` and no password, as the
 * default user of a cloud image may: cloud-init writes `<user> ALL=(ALL) NOPASSWD:ALL` for it. The
 * test sshd logs anyone in whose key is in its authorized_keys file, so a guest created with
 * `username: <name>` logs in as this user and its install commands run through sudo.
 *
 * Needs root (useradd, /etc/sudoers.d) and sudo (Debian: sudo; `npm test` installs it). The account
 * gets `*` as its password: a locked account (`!`, useradd's default) is refused by sshd without PAM.
 */
export function createSudoGuestUser(name: string): SudoGuestUser {
  if (process.getuid?.() !== 0) throw new Error(`creating the guest user ${name} needs root (useradd and /etc/sudoers.d); run the e2e tests as root`);
  if (spawnSync('sh', ['-c', 'command -v sudo'], { encoding: 'utf8' }).status !== 0) throw new Error('sudo is not installed: apt-get install -y sudo (npm test installs it)');
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(name)) throw new Error(`invalid user name ${name}`);
  const rule = `/etc/sudoers.d/${name}`;
  const remove = () => {
    rmSync(rule, { force: true });
    spawnSync('userdel', ['-r', '-f', name], { stdio: 'ignore' });
  };
  // A user left behind by an interrupted run is made afresh.
  if (spawnSync('id', ['-u', name], { stdio: 'ignore' }).status === 0) remove();
  execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', '--password', '*', name]);
  try {
    mkdirSync('/etc/sudoers.d', { recursive: true, mode: 0o755 });
    writeFileSync(rule, `${name} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
    // A rule sudo cannot parse would break every sudo on this machine: check it before relying on it.
    if (existsSync('/usr/sbin/visudo')) execFileSync('/usr/sbin/visudo', ['-c', '-q', '-f', rule]);
    const who = execFileSync('su', ['-s', '/bin/sh', name, '-c', 'sudo -n id -un'], { encoding: 'utf8' }).trim();
    if (who !== 'root') throw new Error(`sudo -n id -un as ${name} printed ${JSON.stringify(who)}, not root`);
  } catch (e) {
    remove();
    throw e;
  }
  return { name, remove };
}
