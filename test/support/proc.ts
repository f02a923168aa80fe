// Readers of /proc (Linux) for the tests and the bench: the process tree
// (parents, children, liveness), memory (VmRSS and VmHWM from status, RSS and
// PSS from smaps_rollup, MemAvailable) and CPU time (utime + stime ticks).
// Synchronous: the kernel makes these files up on read, there is no disk I/O
// to wait for. A process that exits between listing and reading is skipped.
//
// Here rather than in bench/lib because the tests need the process tree too
// (stopping PostgreSQL and Patroni) and the bench already builds on
// test/support (postgres.ts); test/ never imports bench/.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

interface ProcStat {
  pid: number;
  comm: string;
  /** One letter: R running, S sleeping, Z zombie, ... */
  state: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/** /proc/<pid>/stat, or null when the process is gone. */
function processStat(pid: number): ProcStat | null {
  const stat = readOr(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so
  // the fields are split after the last ")". utime and stime are the 14th and
  // 15th fields overall, the 12th and 13th after comm.
  const close = stat.lastIndexOf(')');
  const after = stat.slice(close + 2).split(' ');
  return {
    pid,
    comm: stat.slice(stat.indexOf('(') + 1, close),
    state: after[0]!,
    ppid: Number(after[1]),
    cpuTicks: Number(after[11]) + Number(after[12]),
  };
}

/** Every process now (a snapshot: processes come and go). */
function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = processStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** The process exists and is not a zombie (a killed postmaster waits for its adoptive parent to reap it). */
export function isAlive(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** Pids whose parent is `parent`; only those whose command name (comm) is `comm` when given. */
export function childrenOf(parent: number, comm?: string): number[] {
  return allProcesses()
    .filter((p) => p.ppid === parent && (comm === undefined || p.comm === comm))
    .map((p) => p.pid);
}

/** `root` and its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid, ppid } of allProcesses()) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
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

/** CPU time (user + system) the processes used so far, ms; 10 ms resolution (clock ticks). Exited ones count 0. */
export function processCpuMs(pids: number[]): number {
  const tickMs = 1000 / 100; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const pid of pids) ticks += processStat(pid)?.cpuTicks ?? 0;
  return ticks * tickMs;
}

/** "Field:   1234 kB" of a /proc status-like file, KiB; 0 when missing. */
function kbField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export interface ProcessMemory {
  /** Sum over the processes, KiB. */
  rssKiB: number;
  hwmKiB: number;
  /** The processes that were read (ones that exited are left out). */
  pids: number[];
}

/** Resident (VmRSS) and peak resident (VmHWM) memory of the given processes, summed. */
export function processMemory(pids: number[]): ProcessMemory {
  const out: ProcessMemory = { rssKiB: 0, hwmKiB: 0, pids: [] };
  for (const pid of pids) {
    const status = readOr(`/proc/${pid}/status`);
    if (status === null) continue;
    out.rssKiB += kbField(status, 'VmRSS');
    out.hwmKiB += kbField(status, 'VmHWM');
    out.pids.push(pid);
  }
  return out;
}

/** A field of /proc/<pid>/status, MB; NaN when unreadable. */
function statusMB(pid: number, field: string): number {
  const status = readOr(`/proc/${pid}/status`);
  return status ? kbField(status, field) / 1024 : NaN;
}

/** Resident set size of one process (VmRSS), MB; NaN when unreadable. */
export function rssMB(pid: number): number {
  return statusMB(pid, 'VmRSS');
}

/** Peak resident set size of one process (VmHWM), MB; NaN when unreadable. */
export function peakRssMB(pid: number): number {
  return statusMB(pid, 'VmHWM');
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

export interface TreeMemory {
  processes: number;
  rssMB: number;
  pssMB: number;
}

/**
 * Memory of `root` and all its descendants (Dovecot runs a process per IMAP
 * session), as summed RSS and PSS. PSS divides shared pages among the
 * processes sharing them, so it is the fair sum for a forking server; for one
 * process it is about RSS.
 */
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

/** MemAvailable of the machine, MB. */
export function memAvailableMB(): number {
  const info = readOr('/proc/meminfo');
  return info ? kbField(info, 'MemAvailable') / 1024 : NaN;
}

/** The limit on open files of a process ('self': this one, whose limit spawned children inherit). */
export function openFileLimit(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const limits = readOr(`/proc/${pid}/limits`) ?? '';
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const n = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}
