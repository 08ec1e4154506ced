import { round } from './stats';

/** One measured figure, with the issue's target where it sets one. */
export interface Figure {
  label: string;
  value: number;
  unit: string;
  /** e.g. "<= 20" or ">= 1000": compared with `value`. */
  target?: { op: '<=' | '<' | '>='; value: number };
  /** Set for figures with a target (full size only; smoke never judges time). */
  met?: boolean;
  note?: string;
}

/** A correctness check: these are what fail a run, at any size. */
export interface Check {
  label: string;
  ok: boolean;
  detail?: string;
}

export interface ScenarioResult {
  id: number;
  name: string;
  figures: Figure[];
  checks: Check[];
  /** Set when the scenario could not finish. */
  error?: string;
  seconds: number;
}

export function figure(label: string, value: number, unit: string, target?: Figure['target'], note?: string): Figure {
  return { label, value: round(value, value < 10 ? 3 : 1), unit, ...(target && { target }), ...(note && { note }) };
}

export function judge(f: Figure): Figure {
  if (!f.target || !Number.isFinite(f.value)) return f;
  const { op, value } = f.target;
  const met = op === '<=' ? f.value <= value : op === '<' ? f.value < value : f.value >= value;
  return { ...f, met };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The human table: one row per figure, then the correctness checks. */
export function renderTable(results: ScenarioResult[], judged: boolean): string {
  const rows: string[][] = [['#', 'scenario', 'figure', 'value', 'target', judged ? 'met' : '']];
  for (const r of results) {
    for (const f of r.figures) {
      const target = f.target ? `${f.target.op} ${f.target.value} ${f.unit}` : '';
      const met = !judged || f.met === undefined ? '' : f.met ? 'met' : 'MISSED';
      rows.push([String(r.id), r.name, f.label, `${f.value} ${f.unit}`, target, met]);
    }
    if (r.error) rows.push([String(r.id), r.name, 'ERROR', r.error.split('\n')[0].slice(0, 100), '', '']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]) => `| ${row.map((cell, c) => pad(cell, widths[c])).join(' | ')} |`;
  const out = [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)];
  const notes = results.flatMap((r) => r.figures.filter((f) => f.note).map((f) => `  [${r.id}] ${f.label.trim()}: ${f.note}`));
  if (notes.length) out.push('', 'notes:', ...notes);
  out.push('', 'correctness:');
  for (const r of results) for (const c of r.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} [${r.id}] ${c.label}${c.detail ? ` (${c.detail})` : ''}`);
  return out.join('\n');
}
