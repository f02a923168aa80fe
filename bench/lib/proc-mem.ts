// Memory of a server under test, read from /proc (Linux): the process and
// all its descendants (Dovecot runs a process per IMAP session), as summed
// RSS and PSS. PSS divides shared pages among the processes sharing them, so
// it is the fair sum for a forking server; for one process it is about RSS.
// Also VmHWM (peak RSS) and its reset through clear_refs.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface TreeMemory {
  processes: number;
  rssMB: number;
  pssMB: number;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** pid and its descendants (a snapshot: processes come and go). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`);
    if (!stat) continue;
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(after[1]);
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) todo.push(c);
  }
  return out;
}

function kbField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function treeMemory(root: number): TreeMemory {
  let rss = 0;
  let pss = 0;
  let processes = 0;
  for (const pid of processTree(root)) {
    const rollup = readOr(`/proc/${pid}/smaps_rollup`);
    if (!rollup) continue;
    processes++;
    rss += kbField(rollup, 'Rss');
    pss += kbField(rollup, 'Pss');
  }
  return { processes, rssMB: rss / 1024, pssMB: pss / 1024 };
}

/** Peak resident set size of one process (VmHWM), MB; NaN when unreadable. */
export function peakRssMB(pid: number): number {
  const status = readOr(`/proc/${pid}/status`);
  return status ? kbField(status, 'VmHWM') / 1024 : NaN;
}

export function rssMB(pid: number): number {
  const status = readOr(`/proc/${pid}/status`);
  return status ? kbField(status, 'VmRSS') / 1024 : NaN;
}

/** Resets VmHWM to the current RSS (Linux >= 4.0, needs the right to write the process's clear_refs). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** MemAvailable of the machine, MB. */
export function memAvailableMB(): number {
  const info = readOr('/proc/meminfo');
  return info ? kbField(info, 'MemAvailable') / 1024 : NaN;
}

/** The soft limit on open files of this process (what spawned children inherit). */
export function openFileLimit(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const limits = readOr(`/proc/${pid}/limits`) ?? '';
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const n = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}
