// Opens the repository the config names:
// - embedded (storage.backend = "sqlite"): <dataDir>/petrel.db (metadata +
//   directory, SQLite WAL, shared safely with a running server), <dataDir>/blobs
//   and <dataDir>/tmp (message files);
// - cluster (storage.backend = "postgres"): the PostgreSQL MailStore and
//   Directory, and the PostgreSQL BlobStore or the fs one (then the blob
//   directory must be shared by every server). The schema must be current
//   (`petrel db migrate`) unless storage.auto_migrate is set.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBlobStore } from '../blob/fs/fs-blob-store.js';
import { PostgresBlobStore } from '../blob/postgres/pg-blob-store.js';
import { postgresTarget } from '../cluster/postgres-config.js';
import { outdatedSchemaMessage, repositoryComponents, schemaStatus } from '../cluster/schema.js';
import type { PetrelConfig } from '../config/types.js';
import { AdminError, EXIT } from '../admin/types.js';
import { Ingest } from '../mail/ingest.js';
import type { BlobStore, Directory, EventBus, IngestPipeline, MailStore } from '../mail/ports.js';
import { openSqliteRepository } from '../store/sqlite/index.js';
import { openPostgresRepository } from '../store/postgres/index.js';

export interface OpenRepository {
  directory: Directory;
  store: MailStore;
  blobs: BlobStore;
  ingest: IngestPipeline;
  close(): Promise<void>;
}

/** Kept for callers of the embedded-only name. */
export type EmbeddedRepository = OpenRepository;

export const DATABASE_FILE = 'petrel.db';

/** Opens the backend the config names (see the header). */
export function openRepository(config: PetrelConfig, events: EventBus, applicationName?: string): Promise<OpenRepository> {
  return config.storage.backend === 'postgres'
    ? openPostgresBackedRepository(config, events, applicationName)
    : openEmbeddedRepository(config, events);
}

export async function openEmbeddedRepository(config: PetrelConfig, events: EventBus): Promise<OpenRepository> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
  const repo = await openSqliteRepository(join(config.dataDir, DATABASE_FILE), { fsync: config.storage.fsync });
  let blobs: FsBlobStore;
  try {
    blobs = new FsBlobStore(config.dataDir, { fsync: config.storage.fsync });
  } catch (err) {
    await repo.close();
    throw err;
  }
  return assemble(config, events, repo, blobs);
}

/**
 * Refuses a database whose schema is older than this Petrel (unless
 * storage.auto_migrate), before anything opens: the stores would otherwise
 * migrate it silently at open. Also the reachability probe, bounded in time.
 */
export async function checkPostgresSchema(config: PetrelConfig): Promise<void> {
  const target = postgresTarget(config);
  const status = await schemaStatus(target.url, target.store, repositoryComponents(config.storage.blobStore === 'postgres'));
  const message = outdatedSchemaMessage(status);
  // TEMPFAIL: an LDA (petrel deliver) must have the MTA retry, not bounce.
  if (message && !config.storage.autoMigrate) throw new AdminError(message, EXIT.TEMPFAIL);
}

async function openPostgresBackedRepository(config: PetrelConfig, events: EventBus, applicationName?: string): Promise<OpenRepository> {
  await checkPostgresSchema(config);
  const target = postgresTarget(config, applicationName);
  const repo = await openPostgresRepository(target.url, target.store);
  let blobs: BlobStore;
  try {
    if (config.storage.blobStore === 'postgres') {
      blobs = await PostgresBlobStore.open(target.url, target.blobs);
    } else {
      await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
      blobs = new FsBlobStore(config.dataDir, { fsync: config.storage.fsync });
    }
  } catch (err) {
    await repo.close();
    throw err;
  }
  return assemble(config, events, repo, blobs);
}

function assemble(
  config: PetrelConfig,
  events: EventBus,
  repo: { directory: Directory; store: MailStore; close(): Promise<void> },
  blobs: BlobStore,
): OpenRepository {
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
