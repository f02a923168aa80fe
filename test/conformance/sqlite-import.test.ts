// The import methods of `petrel user move` (mailstore-import.ts) on the
// SQLite backend, with the filesystem BlobStore beside it.

import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { makeCtxFactory } from './mailstore-suite.js';
import { mailStoreImportConformance } from './mailstore-import.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-sqlite-import-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const { withCtx } = makeCtxFactory(async () => {
  const repo = await openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false });
  return {
    store: repo.store,
    directory: repo.directory,
    blobs,
    close: async () => {
      await blobs.close();
      await repo.close();
    },
  };
});
mailStoreImportConformance(withCtx, { hold: false });
