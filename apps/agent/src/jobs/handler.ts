import type { CommandName } from '@sysfleet/protocol';

/** What a running command may do: report steps, notice cancellation, log. */
export interface JobContext {
  jobId: string;
  /** True when the agent restarted while this job ran and is carrying it out again. */
  resumed: boolean;
  /** Aborted when the operator cancels the job; check it (throwIfCancelled) at each safe point. */
  signal: AbortSignal;
  /** Records a step; written to the outbox before it is sent, so it is never lost. */
  progress(step: string, message: string, percent?: number): Promise<void>;
  /** Throws JobCancelledError when the job was cancelled. Call between steps. */
  throwIfCancelled(): void;
}

export class JobCancelledError extends Error {
  constructor() {
    super('cancelled by the operator');
  }
}

/** A failure that names the step that failed and what the tool printed. */
export class StepError extends Error {
  /** `result`: what a failed job.result carries besides the error (e.g. ChildCreateFailure). */
  constructor(readonly step: string, message: string, readonly result?: Record<string, unknown>) {
    super(message);
  }
}

/**
 * One typed command. `params` is the class used to validate the command's parameters
 * (class-validator, unknown fields refused) before `run` sees them.
 */
export interface CommandHandler<P extends object = object, R extends Record<string, unknown> = Record<string, unknown>> {
  command: CommandName;
  params: new () => P;
  run(params: P, ctx: JobContext): Promise<R>;
}
