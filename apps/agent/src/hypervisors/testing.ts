import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulationEnvironment, SimulationEnvironment } from '@sysfleet/host-sim';
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
