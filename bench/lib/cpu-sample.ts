// Server CPU time around a bench point: utime + stime from /proc/<pid>/stat,
// read before and after, by group (e.g. petrel, postgres, dovecot).
//
// An Endpoint names the root of each group's process tree (cpuTrees: the
// Dovecot master, Petrel's `serve` process, a postmaster), and the group's
// CPU is that of the whole tree, including the processes that started or
// exited between the two samples (Dovecot's imap processes last one session,
// PostgreSQL backends one connection, Petrel's workers may be restarted).
// The method: when a process exits and its parent reaps it (waitpid), the
// kernel adds its utime + stime, and the cutime + cstime of the children it
// had reaped itself, to the parent's cutime + cstime (fields 16 and 17 of
// /proc/<pid>/stat). So at any instant the CPU the tree has ever used is
//
//   sum over the processes now in the tree of utime + stime + cutime + cstime
//
// (a zombie not yet reaped still shows its own times, and is not yet in its
// parent's cutime). This holds as long as every member is reaped by its
// parent in the tree, which Dovecot's master, Node's cluster primary and the
// postmaster all do. The sum must be read consistently: a child read alive
// and then reaped before its parent is read would count twice, one reaped
// between its parent's read and its own would count not at all. So a
// snapshot reads the reaped totals (cutime + cstime) of the tree's parents,
// then every member, then the parents' reaped totals again, and repeats when
// those changed meanwhile (a reap happened during the snapshot).
//
// Processes named individually (cpuPids) count as they are: one that started
// meanwhile from 0, one that exited meanwhile is lost. 10 ms resolution.

import { readFileSync } from 'node:fs';
import { processTree } from '../../test/support/proc.js';
import type { Endpoint } from './endpoint.js';
import { nowMs, round3 } from './stats.js';

/** USER_HZ is 100 on Linux: /proc counts CPU time in 10 ms ticks. */
const TICK_MS = 10;
/** Snapshots retried when a reap happened during one; reaps are short, so a few suffice even at hundreds per second. */
const SNAPSHOT_ATTEMPTS = 50;

export interface CpuUse {
  /** Wall time between the two samples, ms. */
  wallMs: number;
  /** CPU ms per group, and as % of one core over the wall time. */
  groups: Record<string, { cpuMs: number; percentOfOneCore: number }>;
}

interface StatTimes {
  ppid: number;
  /** utime + stime, ticks. */
  own: number;
  /** cutime + cstime (children this process has reaped, and theirs), ticks. */
  reaped: number;
}

/**
 * /proc/<pid>/stat's times, or null when the process is gone. (test/support/proc.ts
 * reads utime + stime only; the reaped children's times are needed here.)
 */
function statTimes(pid: number): StatTimes | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split
  // after the last ")". Then ppid is field 2, utime/stime 12/13, cutime/cstime 14/15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/** `root` and its descendants (one scan of /proc), with the members that have children in the tree. */
function treeOf(root: number): { members: number[]; parentsInTree: number[] } {
  const members = processTree(root);
  const inTree = new Set(members);
  const parentsInTree = new Set<number>();
  for (const pid of members) {
    const ppid = statTimes(pid)?.ppid;
    if (pid !== root && ppid !== undefined && inTree.has(ppid)) parentsInTree.add(ppid);
  }
  return { members, parentsInTree: [...parentsInTree] };
}

function reapedTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) t += statTimes(pid)?.reaped ?? 0;
  return t;
}

/**
 * CPU ms the process tree of `root` has used since each member started,
 * exited members included (see the top of this file); 0 when root is gone.
 * Members are listed by one scan of /proc, then read in a short pass that is
 * repeated while reaps interfere. A process forked between the scan and the
 * pass is missed by this snapshot: its first milliseconds at most.
 */
export function treeCpuMs(root: number): number {
  const { members, parentsInTree } = treeOf(root);
  // The root is always checked: it may have reaped children the scan no longer saw.
  const checked = parentsInTree.includes(root) ? parentsInTree : [root, ...parentsInTree];
  let ticks = 0;
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const reapedBefore = reapedTicks(checked);
    ticks = 0;
    for (const pid of members) {
      const t = statTimes(pid);
      if (t) ticks += t.own + t.reaped;
    }
    // Unchanged: no member was reaped during the pass, so none counted twice or not at all.
    if (reapedTicks(checked) === reapedBefore) break;
  }
  return ticks * TICK_MS;
}

/** CPU ms of one process (its own, not its children's); 0 when it is gone. */
function processCpuMs(pid: number): number {
  return (statTimes(pid)?.own ?? 0) * TICK_MS;
}

/** CPU ms so far per group: per tree root (keyed by -pid) and per named pid. */
type Snapshot = Map<string, Map<number, number>>;

async function snapshot(ep: Endpoint): Promise<Snapshot> {
  const out: Snapshot = new Map();
  const add = (group: string, key: number, ms: number) => {
    let g = out.get(group);
    if (!g) out.set(group, (g = new Map()));
    g.set(key, ms);
  };
  for (const [group, roots] of Object.entries((await ep.cpuTrees?.()) ?? {})) {
    if (!out.has(group)) out.set(group, new Map());
    for (const root of roots) add(group, -root, treeCpuMs(root));
  }
  for (const [group, pids] of Object.entries((await ep.cpuPids?.()) ?? {})) {
    if (!out.has(group)) out.set(group, new Map());
    for (const pid of pids) add(group, pid, processCpuMs(pid));
  }
  return out;
}

/** Samples now; the returned function samples again and gives the difference. Null when the endpoint names no processes. */
export async function startCpuSample(ep: Endpoint): Promise<(() => Promise<CpuUse>) | null> {
  if (!ep.cpuPids && !ep.cpuTrees) return null;
  const t0 = nowMs();
  const before = await snapshot(ep);
  return async () => {
    const after = await snapshot(ep);
    const wallMs = nowMs() - t0;
    const groups: CpuUse['groups'] = {};
    for (const [group, now] of after) {
      const start = before.get(group) ?? new Map<number, number>();
      let cpuMs = 0;
      // A process or tree that started meanwhile counts from 0.
      for (const [key, ms] of now) cpuMs += Math.max(0, ms - (start.get(key) ?? 0));
      groups[group] = { cpuMs, percentOfOneCore: round3((100 * cpuMs) / Math.max(1, wallMs)) };
    }
    return { wallMs: round3(wallMs), groups };
  };
}

/**
 * CPU over a scenario's measured window (PointHooks.measuredWindow): samples
 * at `startMs` and at `endMs` (nowMs() clock) on timers, so the warm-up is
 * left out. The promise settles after `endMs`; null without processes.
 */
export function sampleCpuBetween(ep: Endpoint, startMs: number, endMs: number): Promise<CpuUse | null> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      startCpuSample(ep)
        .then((end) => {
          if (!end) return resolve(null);
          setTimeout(() => end().then(resolve, reject), Math.max(0, endMs - nowMs()));
        })
        .catch(reject);
    }, Math.max(0, startMs - nowMs()));
  });
}

/** Sum over the groups, ms. */
export function totalCpuMs(u: CpuUse): number {
  return Object.values(u.groups).reduce((s, g) => s + g.cpuMs, 0);
}

/** "petrel 812 ms (65 %), postgres 400 ms (32 %)". */
export function formatCpuUse(u: CpuUse): string {
  return Object.entries(u.groups)
    .map(([g, v]) => `${g} ${v.cpuMs} ms (${v.percentOfOneCore.toFixed(0)} % of a core)`)
    .join(', ');
}
