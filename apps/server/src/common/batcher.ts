export interface BatcherOptions {
  /** Inputs per call of `run`; a full batch goes at once. */
  maxBatch?: number;
  /** Batches running at a time; calls made meanwhile wait and go together. */
  maxInFlight?: number;
  /**
   * A batch whose `run` fails is run again one input at a time, so that an input that makes the
   * statement fail (a row whose parent was deleted meanwhile) fails only the calls that passed it.
   * For all-or-nothing writes: the failed batch changed nothing.
   */
  isolateFailures?: boolean;
  /**
   * When calls arrived while a batch was running (the kind is under load), the next batch waits
   * this long for more to join; an unloaded call still goes at the end of its turn.
   */
  lingerMs?: number;
}

/**
 * For the statements every agent connection makes (the handshake's host lookup, the hello's UPDATE,
 * which also takes inventory results' facts, presence, the hypervisor report, roles): one at a time,
 * and under load 10 ms more for others to join: a reconnect storm of 10,000 was 14,200 statements of
 * about three rows and is 5,700 of about seven (each statement costs the server a write and Postgres
 * a wake-up, a plan and a commit whatever its size). The job path keeps the default two in flight
 * and no wait, where one at a time cost a fifth of the sustained rate.
 */
export const CONNECTION_PATH: BatcherOptions = { maxInFlight: 1, lingerMs: 10 };

/**
 * Coalesces calls into one call of `run` with all their inputs: under load the messages of many
 * agents arrive together, and one statement over a batch of rows costs about what one row does.
 * A batch goes at the end of the turn its first call was made in, unless `maxInFlight` batches are
 * still running: then calls wait and go together when one of them settles (after `lingerMs`), so
 * the batch grows with the load (a storm of hellos is a few statements, not one per turn) while an
 * unloaded call waits for nothing. Nothing is cached: each call sees the database as its batch
 * finds it. Equal inputs (`===`) in one batch are passed to `run` once and share the answer.
 */
export class Batcher<I, O> {
  private pending: { input: I; resolve: (v: O | undefined) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  private readonly opts: Required<BatcherOptions>;

  constructor(
    private readonly run: (inputs: I[]) => Promise<Map<I, O>>,
    opts: BatcherOptions = {},
  ) {
    this.opts = { maxBatch: 500, maxInFlight: 2, isolateFailures: false, lingerMs: 0, ...opts };
  }

  /** The answer `run` gave for `input`, or undefined when it gave none. */
  call(input: I): Promise<O | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      // A full batch goes at once whatever is in flight: batches stay bounded.
      if (this.pending.length >= this.opts.maxBatch) this.flush();
      else this.schedule();
    });
  }

  /** `loaded`: calls arrived while a batch was running. */
  private schedule(loaded = false): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      if (this.inFlight < this.opts.maxInFlight) this.flush();
    };
    if (loaded && this.opts.lingerMs > 0) setTimeout(go, this.opts.lingerMs);
    else setImmediate(go);
  }

  private flush(): void {
    const batch = this.pending.splice(0, this.opts.maxBatch);
    if (batch.length === 0) return;
    const inputs = [...new Set(batch.map((b) => b.input))];
    this.inFlight++;
    this.runSafely(inputs)
      .then(
        (found) => batch.forEach((b) => b.resolve(found.get(b.input))),
        async (e: unknown) => {
          if (!this.opts.isolateFailures || inputs.length < 2) return batch.forEach((b) => b.reject(e));
          const alone = await Promise.all(inputs.map((input) => this.runSafely([input]).then((found) => ({ found }), (error: unknown) => ({ error }))));
          const byInput = new Map(inputs.map((input, i) => [input, alone[i]]));
          for (const b of batch) {
            const outcome = byInput.get(b.input)!;
            if ('found' in outcome) b.resolve(outcome.found.get(b.input));
            else b.reject(outcome.error);
          }
        },
      )
      .finally(() => {
        this.inFlight--;
        this.schedule(true);
      });
  }

  private runSafely(inputs: I[]): Promise<Map<I, O>> {
    try {
      return this.run(inputs);
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

/** PostgreSQL's SQLSTATE for a statement aborted to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

/**
 * Runs a statement again when PostgreSQL aborted it to break a deadlock. Only for statements that
 * are all-or-nothing and conditional (batch writes): the aborted run changed nothing.
 */
export async function retryOnDeadlock<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      const code = (e as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (e as { code?: string }).code;
      if (code !== DEADLOCK_DETECTED || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
    }
  }
}
