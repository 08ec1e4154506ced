import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ChildCreateFailure, ChildDistribution, NAME_PATTERN, SHA256_HEX_PATTERN } from '@sysfleet/protocol';
import { JobCancelledError, JobContext, StepError } from '../jobs/handler';
import { run, tail } from '../run';
import { progress } from './host';

/**
 * What every driver's child.create shares: the image cache, the bounded retry budgets, and the
 * record of what a create made so a failure (or a cancellation) can take it back.
 */

/** Retry budgets of a create; SYSFLEET_CHILD_* env knobs shorten them (tests) or stretch them (slow guests). */
export interface ChildTimings {
  sshAttempts: number;
  sshIntervalMs: number;
  ipAttempts: number;
  ipIntervalMs: number;
  /** vmd: how long the unattended install may run before the create gives up. */
  installTimeoutMs: number;
}

function positiveInt(env: NodeJS.ProcessEnv, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new StepError('validate', `${key}=${raw} is not a positive integer`);
  return n;
}

export function childTimings(env: NodeJS.ProcessEnv): ChildTimings {
  return {
    sshAttempts: positiveInt(env, 'SYSFLEET_CHILD_SSH_ATTEMPTS', 60),
    sshIntervalMs: positiveInt(env, 'SYSFLEET_CHILD_SSH_INTERVAL_MS', 5000),
    ipAttempts: positiveInt(env, 'SYSFLEET_CHILD_IP_ATTEMPTS', 60),
    ipIntervalMs: positiveInt(env, 'SYSFLEET_CHILD_IP_INTERVAL_MS', 2000),
    installTimeoutMs: positiveInt(env, 'SYSFLEET_CHILD_INSTALL_TIMEOUT_MS', 60 * 60_000),
  };
}

