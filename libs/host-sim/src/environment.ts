import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { CONFIG_FILE, initialState, readConfig, readState, SIM_PLATFORM, SimConfig, SimKind, SimPlatform, STATE_FILE, updateState, withLock, writeJsonAtomic } from './state';

export interface SimulationEnvironment {
  platform: SimPlatform;
  osName: string;
  osVersion: string;
  kernel: string;
  /** The simulated host's file system root (`$SYSFLEET_SIM_STATE/root`). */
  hostRoot: string;
  /** Environment for the agent and its tools: the sim's bin dir first on PATH, SYSFLEET_SIM_STATE, SYSFLEET_HOST_ROOT, SYSFLEET_HOST_PLATFORM. */
  env: Record<string, string>;
}

const OS: Record<SimKind, { osName: string; osVersion: string; kernel: string }> = {
  kvm: { osName: 'Debian GNU/Linux', osVersion: '12', kernel: '6.1.0-28-amd64' },
  vmm: { osName: 'OpenBSD', osVersion: '7.6', kernel: '7.6' },
  wsl: { osName: 'Microsoft Windows 11 Pro', osVersion: '10.0.22631', kernel: '10.0.22631' },
};

/**
 * The directory holding bin/<platform>/: $SYSFLEET_HOST_SIM_BIN when set (the agent is bundled by esbuild,
 * so __dirname may be anywhere), else libs/host-sim/bin found walking up from this file.
 */
export function simBinRoot(): string {
  const fromEnv = process.env.SYSFLEET_HOST_SIM_BIN;
  if (fromEnv) return resolve(fromEnv);
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, 'libs', 'host-sim', 'bin');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error('host-sim: cannot find libs/host-sim/bin; set SYSFLEET_HOST_SIM_BIN');
  }
}

export function simBinDir(platform: SimPlatform): string {
  return join(simBinRoot(), platform);
}

/**
 * Creates the simulated host in `stateDir` (once: an existing state is kept) and returns its description
 * and the environment that makes the agent's tool calls reach the simulator.
 */
export function simulationEnvironment(kind: SimKind, stateDir: string): SimulationEnvironment {
  const dir = resolve(stateDir);
  const platform = SIM_PLATFORM[kind];
  withLock(dir, () => {
    if (!existsSync(join(dir, STATE_FILE))) writeJsonAtomic(join(dir, STATE_FILE), initialState(kind));
  });
  const existing = readState(dir);
  if (existing.kind !== kind) throw new Error(`host-sim: ${dir} already simulates a ${existing.kind} host, not ${kind}`);
  renderHostRoot(dir);
  const hostRoot = join(dir, 'root');
  return {
    platform,
    ...OS[kind],
    hostRoot,
    env: {
      PATH: [simBinDir(platform), process.env.PATH ?? ''].filter(Boolean).join(delimiter),
      SYSFLEET_SIM_STATE: dir,
      SYSFLEET_HOST_ROOT: hostRoot,
      SYSFLEET_HOST_PLATFORM: platform,
    },
  };
}

/** Merges `partial` into sim.json (fault injection, guest IP, ...) and re-renders the host files that depend on it. */
export function configureSimulation(stateDir: string, partial: SimConfig): SimConfig {
  const dir = resolve(stateDir);
  const merged = withLock(dir, () => {
    const next = { ...readConfig(dir), ...partial };
    writeJsonAtomic(join(dir, CONFIG_FILE), next);
    return next;
  });
  if (existsSync(join(dir, STATE_FILE))) renderHostRoot(dir);
  return merged;
}

