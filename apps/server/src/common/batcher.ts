/**
 * Coalesces the calls made in one turn of the event loop into one call of `run` with all their
 * inputs: under load the messages of many agents arrive together, and one statement over a batch
 * of rows costs about what one row does. Nothing is cached: each call sees the database as its
 * batch finds it. Equal inputs (`===`) in one batch are passed to `run` once and share the answer.
 */
export class Batcher<I, O> {
  private pending: { input: I; resolve: (v: O | undefined) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly run: (inputs: I[]) => Promise<Map<I, O>>,
    private readonly maxBatch = 500,
  ) {}

  /** The answer `run` gave for `input`, or undefined when it gave none. */
  call(input: I): Promise<O | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let answers: Promise<Map<I, O>>;
    try {
      answers = this.run([...new Set(batch.map((b) => b.input))]);
    } catch (e) {
      answers = Promise.reject(e);
    }
    answers.then(
      (found) => batch.forEach((b) => b.resolve(found.get(b.input))),
      (e: unknown) => batch.forEach((b) => b.reject(e)),
    );
  }
}