/** Names reach tools as arguments and file names: checked again here, whatever the caller validated. */
export function checkChildName(name: string): string {
  if (!NAME_PATTERN.test(name) || name.includes('..')) throw new StepError('validate', `invalid VM name ${JSON.stringify(name.slice(0, 80))}`);
  return name;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new JobCancelledError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new JobCancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a create has made so far, newest last, each with how to take it back. */
export class CreatedResources {
  private readonly items: { what: string; undo: () => Promise<void> }[] = [];

  add(what: string, undo: () => Promise<void>): void {
    this.items.push({ what, undo });
  }

  get made(): string[] {
    return this.items.map((i) => i.what);
  }

  /**
   * After a failure: removes everything (newest first) unless `keep`, and returns the failure result.
   * An undo that fails is reported, not hidden: then cleanedUp is false and `kept` says what is left.
   */
  async rollBack(keep: boolean, ctx: JobContext): Promise<ChildCreateFailure> {
    if (this.items.length === 0) return { cleanedUp: true };
    if (keep) {
      const kept = this.made.join(', ');
      await ctx.progress('cleanup', `kept for debugging (keepOnFailure): ${kept}`).catch(() => undefined);
      return { cleanedUp: false, kept: kept.slice(0, 2000) };
    }
    const left: string[] = [];
    const removed: string[] = [];
    for (const item of [...this.items].reverse()) {
      try {
        await item.undo();
        removed.push(item.what);
      } catch (e) {
        left.push(`${item.what} (${(e as Error).message.slice(0, 200)})`);
      }
    }
    const message = `removed ${removed.join(', ') || 'nothing'}${left.length ? `; could not remove ${left.join(', ')}` : ''}`;
    await ctx.progress('cleanup', message).catch(() => undefined);
    return left.length ? { cleanedUp: false, kept: left.join(', ').slice(0, 2000) } : { cleanedUp: true };
  }
}

/**
 * Runs a create: on any failure or cancellation, rolls back what it made (unless keepOnFailure) and
 * rethrows as a StepError carrying ChildCreateFailure, so the server knows whether anything is left.
 */
export async function withRollback<T>(ctx: JobContext, keepOnFailure: boolean, body: (made: CreatedResources) => Promise<T>): Promise<T> {
  const made = new CreatedResources();
  try {
    return await body(made);
  } catch (e) {
    const failure = await made.rollBack(keepOnFailure, ctx);
    const step = e instanceof StepError ? e.step : 'create';
    const message = e instanceof Error ? e.message : String(e);
    const suffix = failure.cleanedUp ? (made.made.length ? ' (everything it made was removed)' : '') : `; left on the host: ${failure.kept}`;
    throw new StepError(step, message + suffix, { ...failure });
  }
}

function imageFileName(url: string): string {
  const name = basename(new URL(url).pathname);
  return /^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$/.test(name) ? name : 'image';
}

/**
 * The expected SHA-256 of the image: the pinned one, else looked up in checksumUrl's list (GNU
 * `<hex>  [*]<file>`, BSD `SHA256 (<file>) = <hex>`, or a file holding one hash). A list without an
 * entry for the file, or only SHA-512 entries, fails here: nothing is downloaded unchecked.
 */
export async function expectedChecksum(distribution: ChildDistribution, signal?: AbortSignal): Promise<{ algorithm: 'sha256' | 'sha512'; hex: string }> {
  if (distribution.sha256) return { algorithm: 'sha256', hex: distribution.sha256 };
  if (!distribution.checksumUrl || !distribution.imageUrl) throw new StepError('verify-image', 'the distribution has neither a pinned sha256 nor a checksumUrl: refusing an unchecked image');
  const res = await fetch(distribution.checksumUrl, { signal });
  if (!res.ok) throw new StepError('verify-image', `GET ${distribution.checksumUrl}: HTTP ${res.status}`);
  const text = (await res.text()).slice(0, 4 * 1024 * 1024);
  const file = imageFileName(distribution.imageUrl);
  return parseChecksumList(text, file) ?? (() => {
    throw new StepError('verify-image', `${distribution.checksumUrl} lists no checksum for ${file}`);
  })();
}

export function parseChecksumList(text: string, file: string): { algorithm: 'sha256' | 'sha512'; hex: string } | null {
  const algo = (hex: string) => (hex.length === 64 ? 'sha256' : 'sha512') as 'sha256' | 'sha512';
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (const line of lines) {
    const gnu = /^([a-fA-F0-9]{64}|[a-fA-F0-9]{128})\s+\*?(.+)$/.exec(line);
    if (gnu && basename(gnu[2].replace(/^\.\//, '')) === file) return { algorithm: algo(gnu[1]), hex: gnu[1].toLowerCase() };
    const bsd = /^SHA(256|512) \((.+)\) = ([a-fA-F0-9]+)$/.exec(line);
    if (bsd && basename(bsd[2]) === file && bsd[3].length === (bsd[1] === '256' ? 64 : 128)) return { algorithm: algo(bsd[3]), hex: bsd[3].toLowerCase() };
  }
  if (lines.length === 1 && /^([a-fA-F0-9]{64}|[a-fA-F0-9]{128})$/.test(lines[0])) return { algorithm: algo(lines[0]), hex: lines[0].toLowerCase() };
  return null;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** How long unpacking one image may take (a multi-GB raw disk on a slow host). */
const UNPACK_MS = 30 * 60_000;

/**
 * Unpacks a verified `.xz` download into `target` with the host's xz (run.ts, argument array, no
 * shell): the download is renamed to `<tmp>.xz` and `xz --decompress` writes `<tmp>` next to it
 * (xz's -c would stream to stdout, which run() buffers in memory; an image does not fit). Nothing
 * half-unpacked is left behind on failure.
 */
export async function unpackXz(packed: string, target: string, signal?: AbortSignal): Promise<void> {
  const raw = `${packed}.raw`;
  const xzFile = `${raw}.xz`;
  try {
    await rename(packed, xzFile);
    let r;
    try {
      r = await run('xz', ['--decompress', '--quiet', '--', xzFile], { timeoutMs: UNPACK_MS, signal });
    } catch (e) {
      if (/ENOENT/.test((e as Error).message)) throw new StepError('verify-image', 'xz is not installed on this host (Debian/Ubuntu: xz-utils; Fedora/AlmaLinux/Alpine: xz): cannot unpack the .xz image');
      throw e;
    }
    if (signal?.aborted) throw new JobCancelledError();
    if (r.code !== 0) {
      const what = r.timedOut ? `timed out after ${UNPACK_MS / 1000} s` : `exited with ${r.code}`;
      throw new StepError('verify-image', `xz --decompress ${basename(packed)} ${what}: ${tail(r.stderr || r.stdout, 1000) || '(no output)'}`);
    }
    await rename(raw, target);
  } finally {
    await rm(raw, { force: true });
    await rm(xzFile, { force: true });
  }
}

/**
 * The distribution's image in the cache `<stateDir>/images/`, downloaded (to a temp file, hashed on
 * the way) and verified first when it is not there yet. Cached files are named by their checksum, so
 * a changed image never reuses a stale one. A mismatch fails step `verify-image` and leaves nothing.
 * `.gz` and `.xz` images are unpacked after the check (the checksum is of the file as downloaded).
 */
export async function cachedImage(cacheRoot: string, distribution: ChildDistribution, ctx: JobContext, percents: { fetch: number; verify: number }): Promise<string> {
  if (!distribution.imageUrl) throw new StepError('fetch-image', 'the distribution has no imageUrl');
  const url = distribution.imageUrl;
  const file = imageFileName(url);
  const cacheDir = join(cacheRoot, 'images');
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  await progress(ctx, 'fetch-image', `looking up the checksum of ${file}`, percents.fetch);
  const expected = await expectedChecksum(distribution, ctx.signal);
  if (!SHA256_HEX_PATTERN.test(expected.hex) && expected.hex.length !== 128) throw new StepError('verify-image', 'bad checksum');
  const unpacked = file.replace(/\.(gz|xz)$/, '');
  const cached = join(cacheDir, `${expected.hex.slice(0, 16)}-${unpacked}`);
  if (await exists(cached)) {
    await progress(ctx, 'fetch-image', `${file} already in the image cache`, percents.fetch);
    await progress(ctx, 'verify-image', `cached ${unpacked} (${expected.algorithm} ${expected.hex.slice(0, 16)}…) verified when it was downloaded`, percents.verify);
    return cached;
  }
  const part = join(cacheDir, `.${file}.${randomBytes(4).toString('hex')}.part`);
  try {
    await progress(ctx, 'fetch-image', `downloading ${url}`, percents.fetch);
    const res = await fetch(url, { signal: ctx.signal });
    if (!res.ok || !res.body) throw new StepError('fetch-image', `GET ${url}: HTTP ${res.status}`);
    const hash = createHash(expected.algorithm);
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(body, createWriteStream(part, { mode: 0o644 }));
    const size = (await stat(part)).size;
    await progress(ctx, 'fetch-image', `downloaded ${file} (${size} bytes)`, percents.fetch + 1);
    const actual = hash.digest('hex');
    if (actual !== expected.hex) throw new StepError('verify-image', `checksum mismatch for ${file}: expected ${expected.algorithm} ${expected.hex}, got ${actual}; the download was removed`);
    await progress(ctx, 'verify-image', `${expected.algorithm} of ${file} matches ${expected.hex.slice(0, 16)}…`, percents.verify);
    if (file.endsWith('.gz')) {
      const raw = `${part}.raw`;
      try {
        await pipeline(createReadStream(part), createGunzip(), createWriteStream(raw, { mode: 0o644 }));
        await rename(raw, cached);
      } finally {
        await rm(raw, { force: true });
      }
    } else if (file.endsWith('.xz')) {
      await progress(ctx, 'verify-image', `unpacking ${file} with xz`, percents.verify);
      await unpackXz(part, cached, ctx.signal);
    } else await rename(part, cached);
    return cached;
  } catch (e) {
    if (ctx.signal.aborted) throw new JobCancelledError();
    throw e;
  } finally {
    await rm(part, { force: true });
  }
}
