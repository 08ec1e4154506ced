import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { JobCommandPayload, JobResultPayload, parsePayload } from '@sysfleet/protocol';
import { isPlainObject, readJsonFile, writeFileAtomic } from '../fs-util';
import type { Logger } from '../log';

export type JournalState = 'accepted' | 'running' | 'finished';

/** One job this agent has accepted: what to run, how far it got, and (once finished) its result. */
export interface JournalEntry {
  jobId: string;
  type: string;
  params: Record<string, unknown>;
  deadline: string;
  state: JournalState;
  /** Arrival order, so unfinished jobs resume in the order they came. */
  order: number;
  acceptedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Last job.progress seq used; the next step gets seq + 1, across restarts. */
  seq: number;
  lastStep?: string;
  result?: JobResultPayload;
  /** The result has been written to the outbox (it may have been delivered since). */
  resultQueued?: boolean;
}

export const JOURNAL_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const UUID_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/i;

/**
 * The agent's memory of every job it accepted: written (fsynced) before a command is acked, so a
 * redelivered command is recognised and never run twice, and a job cut short by a crash is resumed.
 */
export class Journal {
  private readonly entries = new Map<string, JournalEntry>();
  private order = 0;

  constructor(readonly dir: string, private readonly log: Logger) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir)) {
      const m = UUID_FILE.exec(name);
      if (!m) continue;
      const entry = this.readEntry(path.join(dir, name));
      if (entry && entry.jobId === m[1]) {
        this.entries.set(entry.jobId, entry);
        this.order = Math.max(this.order, entry.order);
      }
    }
  }

  get(jobId: string): JournalEntry | undefined {
    return this.entries.get(jobId);
  }

  /** Records a new job as accepted (durably); call before acking the command. */
  accept(cmd: JobCommandPayload, now = new Date()): JournalEntry {
    if (this.entries.has(cmd.jobId)) throw new Error(`job ${cmd.jobId} is already in the journal`);
    this.order += 1;
    const entry: JournalEntry = {
      jobId: cmd.jobId, type: cmd.type, params: cmd.params, deadline: cmd.deadline,
      state: 'accepted', order: this.order, acceptedAt: now.toISOString(), seq: 0,
    };
    this.write(entry);
    return entry;
  }

  markRunning(jobId: string, now = new Date()): JournalEntry {
    return this.update(jobId, { state: 'running', startedAt: now.toISOString() });
  }

  /** Reserves the next progress seq of a job (persisted, so a resumed job never reuses one). */
  nextSeq(jobId: string, step: string): number {
    const entry = this.update(jobId, { seq: this.mustGet(jobId).seq + 1, lastStep: step });
    return entry.seq;
  }

  /** Stores the final result; the entry is finished from here on, whatever happens next. */
  finish(jobId: string, result: JobResultPayload): JournalEntry {
    return this.update(jobId, { state: 'finished', finishedAt: result.finishedAt, result, resultQueued: false });
  }

  markResultQueued(jobId: string): JournalEntry {
    return this.update(jobId, { resultQueued: true });
  }

  /** Jobs accepted or started but not finished, in arrival order. */
  unfinished(): JournalEntry[] {
    return [...this.entries.values()].filter((e) => e.state !== 'finished').sort((a, b) => a.order - b.order);
  }

  /** Finished jobs whose result may not have reached the outbox (the agent stopped in between). */
  finishedNotQueued(): JournalEntry[] {
    return [...this.entries.values()].filter((e) => e.state === 'finished' && !e.resultQueued).sort((a, b) => a.order - b.order);
  }

  /** Forgets finished jobs older than the retention period; returns how many were removed. */
  prune(now = new Date(), maxAgeMs = JOURNAL_RETENTION_MS): number {
    let removed = 0;
    for (const entry of [...this.entries.values()]) {
      if (entry.state !== 'finished' || !entry.resultQueued) continue;
      if (now.getTime() - Date.parse(entry.finishedAt ?? entry.acceptedAt) <= maxAgeMs) continue;
      try {
        unlinkSync(this.fileOf(entry.jobId));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      this.entries.delete(entry.jobId);
      removed += 1;
    }
    return removed;
  }

  private mustGet(jobId: string): JournalEntry {
    const entry = this.entries.get(jobId);
    if (!entry) throw new Error(`job ${jobId} is not in the journal`);
    return entry;
  }

  private update(jobId: string, patch: Partial<JournalEntry>): JournalEntry {
    const entry = { ...this.mustGet(jobId), ...patch };
    this.write(entry);
    return entry;
  }

  private write(entry: JournalEntry): void {
    writeFileAtomic(this.fileOf(entry.jobId), JSON.stringify(entry) + '\n');
    this.entries.set(entry.jobId, entry);
  }

  private fileOf(jobId: string): string {
    return path.join(this.dir, `${jobId}.json`);
  }

  private readEntry(file: string): JournalEntry | undefined {
    let raw: unknown;
    try {
      raw = readJsonFile(file);
    } catch (e) {
      this.log.error('unreadable journal entry ignored', { file, error: (e as Error).message });
      return undefined;
    }
    const cmd = isPlainObject(raw) ? parsePayload(JobCommandPayload, { jobId: raw.jobId, type: raw.type, params: raw.params, deadline: raw.deadline }) : undefined;
    const valid = isPlainObject(raw) && cmd?.ok
      && (raw.state === 'accepted' || raw.state === 'running' || raw.state === 'finished')
      && typeof raw.order === 'number' && typeof raw.seq === 'number' && typeof raw.acceptedAt === 'string'
      && (raw.state !== 'finished' || parsePayload(JobResultPayload, raw.result).ok);
    if (!valid) {
      this.log.error('malformed journal entry ignored', { file });
      return undefined;
    }
    return raw as unknown as JournalEntry;
  }
}
