/**
 * Coalesces the lookups made in one turn of the event loop into one query: under load, the messages
 * of many agents arrive together, and one `WHERE id = ANY($1)` costs about what one row does.
 * No cache: every call sees the database as it is when its batch runs.
 */
export class BatchLoader<K, V> {
  private pending: { key: K; resolve: (v: V | undefined) => void; reject: (e: unknown) => void }[] = [];

  constructor(
    private readonly load: (keys: K[]) => Promise<Map<K, V>>,
    private readonly maxBatch = 500,
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ key, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.load([...new Set(batch.map((b) => b.key))]).then(
      (found) => batch.forEach((b) => b.resolve(found.get(b.key))),
      (e: unknown) => batch.forEach((b) => b.reject(e)),
    );
  }
}
