/** Exponential backoff with jitter: reconnect attempts of many agents spread out instead of arriving together. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Share of the delay randomised either way (0.5: from half to one and a half times). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based), never above maxMs. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** Math.max(0, attempt));
  const jittered = base * (1 + opts.jitter * (random() * 2 - 1));
  return Math.round(Math.min(opts.maxMs, Math.max(1, jittered)));
}

/** The delay used once nothing but a long wait makes sense (refused host): around the cap. */
export function cappedDelay(opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return backoffDelay(Number.MAX_SAFE_INTEGER, opts, random);
}
