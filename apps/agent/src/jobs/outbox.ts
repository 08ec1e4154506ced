import { mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { AgentEvent, JobProgressPayload, JobResultPayload, parsePayload, ServerAck } from '@sysfleet/protocol';
import { isPlainObject, readJsonFile, writeFileAtomic } from '../fs-util';
import type { Logger } from '../log';

export type OutboxEntry =
  | { name: string; event: typeof AgentEvent.JobProgress; payload: JobProgressPayload }
  | { name: string; event: typeof AgentEvent.JobResult; payload: JobResultPayload };
export type OutboxEvent = OutboxEntry['event'];

/** How the outbox reaches the server: `send` resolves with the server's raw ack, rejects on timeout or disconnect. */
export interface OutboxTransport {
  isConnected(): boolean;
  send(event: OutboxEvent, payload: object): Promise<unknown>;
}

/** How a flush ended: everything delivered (or refused), or stopped by a lost connection / missing ack. */
export type FlushOutcome = 'drained' | 'interrupted';

const ENTRY_FILE = /^(\d{16})\.json$/;

/**
 * job.progress and job.result on their way to the server. Each is on disk (fsynced) before it is sent,
 * removed only when the server acks `{ ok: true }`, and sent strictly in the order it was written, so
 * a dropped connection, a server restart or an agent crash loses nothing and reorders nothing.
 */
export class Outbox {
  private readonly entries: OutboxEntry[] = [];
  private counter = 0;
  private flushing?: Promise<FlushOutcome>;
  private flushAgain = false;
  readonly rejectedDir: string;

  constructor(readonly dir: string, private readonly log: Logger) {
    this.rejectedDir = path.join(dir, 'rejected');
    mkdirSync(this.rejectedDir, { recursive: true, mode: 0o700 });
    const names = readdirSync(dir).filter((n) => ENTRY_FILE.test(n)).sort();
    for (const name of names) {
      this.counter = Math.max(this.counter, Number(ENTRY_FILE.exec(name)![1]));
      const entry = this.readEntry(name);
      if (entry) this.entries.push(entry);
    }
  }

  /** Writes the message to disk (durably) and queues it; call flush() to send. */
  add(event: typeof AgentEvent.JobProgress, payload: JobProgressPayload): OutboxEntry;
  add(event: typeof AgentEvent.JobResult, payload: JobResultPayload): OutboxEntry;
  add(event: OutboxEvent, payload: JobProgressPayload | JobResultPayload): OutboxEntry {
    const checked = checkEntry(event, payload);
    if (!checked.ok) throw new Error(`refusing to queue an invalid ${event}: ${checked.error}`);
    this.counter += 1;
    const name = `${String(this.counter).padStart(16, '0')}.json`;
    writeFileAtomic(path.join(this.dir, name), JSON.stringify({ event, payload }) + '\n');
    const entry = { name, event, payload: checked.value } as OutboxEntry;
    this.entries.push(entry);
    return entry;
  }

  /** Messages not yet acknowledged, oldest first. */
  pending(): readonly OutboxEntry[] {
    return this.entries;
  }

  hasPendingResult(jobId: string): boolean {
    return this.entries.some((e) => e.event === AgentEvent.JobResult && e.payload.jobId === jobId);
  }

  /**
   * Sends pending messages one at a time, in order, while the transport is connected. Concurrent calls
   * share one run (and make it look again for messages added meanwhile).
   */
  flush(transport: OutboxTransport): Promise<FlushOutcome> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = this.drain(transport).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(transport: OutboxTransport): Promise<FlushOutcome> {
    do {
      this.flushAgain = false;
      while (this.entries.length > 0) {
        if (!transport.isConnected()) return 'interrupted';
        const entry = this.entries[0];
        let raw: unknown;
        try {
          raw = await transport.send(entry.event, entry.payload);
        } catch (e) {
          this.log.debug('outbox send not acknowledged; will resend', { event: entry.event, jobId: entry.payload.jobId, reason: (e as Error).message });
          return 'interrupted';
        }
        const ack = parsePayload(ServerAck, raw);
        if (!ack.ok) {
          this.log.warn('server sent an invalid ack; will resend', { event: entry.event, jobId: entry.payload.jobId, error: ack.error });
          return 'interrupted';
        }
        if (ack.value.ok) this.remove(entry);
        else this.reject(entry, ack.value.error ?? 'no reason given');
      }
    } while (this.flushAgain);
    return 'drained';
  }

  private remove(entry: OutboxEntry): void {
    unlinkOrIgnore(path.join(this.dir, entry.name));
    this.entries.splice(this.entries.indexOf(entry), 1);
  }

  /** The server refused the message as invalid: resending cannot help, so keep it aside for inspection. */
  private reject(entry: OutboxEntry, error: string): void {
    this.log.error('server refused a message; moved to outbox/rejected', { event: entry.event, jobId: entry.payload.jobId, error });
    writeFileAtomic(path.join(this.rejectedDir, entry.name), JSON.stringify({ event: entry.event, payload: entry.payload, error, rejectedAt: new Date().toISOString() }) + '\n');
    this.remove(entry);
  }

  private readEntry(name: string): OutboxEntry | undefined {
    const file = path.join(this.dir, name);
    let raw: unknown;
    try {
      raw = readJsonFile(file);
    } catch (e) {
      raw = (e as Error).message;
    }
    const event = isPlainObject(raw) ? raw.event : undefined;
    const checked = isPlainObject(raw) && (event === AgentEvent.JobProgress || event === AgentEvent.JobResult)
      ? checkEntry(event, raw.payload)
      : { ok: false as const, error: 'not an outbox entry' };
    if (checked.ok) return { name, event, payload: checked.value } as OutboxEntry;
    this.log.error('unreadable outbox entry moved to outbox/rejected', { file, error: checked.error });
    renameSync(file, path.join(this.rejectedDir, name));
    return undefined;
  }
}

function checkEntry(event: OutboxEvent, payload: unknown) {
  return event === AgentEvent.JobProgress ? parsePayload(JobProgressPayload, payload) : parsePayload(JobResultPayload, payload);
}

function unlinkOrIgnore(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
