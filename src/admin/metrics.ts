// The Prometheus text endpoint of `petrel serve` (metrics.listen): GET
// /metrics. What a cluster operator watches: each repository's read replicas
// (in rotation, lag), where reads were served, and the process's memory.
// Text format 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/types.js';
import type { Repositories } from '../mail/repository.js';

type Labels = Record<string, string>;

class Exposition {
  private readonly lines: string[] = [];
  private readonly declared = new Set<string>();

  add(name: string, type: 'gauge' | 'counter', help: string, value: number, labels: Labels = {}): void {
    if (!this.declared.has(name)) {
      this.declared.add(name);
      this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    }
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
      .join(',');
    this.lines.push(`${name}${text ? `{${text}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
  }

  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/** The metrics of the repositories this server has opened, and of the process. */
export function renderMetrics(repositories: Repositories): string {
  const out = new Exposition();
  for (const repo of repositories.opened()) {
    const report = repo.replicas;
    if (!report) continue;
    const counts = report.readCounts();
    for (const kind of ['metadata', 'immutable'] as const) {
      out.add('petrel_repository_reads_total', 'counter', 'Reads served, by node and kind (immutable: bodies, blob indexes)', counts.primary[kind], {
        repository: repo.name,
        node: 'primary',
        kind,
      });
      out.add('petrel_repository_reads_total', 'counter', 'Reads served, by node and kind (immutable: bodies, blob indexes)', counts.replicas[kind], {
        repository: repo.name,
        node: 'replicas',
        kind,
      });
    }
    for (const r of report.status()) {
      const labels = { repository: repo.name, replica: r.url };
      out.add('petrel_replica_in_rotation', 'gauge', '1 while the replica serves reads', r.inRotation ? 1 : 0, labels);
      out.add('petrel_replica_lag_seconds', 'gauge', 'Replay lag behind the primary, seconds (NaN: unknown)', r.lagSeconds ?? NaN, labels);
      out.add('petrel_replica_lag_bytes', 'gauge', 'Replay lag behind the primary, WAL bytes (NaN: unknown)', r.lagBytes ?? NaN, labels);
      for (const kind of ['metadata', 'immutable'] as const)
        out.add('petrel_replica_reads_total', 'counter', 'Reads this replica served', r.reads[kind], { ...labels, kind });
    }
  }
  const mem = process.memoryUsage();
  out.add('process_resident_memory_bytes', 'gauge', 'Resident memory of the server process', mem.rss);
  out.add('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use', mem.heapUsed);
  return out.toString();
}

export class MetricsServer {
  private readonly server: Server;

  constructor(repositories: Repositories) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderMetrics(repositories));
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
