// The side-by-side table: one row per (scenario, point, metric), one column
// per target, and the ratio first-target / second-target with a verdict that
// accounts for the metric's direction (ops/s: higher is better; latency: lower).

import type { PointResult } from './scenarios/types.js';

export interface TargetRun {
  target: string;
  info: Record<string, string>;
  /** Set when the target could not start. */
  error: string | null;
  scenarios: Record<string, { error: string | null; points: PointResult[] }>;
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function formatTable(runs: TargetRun[], order: string[]): string {
  type Row = { scenario: string; point: string; metric: string; better: 'higher' | 'lower'; values: Map<string, number> };
  const rows: Row[] = [];
  const index = new Map<string, Row>();
  for (const run of runs) {
    for (const [scenario, sr] of Object.entries(run.scenarios)) {
      for (const p of sr.points) {
        for (const m of p.metrics) {
          const key = `${scenario}\u0000${p.point}\u0000${m.name}`;
          let row = index.get(key);
          if (!row) {
            row = { scenario, point: p.point, metric: m.name, better: m.better, values: new Map() };
            index.set(key, row);
            rows.push(row);
          }
          row.values.set(run.target, m.value);
        }
      }
    }
  }
  const [a, b] = order;
  const header = ['scenario', 'point', 'metric', ...order];
  if (a && b) header.push(`${a}/${b}`, 'verdict');
  const lines: string[][] = [header];
  for (const r of rows) {
    const cells = [r.scenario, r.point, r.metric, ...order.map((t) => fmt(r.values.get(t)))];
    if (a && b) {
      const va = r.values.get(a);
      const vb = r.values.get(b);
      if (va !== undefined && vb !== undefined && Number.isFinite(va) && Number.isFinite(vb) && vb !== 0) {
        const ratio = va / vb;
        const better = r.better === 'higher' ? ratio > 1.05 : ratio < 0.95;
        const worse = r.better === 'higher' ? ratio < 0.95 : ratio > 1.05;
        cells.push(ratio.toFixed(2), better ? `${a} better` : worse ? `${a} worse` : 'same');
      } else {
        cells.push('n/a', '');
      }
    }
    lines.push(cells);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  const text = lines.map((l) => l.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  text.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const notes: string[] = [];
  for (const run of runs) {
    if (run.error) notes.push(`${run.target}: not run: ${run.error.split('\n')[0]}`);
    for (const [s, sr] of Object.entries(run.scenarios)) if (sr.error) notes.push(`${run.target} ${s}: failed: ${sr.error}`);
    for (const [s, sr] of Object.entries(run.scenarios)) {
      for (const p of sr.points) {
        const notRun = (p.details as { notRun?: unknown } | undefined)?.notRun;
        if (typeof notRun === 'string') notes.push(`${run.target} ${s} ${p.point}: not run: ${notRun}`);
      }
    }
  }
  return [...text, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
