// How the conformance files open a repository of each backend: a new
// connection to the same repository on every call (see mailstore-suite.ts).

import * as path from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { PostgresBlobStore } from '../../src/blob/postgres/pg-blob-store.js';
import { openPostgresRepository, type PostgresRepository } from '../../src/store/postgres/index.js';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import type { RepositoryHandle } from './mailstore-suite.js';

/** The SQLite file <dir>/petrel.db with the filesystem BlobStore beside it (embedded mode). */
export async function openSqliteHandle(dir: string): Promise<RepositoryHandle> {
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
}

/**
 * The PostgreSQL database at `url` with the PostgreSQL BlobStore (as in a
 * cluster). `setUp` may adjust both before use and returns what to close
 * first (read replicas, say).
 */
export async function openPostgresHandle(
  url: string,
  setUp?: (
    repo: PostgresRepository,
    blobs: PostgresBlobStore,
  ) => Promise<{ store?: RepositoryHandle['store']; settle?: () => Promise<void>; close(): Promise<void> }>,
): Promise<RepositoryHandle> {
  const repo = await openPostgresRepository(url, { max: 4, bodiesInDatabase: true });
  const blobs = await PostgresBlobStore.open(url, { max: 2 });
  const extra = await setUp?.(repo, blobs);
  return {
    store: extra?.store ?? repo.store,
    directory: repo.directory,
    blobs,
    ...(extra?.settle ? { settle: extra.settle } : {}),
    close: async () => {
      await extra?.close();
      await blobs.close();
      await repo.close();
    },
  };
}
