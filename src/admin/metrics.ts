// The Prometheus text endpoint of `petrel serve` (metrics.listen): GET
// /metrics. What a cluster operator watches: each repository's read replicas
// (in rotation, lag), where reads were served, the embedded SEARCH index's
// lag behind the stored text, and the process's memory.
// With worker processes the supervisor serves it, from every worker's
// samples (mergeWorkerMetrics).
// Text format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/types.js';
import type { Repositories } from '../mail/repository.js';

type Labels = Record<string, string>;

/** One value of the exposition, structured so that worker processes' figures can be merged. */
export interface MetricSample {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value: number;
  labels: Labels;
}

/** Text format 0.0.4: HELP and TYPE once per name, before its first sample. */
export function formatSamples(samples: readonly MetricSample[]): string {
  const lines: string[] = [];
  const declared = new Set<string>();
  for (const { name, type, help, value, labels } of samples) {
    if (!declared.has(name)) {
      declared.add(name);
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
      .join(',');
    lines.push(`${name}${text ? `{${text}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
  return lines.join('\n') + '\n';
}

/** The metrics of the repositories this process has opened, and of the process. */
export function collectMetrics(repositories: Repositories): MetricSample[] {
  const out: MetricSample[] = [];
  const add = (name: string, type: MetricSample['type'], help: string, value: number, labels: Labels = {}): void => {
    out.push({ name, type, help, value, labels });
  };
  for (const repo of repositories.opened()) {
    if (repo.searchIndexLag) {
      let lag = { texts: NaN, forgotten: NaN };
      try {
        lag = repo.searchIndexLag();
      } catch {
        // Unknown (NaN) rather than no exposition at all.
      }
      const labels = { repository: repo.name };
      add('petrel_search_index_lag_texts', 'gauge', 'Texts stored above the SEARCH index\'s high-water mark (searches test them directly)', lag.texts, labels);
      add('petrel_search_index_forgotten_texts', 'gauge', 'Deleted texts the SEARCH index still holds (queued for removal)', lag.forgotten, labels);
    }
    const report = repo.replicas;
    if (!report) continue;
    const counts = report.readCounts();
    for (const kind of ['metadata', 'immutable'] as const) {
      add('petrel_repository_reads_total', 'counter', 'Reads served, by node and kind (immutable: bodies, blob indexes)', counts.primary[kind], {
        repository: repo.name,
        node: 'primary',
        kind,
      });
      add('petrel_repository_reads_total', 'counter', 'Reads served, by node and kind (immutable: bodies, blob indexes)', counts.replicas[kind], {
        repository: repo.name,
        node: 'replicas',
        kind,
      });
    }
    for (const r of report.status()) {
      const labels = { repository: repo.name, replica: r.url };
      add('petrel_replica_in_rotation', 'gauge', '1 while the replica serves reads', r.inRotation ? 1 : 0, labels);
      add('petrel_replica_lag_seconds', 'gauge', 'Replay lag behind the primary, seconds (NaN: unknown)', r.lagSeconds ?? NaN, labels);
      add('petrel_replica_lag_bytes', 'gauge', 'Replay lag behind the primary, WAL bytes (NaN: unknown)', r.lagBytes ?? NaN, labels);
      for (const kind of ['metadata', 'immutable'] as const)
        add('petrel_replica_reads_total', 'counter', 'Reads this replica served', r.reads[kind], { ...labels, kind });
    }
  }
  out.push(...processMetrics());
  return out;
}

/** The memory of this process. */
export function processMetrics(): MetricSample[] {
  const mem = process.memoryUsage();
  return [
    { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory of the server process', value: mem.rss, labels: {} },
    { name: 'nodejs_heap_used_bytes', type: 'gauge', help: 'V8 heap in use', value: mem.heapUsed, labels: {} },
  ];
}

/**
 * The server's metrics from its worker processes' (and the supervisor's
 * own): every sample says which process it describes (a `worker` label: its
 * number, or "supervisor"). Counters are not added up here: a worker that
 * restarts, or misses one collection, would make the sum go back, which
 * Prometheus takes for a reset; sum() over the label in queries instead.
 * Samples stay grouped by name.
 */
export function mergeWorkerMetrics(parts: ReadonlyArray<{ worker: string; samples: readonly MetricSample[] }>): MetricSample[] {
  const byName = new Map<string, MetricSample[]>();
  for (const { worker, samples } of parts) {
    for (const s of samples) {
      let group = byName.get(s.name);
      if (!group) byName.set(s.name, (group = []));
      group.push({ ...s, labels: { ...s.labels, worker } });
    }
  }
  return [...byName.values()].flat();
}

/** The text of GET /metrics for one process (no workers). */
export function renderMetrics(repositories: Repositories): string {
  return formatSamples(collectMetrics(repositories));
}

export class MetricsServer {
  private readonly server: Server;

  /** `render`: the exposition's text (renderMetrics, or the supervisor's merge of its workers'). */
  constructor(render: () => string | Promise<string>) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      Promise.resolve()
        .then(render)
        .then(
          (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
    });
  }

  listen(address: ListenAddress): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(address.port, address.host, () => resolve(this.server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
