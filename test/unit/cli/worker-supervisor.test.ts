// WorkerSupervisor restarts a worker that dies, also when its restarts keep
// failing before it listens (a database that is down for a while): it tries
// again, later each time, and never gives up on the worker.

import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { PetrelConfig } from '../../../src/config/types.js';
import { defaultConfig } from '../../../src/config/index.js';
import { WorkerSupervisor } from '../../../src/cli/workers/supervisor.js';
import { silentLogger } from '../../../src/util/log.js';

const FLAKY_WORKER = fileURLToPath(new URL('./fixtures/flaky-worker.mjs', import.meta.url));

test('a worker whose restarts fail before listening is restarted again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-supervisor-'));
  process.env.FLAKY_WORKER_MARKER = join(dir, 'marker');
  cluster.setupPrimary({ exec: FLAKY_WORKER, silent: true });
  const config: PetrelConfig = { ...defaultConfig(), dataDir: dir, server: { workers: 1 } };
  const supervisor = new WorkerSupervisor({ config, logger: silentLogger, onListening: () => {} });
  let forks = 0;
  // The first start, the restart after its crash, then at least two restarts of a worker that failed to start.
  const fourForks = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${forks} forks within 20 s`)), 20_000);
    cluster.on('fork', () => {
      if (++forks === 4) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  try {
    await supervisor.start();
    await fourForks;
  } finally {
    await supervisor.stop();
    cluster.removeAllListeners('fork');
    await rm(dir, { recursive: true, force: true });
  }
  assert.ok(forks >= 4);
});
