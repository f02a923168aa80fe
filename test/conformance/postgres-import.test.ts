// The import methods of `petrel user move` (mailstore-import.ts) on the
// PostgreSQL backend, on a private PostgreSQL started for this file.

import { after } from 'node:test';
import { PostgresBlobStore } from '../../src/blob/postgres/pg-blob-store.js';
import { openPostgresRepository } from '../../src/store/postgres/index.js';
import { startPostgres } from '../support/postgres.js';
import { makeCtxFactory } from './mailstore-suite.js';
import { mailStoreImportConformance } from './mailstore-import.js';

const pg = await startPostgres();
after(() => pg.stop());
const url = await pg.createDatabase();

const { withCtx } = makeCtxFactory(async () => {
  const repo = await openPostgresRepository(url, { max: 4 });
  const blobs = await PostgresBlobStore.open(url, { max: 2 });
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
mailStoreImportConformance(withCtx, { hold: true });
