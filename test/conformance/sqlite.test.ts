// Runs the MailStore conformance suite against the SQLite backend (with the
// filesystem BlobStore beside it, as in embedded mode).

import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { mailStoreConformance } from './mailstore-suite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-sqlite-conf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

mailStoreConformance('sqlite', async () => {
  const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
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
