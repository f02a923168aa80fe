// Petrel's read replicas seen from the outside: its Prometheus endpoint
// (GET /metrics, `metrics.listen`) scraped before and after a point, and the
// share of the reads the replicas served in between, for metadata (flags,
// UIDs, MODSEQs: only from a replica that has replayed the reader's last
// write) and immutable data (bodies, blob indexes: any replica in rotation).
// A cluster sums its servers' counters.

import type { Figure, ServerSampler } from './endpoint.js';
import { round3 } from './stats.js';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format 0.0.4: one sample per line, comments skipped. */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples called `name` whose labels include `match`. */
export function sumSamples(samples: PromSample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v) && Number.isFinite(s.value)) sum += s.value;
  }
  return sum;
}

const SEARCH_INDEX_LAG = 'petrel_search_index_lag_texts';

/**
 * The texts stored above the SEARCH index's high-water mark, from one
 * server's /metrics: the largest sample (worker processes each report the
 * same database), or null when the server reports none (a build without
 * the gauge, or PostgreSQL, whose index is kept in the commit).
 */
export async function scrapeSearchIndexLag(metricsUrl: string): Promise<number | null> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${metricsUrl}: HTTP ${res.status}`);
  const lags = parsePrometheus(await res.text())
    .filter((s) => s.name === SEARCH_INDEX_LAG)
    .map((s) => s.value);
  if (lags.length === 0) return null;
  // NaN: the server could not read it this time; not caught up as far as we know.
  return lags.some((v) => !Number.isFinite(v)) ? Infinity : Math.max(...lags);
}

type ReadKind = 'metadata' | 'immutable';
const KINDS: readonly ReadKind[] = ['metadata', 'immutable'];

/** Reads served so far, by kind and node, summed over repositories and servers; null when no server reports any (no replicas). */
export interface ReadCounts {
  primary: Record<ReadKind, number>;
  replicas: Record<ReadKind, number>;
}

const READS = 'petrel_repository_reads_total';

export async function scrapeReadCounts(metricsUrls: string[]): Promise<ReadCounts | null> {
  const counts: ReadCounts = { primary: { metadata: 0, immutable: 0 }, replicas: { metadata: 0, immutable: 0 } };
  let seen = false;
  for (const url of metricsUrls) {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    const samples = parsePrometheus(await res.text());
    seen ||= samples.some((s) => s.name === READS);
    for (const kind of KINDS) {
      counts.primary[kind] += sumSamples(samples, READS, { node: 'primary', kind });
      counts.replicas[kind] += sumSamples(samples, READS, { node: 'replicas', kind });
    }
  }
  return seen ? counts : null;
}

/** The reads between two scrapes: per kind, the replicas' share (%) and the count (no share for a kind without reads: LMTP delivery reads nothing). */
export function readShareFigures(before: ReadCounts, after: ReadCounts): { figures: Figure[]; reads: Record<ReadKind, { primary: number; replicas: number }> } {
  const figures: Figure[] = [];
  const reads = {} as Record<ReadKind, { primary: number; replicas: number }>;
  for (const kind of KINDS) {
    const primary = after.primary[kind] - before.primary[kind];
    const replicas = after.replicas[kind] - before.replicas[kind];
    reads[kind] = { primary, replicas };
    const total = primary + replicas;
    if (total > 0) figures.push({ name: `${kind} reads by replicas %`, value: round3((100 * replicas) / total), better: 'higher' });
  }
  return { figures, reads };
}

/**
 * A ServerSampler over Petrel servers' metrics endpoints (`urls()` is read at
 * each sample: servers log their metrics port when they start). Servers
 * without replicas report no read counters: no figures then.
 */
export function readShareSampler(urls: () => string[]): ServerSampler {
  return async () => {
    const list = urls();
    const before = list.length ? await scrapeReadCounts(list) : null;
    return async () => {
      const after = before ? await scrapeReadCounts(list) : null;
      if (!before || !after) return { figures: [], details: {} };
      const { figures, reads } = readShareFigures(before, after);
      return { figures, details: { reads } };
    };
  };
}
