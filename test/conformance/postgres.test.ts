// Runs the MailStore conformance suite against the PostgreSQL backend, on a
// private PostgreSQL started for this file, with the PostgreSQL BlobStore
// beside it (as in a cluster). Each open() is a new pool on the same database.

import { after } from 'node:test';
import { PostgresBlobStore } from '../../src/blob/postgres/pg-blob-store.js';
import { openPostgresRepository } from '../../src/store/postgres/index.js';
import { startPostgres } from '../support/postgres.js';
import { mailStoreConformance } from './mailstore-suite.js';

const pg = await startPostgres();
after(() => pg.stop());
const url = await pg.createDatabase();

mailStoreConformance('postgres', async () => {
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
