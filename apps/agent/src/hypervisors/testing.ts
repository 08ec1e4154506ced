import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulationEnvironment, SimulationEnvironment, updateSimState } from '@sysfleet/host-sim';
import { JobCancelledError, JobContext } from '../jobs/handler';

/** A JobContext for tests that records every progress step; `cancelAtStep` cancels the job when that step is first reported. */
export function recordingContext(cancelAtStep?: string): JobContext & { steps: { step: string; message: string; percent?: number }[] } {
  const steps: { step: string; message: string; percent?: number }[] = [];
  const controller = new AbortController();
  return {
    jobId: 'test-job',
    resumed: false,
    signal: controller.signal,
    steps,
    progress: async (step, message, percent) => {
      steps.push({ step, message, percent });
      if (step === cancelAtStep) controller.abort();
    },
    throwIfCancelled: () => {
      if (controller.signal.aborted) throw new JobCancelledError();
    },
  };
}


/** A fresh simulated host in a temp dir; the simulator's executables need `npx nx run @sysfleet/host-sim:build`. */
export function simulatedHost(kind: 'kvm' | 'vmm' | 'wsl'): SimulationEnvironment & { stateDir: string; processEnv: NodeJS.ProcessEnv; cleanup(): void } {
  const built = join(__dirname, '../../../../libs/host-sim/dist/cli.js');
  if (!existsSync(built)) throw new Error('host-sim is not built: run `npx nx run @sysfleet/host-sim:build` first');
  const stateDir = mkdtempSync(join(tmpdir(), `sysfleet-sim-${kind}-`));
  const sim = simulationEnvironment(kind, stateDir);
  return { ...sim, stateDir, processEnv: { ...process.env, ...sim.env }, cleanup: () => rmSync(stateDir, { recursive: true, force: true }) };
}

/**
 * Makes a simulated Linux host look KVM-initialised without running the initialise job: libvirt,
 * QEMU and the image tools installed (not OVMF), libvirtd running, the default NAT network up.
 */
export function markKvmInitialised(stateDir: string): void {
  updateSimState(stateDir, (s) => {
    s.packages.push('qemu-kvm', 'qemu-utils', 'cloud-image-utils', 'virtinst', 'libvirt-clients', 'libvirt-daemon-system');
    s.services.libvirtd = { enabled: true, running: true };
    s.networks.push({ name: 'default', uuid: 'u', forward: 'nat', bridge: 'virbr0', active: true, autostart: true, persistent: true });
  });
}

/** Serves `bytes` on loopback as a distribution's image would be; `url` names the file `name`. */
export async function serveImage(bytes: Buffer, name: string): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => res.end(bytes));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`, close: () => server.close() };
}
