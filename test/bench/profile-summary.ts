/**
 * Summarizes a V8 .cpuprofile (from BENCH_CPU_PROF=dir npm run bench): where the server's CPU went,
 * by package and by function (self time).
 * Usage: node test/bench/dist/profile-summary.cjs <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function isProfile(v: unknown): v is Profile {
  const p = v as Partial<Profile> | null;
  return typeof p === 'object' && p !== null && Array.isArray(p.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas);
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node test/bench/dist/profile-summary.cjs <file.cpuprofile> [top]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
if (!isProfile(raw)) {
  process.stderr.write(`${file} is not a V8 CPU profile\n`);
  process.exit(2);
}
const byId = new Map(raw.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
// Sample i is node samples[i], taken timeDeltas[i] µs after the previous one.
raw.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (raw.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string): string => {
  if (!url) return '(native/V8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node core';
  const app = /\/(apps|libs)\/([^/]+)\//.exec(url);
  return app ? `${app[1]}/${app[2]}` : url;
};
const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, us] of self) {
  const { callFrame } = byId.get(id)!;
  const name = callFrame.functionName;
  const pkg = name === '(idle)' ? '(idle)' : name === '(garbage collector)' ? '(gc)' : where(callFrame.url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  const fn = `${name || '(anonymous)'} ${callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(apps|libs)\//, '$1/')}:${callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
const show = (title: string, map: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
  }
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
show('self time by package', byPackage);
show('self time by function', byFunction);
