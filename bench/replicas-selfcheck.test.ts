// Checks of the bench's read-replica figures: Petrel's /metrics parsed, and
// the share of reads the replicas served between two scrapes, summed over
// a cluster's servers. Not part of `npm test`; run with:
//   node --import tsx --test bench/replicas-selfcheck.test.ts

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parsePrometheus, readShareSampler, sumSamples } from './lib/petrel-metrics.js';

type Counts = { primary: { metadata: number; immutable: number }; replicas: { metadata: number; immutable: number } };

/** What `petrel serve` exposes, for one repository. */
function exposition(c: Counts | null): string {
  const lines = ['# HELP process_resident_memory_bytes Resident memory', '# TYPE process_resident_memory_bytes gauge', 'process_resident_memory_bytes 1234'];
  if (c) {
    lines.unshift('# HELP petrel_repository_reads_total Reads served', '# TYPE petrel_repository_reads_total counter');
    for (const node of ['primary', 'replicas'] as const)
      for (const kind of ['metadata', 'immutable'] as const)
        lines.push(`petrel_repository_reads_total{repository="default",node="${node}",kind="${kind}"} ${c[node][kind]}`);
    lines.push('petrel_replica_lag_seconds{repository="default",replica="postgres://x@h:1/d?a=\\"b\\""} NaN');
  }
  return lines.join('\n') + '\n';
}

/** A fake metrics endpoint serving whatever `counts` holds at the time. */
class FakeMetrics {
  counts: Counts | null = null;
  private readonly server: Server = createServer((_req, res) => res.end(exposition(this.counts)));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/metrics`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const counts = (pm: number, pi: number, rm: number, ri: number): Counts => ({
  primary: { metadata: pm, immutable: pi },
  replicas: { metadata: rm, immutable: ri },
});

describe('parsePrometheus', () => {
  test('samples with labels (escaped quotes too), comments skipped, NaN kept as NaN', () => {
    const samples = parsePrometheus(exposition(counts(1, 2, 3, 4)));
    assert.equal(sumSamples(samples, 'petrel_repository_reads_total'), 10);
    assert.equal(sumSamples(samples, 'petrel_repository_reads_total', { node: 'replicas' }), 7);
    assert.equal(sumSamples(samples, 'petrel_repository_reads_total', { node: 'primary', kind: 'immutable' }), 2);
    const lag = samples.find((s) => s.name === 'petrel_replica_lag_seconds');
    assert.equal(lag?.labels.replica, 'postgres://x@h:1/d?a="b"');
    assert.ok(Number.isNaN(lag?.value));
    assert.equal(samples.filter((s) => s.name.startsWith('#')).length, 0);
  });
});

describe('readShareSampler', () => {
  const a = new FakeMetrics();
  const b = new FakeMetrics();
  let urls: string[] = [];
  before(async () => {
    urls = [await a.start(), await b.start()];
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  test('the replicas share of the reads made between the two samples, by kind, over all servers', async () => {
    a.counts = counts(100, 100, 100, 100);
    b.counts = counts(0, 0, 0, 0);
    const end = await readShareSampler(() => urls)();
    // Between the samples: metadata 30 primary + 10 replicas (25 %); immutable 5 primary + 45 replicas (90 %).
    a.counts = counts(120, 103, 105, 130);
    b.counts = counts(10, 2, 5, 15);
    const { figures, details } = await end();
    assert.deepEqual(figures, [
      { name: 'metadata reads by replicas %', value: 25, better: 'higher' },
      { name: 'immutable reads by replicas %', value: 90, better: 'higher' },
    ]);
    assert.deepEqual(details, { reads: { metadata: { primary: 30, replicas: 10 }, immutable: { primary: 5, replicas: 45 } } });
  });

  test('a kind without reads in between gets no share (not 0 %)', async () => {
    a.counts = counts(1, 1, 1, 1);
    b.counts = null;
    const end = await readShareSampler(() => urls)();
    a.counts = counts(1, 3, 1, 3);
    const { figures, details } = await end();
    assert.deepEqual(figures, [{ name: 'immutable reads by replicas %', value: 50, better: 'higher' }]);
    assert.deepEqual(details, { reads: { metadata: { primary: 0, replicas: 0 }, immutable: { primary: 2, replicas: 2 } } });
  });

  test('servers without replicas (no read counters) or without metrics: no figures', async () => {
    a.counts = null;
    b.counts = null;
    assert.deepEqual((await (await readShareSampler(() => urls)())()).figures, []);
    assert.deepEqual((await (await readShareSampler(() => [])())()).figures, []);
  });
});
