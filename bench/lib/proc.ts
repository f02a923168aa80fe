// Memory of server processes from /proc (Linux): VmRSS (resident now) and
// VmHWM (peak resident) in /proc/<pid>/status, and finding a server's worker
// processes by parent pid and command name.

import { readdir, readFile } from 'node:fs/promises';

export interface ProcessMemory {
  /** Sum over the processes, KiB. */
  rssKiB: number;
  hwmKiB: number;
  pids: number[];
}

function statusField(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : 0;
}

/** Resident and peak resident memory of the given processes (ones that exited are skipped). */
export async function processMemory(pids: number[]): Promise<ProcessMemory> {
  const out: ProcessMemory = { rssKiB: 0, hwmKiB: 0, pids: [] };
  for (const pid of pids) {
    let status: string;
    try {
      status = await readFile(`/proc/${pid}/status`, 'utf8');
    } catch {
      continue;
    }
    out.rssKiB += statusField(status, 'VmRSS');
    out.hwmKiB += statusField(status, 'VmHWM');
    out.pids.push(pid);
  }
  return out;
}

/** Pids of the children of `parent` whose command name (comm) is `comm`. */
export async function childPids(parent: number, comm: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid ...": comm may contain spaces, so split at the last ")".
    const close = stat.lastIndexOf(')');
    const procComm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === parent && procComm === comm) out.push(Number(name));
  }
  return out;
}

/** CPU time (user + system) the processes used so far, ms; 10 ms resolution (clock ticks). Exited ones count 0. */
export async function processCpuMs(pids: number[]): Promise<number> {
  const tickMs = 1000 / 100; // USER_HZ is 100 on Linux
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm) ": state is 3rd overall; utime and stime are the 14th and 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks * tickMs;
}
