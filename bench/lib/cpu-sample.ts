// Server CPU time around a bench point: utime + stime from /proc/<pid>/stat of
// the processes an Endpoint names by group (e.g. petrel, postgres), read
// before and after. Processes started meanwhile count from 0 (a new
// PostgreSQL backend); ones that exited meanwhile are lost (rare: pools keep
// their connections). 10 ms resolution.

import { processCpuMs } from '../../test/support/proc.js';
import type { Endpoint } from './endpoint.js';
import { nowMs, round3 } from './stats.js';

export interface CpuUse {
  /** Wall time between the two samples, ms. */
  wallMs: number;
  /** CPU ms per group, and as % of one core over the wall time. */
  groups: Record<string, { cpuMs: number; percentOfOneCore: number }>;
}

function perPid(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) out.set(pid, processCpuMs([pid]));
  return out;
}

/** Samples now; the returned function samples again and gives the difference. Null when the endpoint names no processes. */
export async function startCpuSample(ep: Endpoint): Promise<(() => Promise<CpuUse>) | null> {
  if (!ep.cpuPids) return null;
  const cpuPids = ep.cpuPids.bind(ep);
  const t0 = nowMs();
  const before = new Map<string, Map<number, number>>();
  for (const [group, pids] of Object.entries(await cpuPids())) before.set(group, perPid(pids));
  return async () => {
    const groups: CpuUse['groups'] = {};
    const after = await cpuPids();
    const wallMs = nowMs() - t0;
    for (const [group, pids] of Object.entries(after)) {
      const start = before.get(group) ?? new Map<number, number>();
      let cpuMs = 0;
      for (const [pid, ms] of perPid(pids)) cpuMs += Math.max(0, ms - (start.get(pid) ?? 0));
      groups[group] = { cpuMs, percentOfOneCore: round3((100 * cpuMs) / Math.max(1, wallMs)) };
    }
    return { wallMs: round3(wallMs), groups };
  };
}

/** "petrel 812 ms (65 %), postgres 400 ms (32 %)". */
export function formatCpuUse(u: CpuUse): string {
  return Object.entries(u.groups)
    .map(([g, v]) => `${g} ${v.cpuMs} ms (${v.percentOfOneCore.toFixed(0)} % of a core)`)
    .join(', ');
}
