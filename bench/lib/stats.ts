// Latency samples per operation type, percentiles, throughput counters.


export interface OpSummary {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Raw samples in milliseconds, capped so a long run cannot exhaust memory. */
export class LatencyRecorder {
  private readonly samples = new Map<string, number[]>();
  private readonly errors = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  static readonly MAX_SAMPLES = 2_000_000;

  record(op: string, ms: number): void {
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    let arr = this.samples.get(op);
    if (!arr) {
      arr = [];
      this.samples.set(op, arr);
    }
    if (arr.length < LatencyRecorder.MAX_SAMPLES) arr.push(ms);
  }

  error(op: string): void {
    this.errors.set(op, (this.errors.get(op) ?? 0) + 1);
  }

  totalCount(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  totalErrors(): number {
    let n = 0;
    for (const c of this.errors.values()) n += c;
    return n;
  }

  summary(): Record<string, OpSummary> {
    const out: Record<string, OpSummary> = {};
    const ops = new Set([...this.samples.keys(), ...this.errors.keys()]);
    for (const op of [...ops].sort()) {
      out[op] = summarize(this.samples.get(op) ?? [], this.counts.get(op) ?? 0, this.errors.get(op) ?? 0);
    }
    return out;
  }

  all(): number[] {
    return [...this.samples.values()].flat();
  }
}

export function summarize(samples: number[], count = samples.length, errors = 0): OpSummary {
  if (samples.length === 0) return { count, errors, p50Ms: NaN, p99Ms: NaN, meanMs: NaN, maxMs: NaN };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count,
    errors,
    p50Ms: round3(percentile(sorted, 0.5)),
    p99Ms: round3(percentile(sorted, 0.99)),
    meanMs: round3(sum / sorted.length),
    maxMs: round3(sorted[sorted.length - 1]!),
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}

export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export function nowMs(): number {
  return performance.now();
}

/** A free TCP port on 127.0.0.1, below the ephemeral range (the tests' choice: see there). */
export { freePort } from '../../test/support/postgres.js';

/** Runs `worker(i)` for i in [0, n) with at most `limit` at a time. */
export async function runLimited(n: number, limit: number, worker: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++;
      await worker(i);
    }
  });
  await Promise.all(lanes);
}
