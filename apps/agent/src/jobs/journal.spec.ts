import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobCommandPayload } from '@sysfleet/protocol';
import { silentLogger } from '../log';
import { Journal } from './journal';

const cmd = (jobId: string): JobCommandPayload => ({ jobId, type: 'inventory.refresh', params: {}, deadline: '2099-01-01T00:00:00.000Z' });
const A = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const B = '7f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const C = '8f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';

describe('Journal', () => {
  let dir: string;
  beforeEach(() => (dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'sfa-journal-')), 'journal')));
  afterEach(() => rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('remembers accepted jobs across restarts and refuses to accept one twice', () => {
    new Journal(dir, silentLogger).accept(cmd(A));
    const reopened = new Journal(dir, silentLogger);
    expect(reopened.get(A)).toMatchObject({ jobId: A, state: 'accepted', type: 'inventory.refresh' });
    expect(() => reopened.accept(cmd(A))).toThrow(/already in the journal/);
  });

  it('lists unfinished jobs in arrival order after a restart, with their progress seq', () => {
    const j = new Journal(dir, silentLogger);
    j.accept(cmd(B));
    j.accept(cmd(A));
    j.accept(cmd(C));
    j.markRunning(B);
    expect(j.nextSeq(B, 'one')).toBe(1);
    expect(j.nextSeq(B, 'two')).toBe(2);
    j.finish(A, { jobId: A, status: 'succeeded', finishedAt: new Date().toISOString() });
    const after = new Journal(dir, silentLogger);
    expect(after.unfinished().map((e) => [e.jobId, e.state])).toEqual([[B, 'running'], [C, 'accepted']]);
    expect(after.get(B)).toMatchObject({ seq: 2, lastStep: 'two' });
    expect(after.nextSeq(B, 'three')).toBe(3);
    expect(after.finishedNotQueued().map((e) => e.jobId)).toEqual([A]);
    after.markResultQueued(A);
    expect(new Journal(dir, silentLogger).finishedNotQueued()).toEqual([]);
  });

  it('prunes finished jobs older than 7 days, never unfinished ones', () => {
    const j = new Journal(dir, silentLogger);
    const old = new Date('2026-01-01T00:00:00.000Z');
    j.accept(cmd(A), old);
    j.finish(A, { jobId: A, status: 'succeeded', finishedAt: old.toISOString() });
    j.markResultQueued(A);
    j.accept(cmd(B), old);
    j.accept(cmd(C), old);
    j.finish(C, { jobId: C, status: 'failed', error: 'x', finishedAt: '2026-01-07T00:00:00.000Z' });
    j.markResultQueued(C);
    expect(j.prune(new Date('2026-01-09T00:00:00.000Z'))).toBe(1);
    expect(j.get(A)).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual([`${B}.json`, `${C}.json`].sort());
  });

  it('ignores a malformed entry file', () => {
    new Journal(dir, silentLogger);
    writeFileSync(path.join(dir, `${A}.json`), JSON.stringify({ jobId: A, state: 'weird' }));
    expect(new Journal(dir, silentLogger).get(A)).toBeUndefined();
  });
});
