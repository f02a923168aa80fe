// Runs the BlobStore conformance suite against the embedded server's store:
// small bodies in the SQLite file, bigger ones as files (src/blob/small-bodies.ts),
// with limits that put the suite's bodies in one place, the other, or both.

import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { SmallBodiesBlobStore } from '../../src/blob/small-bodies.js';
import type { BlobStore } from '../../src/mail/ports.js';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { blobStoreConformance } from './blobstore-suite.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function opener(maxBytes: number): () => Promise<BlobStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-smallbodies-conf-'));
  dirs.push(dir);
  return async () => {
    const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: true });
    const store = new SmallBodiesBlobStore(repo.smallBodies, new FsBlobStore(dir), maxBytes);
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      await repo.close();
    };
    return store;
  };
}

blobStoreConformance('small bodies in SQLite, limit 0 (all files)', opener(0));
blobStoreConformance('small bodies in SQLite, limit 2000 (small in SQLite, big in files)', opener(2000));
blobStoreConformance('small bodies in SQLite, limit 1 MiB (all in SQLite)', opener(1024 * 1024));
