// Opens the embedded repository of a data directory: <dataDir>/petrel.db
// (metadata + directory, SQLite WAL, shared safely with a running server),
// <dataDir>/blobs and <dataDir>/tmp (message files).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBlobStore } from '../blob/fs/fs-blob-store.js';
import type { PetrelConfig } from '../config/types.js';
import { Ingest } from '../mail/ingest.js';
import type { BlobStore, Directory, EventBus, IngestPipeline, MailStore } from '../mail/ports.js';
import { openSqliteRepository } from '../store/sqlite/index.js';

export interface EmbeddedRepository {
  directory: Directory;
  store: MailStore;
  blobs: BlobStore;
  ingest: IngestPipeline;
  close(): Promise<void>;
}

export const DATABASE_FILE = 'petrel.db';

export async function openEmbeddedRepository(config: PetrelConfig, events: EventBus): Promise<EmbeddedRepository> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
  const repo = await openSqliteRepository(join(config.dataDir, DATABASE_FILE), { fsync: config.storage.fsync });
  let blobs: FsBlobStore;
  try {
    blobs = new FsBlobStore(config.dataDir, { fsync: config.storage.fsync });
  } catch (err) {
    await repo.close();
    throw err;
  }
  const ingest = new Ingest({ store: repo.store, blobs, events, maxMessageSize: config.limits.maxMessageSize });
  return {
    directory: repo.directory,
    store: repo.store,
    blobs,
    ingest,
    async close() {
      await blobs.close();
      await repo.close();
    },
  };
}
