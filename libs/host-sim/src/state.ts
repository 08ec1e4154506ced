import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Which hypervisor host the state directory simulates. */
export type SimKind = 'kvm' | 'vmm' | 'wsl';
export type SimPlatform = 'linux' | 'openbsd' | 'windows';
export const SIM_PLATFORM: Record<SimKind, SimPlatform> = { kvm: 'linux', vmm: 'openbsd', wsl: 'windows' };

/** Fault injection and per-host settings, read from `$SYSFLEET_SIM_STATE/sim.json` on every call. */
export interface SimConfig {
  /** `"<tool> <words...>"` -> stderr: a call whose arguments contain those words (in order) fails with exit 1. */
  fail?: Record<string, string>;
  /** The CPU has no VMX/SVM: no vmx/svm flags, no /dev/kvm or /dev/vmm. */
  noCpuSupport?: boolean;
  /** A reboot is pending whatever the tools did (Windows). */
  needsReboot?: boolean;
  /** Every tool call sleeps this long first. */
  delayMs?: number;
  /** The IPv4 address a guest gets from DHCP (e2e tests point it at a loopback sshd). */
  guestIp?: string;
  /** The Linux package manager present on the simulated host. */
  packageManager?: 'apt-get' | 'dnf' | 'zypper' | 'pacman' | 'apk';
  /**
   * The simulator's stand-in for cloud-init / autoinstall inside a guest: `cloud-localds` (user-data
   * `ssh_authorized_keys`) and a vmd install (install.conf "Public ssh key" answers) write the keys they
   * find into this file, so a real sshd the test points at it accepts the agent's one-off key.
   */
  guestAuthorizedKeysFile?: string;
  /** Append every tool call (tool and arguments) to calls.jsonl, read back with readSimCalls(); off by default so long demos do not grow a log. */
  recordCalls?: boolean;
}

export interface SimNetwork {
  name: string;
  uuid: string;
  forward: 'nat' | 'bridge' | 'route' | 'open' | 'isolated';
  bridge: string;
  ipAddress?: string;
  netmask?: string;
  dhcpStart?: string;
  dhcpEnd?: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
}

/** A libvirt domain, vmd VM or WSL distribution: the shape the child-VM work extends. */
export interface SimMachine {
  name: string;
  uuid: string;
  /** Runtime id while running (virsh Id / vmctl ID), else null. */
  id: number | null;
  state: 'running' | 'shut off' | 'paused';
  vcpus: number;
  memoryKiB: number;
  diskPath?: string;
  diskBytes?: number;
  mac: string;
  network?: string;
  /** IPv4 the guest holds while running; falls back to the config's guestIp. */
  ip?: string;
  autostart: boolean;
  /** WSL only: distribution version (1 or 2). */
  wslVersion?: number;
  /** Every disk image attached (virt-install --disk device=disk, vmctl -d), removed by undefine --remove-all-storage. */
  disks?: string[];
  /** vmd: started from install media (-r); the simulated installer has run once the VM is next stopped. */
  installMedia?: string;
  /** WSL: the distribution's directory (its file system is this machine's, commands run with it as cwd). */
  guestDir?: string;
  /** KVM: the domain's firmware (`<os firmware='efi'>` from virt-install --boot uefi); absent or bios is SeaBIOS. */
  firmware?: 'bios' | 'efi';
  /** KVM UEFI: the OVMF code file, the domain's own NVRAM (variable store) and the template it was copied from. */
  loader?: string;
  nvram?: string;
  nvramTemplate?: string;
  /** vmd: what `vmctl status` shows for the VM's process, console and owner (defaults: 40000 + ID, ttyp<ID-1>, root). */
  pid?: number;
  tty?: string;
  owner?: string;
}

export interface SimState {
  version: 1;
  kind: SimKind;
  /** Packages installed through the simulated package manager (Linux). */
  packages: string[];
  /** systemd units (Linux) or rc.d daemons (OpenBSD). */
  services: Record<string, { enabled: boolean; running: boolean }>;
  networks: SimNetwork[];
  machines: SimMachine[];
  nextId: number;
  /** OpenBSD: installed firmware packages (fw_update). */
  firmware: string[];
  /** Network interfaces: physical ones and those created with ifconfig (OpenBSD) / ip (Linux). */
  interfaces: Record<string, { members: string[]; inet?: string; up: boolean; created: boolean }>;
  wsl: { installed: boolean; rebootPending: boolean; defaultVersion: number; defaultDistribution?: string };
  /** Kernel settings changed at run time (OpenBSD sysctl), and pf's loaded rule file. */
  settings: Record<string, string>;
}

export const STATE_FILE = 'state.json';
export const CONFIG_FILE = 'sim.json';

export function initialState(kind: SimKind): SimState {
  const physical = kind === 'vmm' ? 'em0' : kind === 'kvm' ? 'eth0' : 'Ethernet';
  return {
    version: 1,
    kind,
    packages: [],
    services: kind === 'vmm' ? { vmd: { enabled: false, running: false } } : {},
    networks: [],
    machines: [],
    nextId: 1,
    firmware: [],
    interfaces: { [physical]: { members: [], up: true, created: false }, ...(kind === 'kvm' ? { br0: { members: [physical], up: true, created: false } } : {}) },
    wsl: { installed: false, rebootPending: false, defaultVersion: 2 },
    settings: {},
  };
}

export function readConfig(stateDir: string): SimConfig {
  try {
    return JSON.parse(readFileSync(join(stateDir, CONFIG_FILE), 'utf8')) as SimConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
}

export function readState(stateDir: string): SimState {
  return JSON.parse(readFileSync(join(stateDir, STATE_FILE), 'utf8')) as SimState;
}

/** Writes through a temp file and rename, so a reader never sees half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

const LOCK_STALE_MS = 30_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `fn` holding the state directory's lock (a lock file created with O_EXCL, retried),
 * so concurrent tool calls never lose each other's changes. A lock older than 30 s is taken over:
 * its holder died.
 */
export function withLock<T>(stateDir: string, fn: () => T): T {
  const lock = join(stateDir, 'state.lock');
  mkdirSync(stateDir, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock);
      } catch {
        // The holder released it meanwhile.
      }
      if (attempt > 3000) throw new Error(`host-sim: state lock ${lock} is held too long`);
      sleepSync(5);
    }
  }
  try {
    return fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      // Already gone (taken over as stale).
    }
  }
}

/** Reads, changes and writes the state under the lock. */
export function updateState<T>(stateDir: string, fn: (state: SimState) => T): T {
  return withLock(stateDir, () => {
    const state = readState(stateDir);
    const result = fn(state);
    writeJsonAtomic(join(stateDir, STATE_FILE), state);
    return result;
  });
}
