// Renders admin command output for a terminal: aligned tables, or JSON with --json.

import type { AdminOutput, Cell } from '../admin/types.js';

export function render(output: AdminOutput, json: boolean): string {
  if (output.kind === 'message') return json ? JSON.stringify({ ok: true, message: output.text }) + '\n' : output.text + '\n';
  if (json) return JSON.stringify(output.rows, null, 2) + '\n';
  const show = (c: Cell | undefined): string => (c === null || c === undefined ? '-' : String(c));
  const table = [output.columns.map((c) => c.header), ...output.rows.map((r) => output.columns.map((c) => show(r[c.key])))];
  const widths = output.columns.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