/** The simulated host reboots: pending installs complete and every VM is off. */
export function simulateReboot(stateDir: string): void {
  updateState(resolve(stateDir), (state) => {
    if (state.wsl.rebootPending) {
      state.wsl.rebootPending = false;
      state.wsl.installed = true;
    }
    for (const m of state.machines) {
      m.state = m.autostart ? m.state : 'shut off';
      if (m.state === 'shut off') m.id = null;
    }
    for (const [name, svc] of Object.entries(state.services)) state.services[name] = { enabled: svc.enabled, running: svc.enabled };
    for (const n of state.networks) n.active = n.autostart;
    // OpenBSD: run-time sysctl changes are gone; rc(8) applies /etc/sysctl.conf (text after # is a comment).
    if (state.kind === 'vmm') {
      delete state.settings['net.inet.ip.forwarding'];
      let conf = '';
      try {
        conf = readFileSync(join(resolve(stateDir), 'root/etc/sysctl.conf'), 'utf8');
      } catch {
        // No /etc/sysctl.conf: the defaults stay.
      }
      for (const raw of conf.split('\n')) {
        const m = /^\s*([a-z0-9_.]+)\s*=\s*(\S+)\s*$/.exec(raw.replace(/#.*$/, ''));
        if (m && m[1] === 'net.inet.ip.forwarding') state.settings[m[1]] = m[2];
      }
    }
  });
}

const CPUINFO_FLAGS =
  'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon rep_good nopl xtopology cpuid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault invpcid_single ssbd ibrs ibpb stibp tpr_shadow flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt xsaveopt xsavec xgetbv1 xsaves arat umip md_clear arch_capabilities';

const PF_CONF = `#	$OpenBSD: pf.conf,v 1.55 2017/12/03 20:40:04 sthen Exp $
#
# See pf.conf(5) and /etc/examples/pf.conf

set skip on lo

block return	# block stateless traffic
pass		# establish keep-state

# By default, do not permit remote connections to X11
block return in on ! lo0 proto tcp to port 6000:6010

# Port build user does not need network
block return out log proto {tcp udp} user _pbuild
`;

const DEBIAN_OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.debian.org/"\nSUPPORT_URL="https://www.debian.org/support"\nBUG_REPORT_URL="https://bugs.debian.org/"\n';
const ALPINE_OS_RELEASE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\nHOME_URL="https://alpinelinux.org/"\nBUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n';

function writeIfMissing(file: string, content: string): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

function setPresent(file: string, present: boolean, content = ''): void {
  if (present) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  } else rmSync(file, { force: true });
}

/** Writes the simulated host's files under root/: the ones config can change are rewritten every time. */
export function renderHostRoot(stateDir: string): void {
  const state = readState(stateDir);
  const config = readConfig(stateDir);
  const root = join(stateDir, 'root');
  const cpu = !config.noCpuSupport;
  if (state.kind === 'kvm') {
    // packageManager "apk" simulates Alpine Linux (OpenRC, no systemd); the others keep the Debian profile.
    setPresent(join(root, 'etc/os-release'), true, config.packageManager === 'apk' ? ALPINE_OS_RELEASE : DEBIAN_OS_RELEASE);
    const flags = cpu ? CPUINFO_FLAGS.replace('pni pclmulqdq', 'pni pclmulqdq vmx') : CPUINFO_FLAGS.replace(/ (tpr_shadow|flexpriority|ept|vpid|ept_ad)\b/g, '');
    const cores = [0, 1]
      .map((n) => `processor\t: ${n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\ncpu MHz\t\t: 2095.078\ncache size\t: 28160 KB\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: ${n}\ncpu cores\t: 2\nflags\t\t: ${flags}\n`)
      .join('\n');
    setPresent(join(root, 'proc/cpuinfo'), true, cores + '\n');
    setPresent(join(root, 'dev/kvm'), cpu);
  } else if (state.kind === 'vmm') {
    const features = `FPU,VME,DE,PSE,TSC,MSR,PAE,MCE,CX8,APIC,SEP,MTRR,PGE,MCA,CMOV,PAT,PSE36,CFLUSH,MMX,FXSR,SSE,SSE2,SS,HTT,SSE3,PCLMUL${cpu ? ',VMX' : ''},SSSE3,FMA3,CX16,PCID,SSE4.1,SSE4.2,x2APIC,MOVBE,POPCNT,DEADLINE,AES,XSAVE,AVX,F16C,RDRAND,NXE,PAGE1GB,RDTSCP,LONG,LAHF,ABM,3DNOWP,ITSC,FSGSBASE,BMI1,AVX2,SMEP,BMI2,ERMS,INVPCID,RDSEED,ADX,SMAP,CLFLUSHOPT,MD_CLEAR,XSAVEOPT,XSAVEC,XGETBV1,XSAVES`;
    const dmesg = [
      'OpenBSD 7.6 (GENERIC.MP) #338: Mon Sep 30 08:55:35 MDT 2024',
      '    deraadt@amd64.openbsd.org:/usr/src/sys/arch/amd64/compile/GENERIC.MP',
      'real mem = 17162555392 (16367MB)',
      'avail mem = 16622260224 (15852MB)',
      'mainbus0 at root',
      'cpu0 at mainbus0: apid 0 (boot processor)',
      'cpu0: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz, 2095.08 MHz, 06-55-07',
      `cpu0: ${features}`,
      ...(cpu ? ['vmm0 at mainbus0: VMX/EPT'] : []),
      'em0 at pci0 dev 3 function 0 "Intel 82540EM" rev 0x03: apic 0 int 11, address 52:54:00:12:34:56',
      '',
    ].join('\n');
    setPresent(join(root, 'var/run/dmesg.boot'), true, dmesg);
    setPresent(join(root, 'dev/vmm'), cpu);
    writeIfMissing(join(root, 'etc/pf.conf'), PF_CONF);
  } else {
    writeIfMissing(join(root, 'Windows/System32/drivers/etc/hosts'), '# Copyright (c) 1993-2009 Microsoft Corp.\r\n');
  }
}

/** Tests inspect the state directly. */
export { readState as readSimState, readConfig as readSimConfig };
