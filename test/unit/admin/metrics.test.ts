// The exposition of GET /metrics: text format 0.0.4, and the merge of worker
// processes' samples (each labelled by its process).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSamples, mergeWorkerMetrics, type MetricSample } from '../../../src/admin/metrics.js';

const reads = (node: string, value: number): MetricSample => ({
  name: 'petrel_repository_reads_total',
  type: 'counter',
  help: 'Reads served',
  value,
  labels: { repository: 'default', node },
});
const rss = (value: number): MetricSample => ({ name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory', value, labels: {} });

test('formatSamples declares each name once, escapes label values, writes NaN', () => {
  const text = formatSamples([
    reads('primary', 3),
    reads('replicas', 4),
    { name: 'lag', type: 'gauge', help: 'Lag', value: Number.NaN, labels: { replica: 'a"b\\c\nd' } },
  ]);
  assert.equal(
    text,
    [
      '# HELP petrel_repository_reads_total Reads served',
      '# TYPE petrel_repository_reads_total counter',
      'petrel_repository_reads_total{repository="default",node="primary"} 3',
      'petrel_repository_reads_total{repository="default",node="replicas"} 4',
      '# HELP lag Lag',
      '# TYPE lag gauge',
      'lag{replica="a\\"b\\\\c\\nd"} NaN',
      '',
    ].join('\n'),
  );
});

test('mergeWorkerMetrics labels every sample with its process and keeps each name\'s samples together', () => {
  const merged = mergeWorkerMetrics([
    { worker: '1', samples: [reads('primary', 3), reads('replicas', 1), rss(100)] },
    { worker: '2', samples: [reads('primary', 5), rss(200)] },
    { worker: 'supervisor', samples: [rss(50)] },
  ]);
  assert.deepEqual(
    merged.map((s) => [s.name, s.labels, s.value]),
    [
      ['petrel_repository_reads_total', { repository: 'default', node: 'primary', worker: '1' }, 3],
      ['petrel_repository_reads_total', { repository: 'default', node: 'replicas', worker: '1' }, 1],
      ['petrel_repository_reads_total', { repository: 'default', node: 'primary', worker: '2' }, 5],
      ['process_resident_memory_bytes', { worker: '1' }, 100],
      ['process_resident_memory_bytes', { worker: '2' }, 200],
      ['process_resident_memory_bytes', { worker: 'supervisor' }, 50],
    ],
  );
});
