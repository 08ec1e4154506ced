/**
 * The benchmark harness at smoke size, through the same code as `npm run bench`: a real server,
 * load-generator processes with real keys, all six scenarios. Asserts correctness only (every
 * enrolment succeeds, every job result stored exactly once, every agent back after a restart),
 * never time: figures must merely have been measured.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBench, BenchReport } from '../bench/run';
import { SIZES } from '../bench/lib/sizes';
import { ROOT } from '../support/server';

jest.setTimeout(170_000);

describe('benchmark harness (smoke size)', () => {
  const keysDir = mkdtempSync(path.join(os.tmpdir(), 'sysfleet-bench-keys-'));
  let report: BenchReport;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, 'test/bench/build.mjs')], { stdio: 'inherit' });
    report = await runBench({ size: SIZES.smoke, distDir: path.join(ROOT, 'test/bench/dist'), resultsDir: null, keysDir, log: () => undefined });
  });

  afterAll(() => rmSync(keysDir, { recursive: true, force: true }));

  it('runs the baseline and all six scenarios to the end', () => {
    const ran = report.scenarios.filter((s) => !s.error).map((s) => s.id);
    expect(report.scenarios.filter((s) => s.error).map((s) => `${s.name}: ${s.error}`)).toEqual([]);
    expect(new Set(ran)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6]));
  });

  it('passes every correctness check: no enrolment failure, every result stored exactly once, every agent back', () => {
    const failed = report.scenarios.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `[${s.id}] ${c.label}: ${c.detail ?? ''}`));
    expect(failed).toEqual([]);
    expect(report.ok).toBe(true);
    const labels = report.scenarios.flatMap((s) => s.checks.map((c) => c.label)).join('\n');
    expect(labels).toMatch(/token path: 50 agents enrolled approved, zero failures/);
    expect(labels).toMatch(/bulk path: 50 agents reconnected signed/);
    expect(labels).toMatch(/jobs in flight across the restart: all 20 jobs succeeded with their result stored exactly once/);
  });

  it('measures every figure (smoke never judges time)', () => {
    const figures = report.scenarios.flatMap((s) => s.figures);
    expect(figures.length).toBeGreaterThan(20);
    expect(figures.filter((f) => !Number.isFinite(f.value)).map((f) => f.label)).toEqual([]);
    expect(figures.filter((f) => f.met !== undefined)).toEqual([]);
    expect(report.table).toContain('request to stored result p99');
  });
});
