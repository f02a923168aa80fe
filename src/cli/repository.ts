// Opens the repositories the config names:
// - embedded (storage.backend = "sqlite"): one repository, <dataDir>/petrel.db
//   (metadata + directory, SQLite WAL, shared safely with a running server),
//   <dataDir>/blobs and <dataDir>/tmp (message files);
// - cluster (storage.backend = "postgres"): the directory and the default
//   repository in the database storage.postgres_url names (bodies there or
//   in the shared fs blob directory, storage.blob_store), and every other
//   repository the directory registers (`petrel repo add`), opened on first
//   use, with its bodies always in its own database (a blob store shared by
//   two repositories would let one's garbage collector delete the other's
//   blobs). Schemas must be current (`petrel db migrate`) unless
//   storage.auto_migrate is set.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBlobStore } from '../blob/fs/fs-blob-store.js';
import { SmallBodiesBlobStore } from '../blob/small-bodies.js';
import { PostgresBlobStore } from '../blob/postgres/pg-blob-store.js';
import { postgresTargetFor, type PostgresTarget } from '../cluster/postgres-config.js';
import { RepositoryRegistry } from '../cluster/repositories.js';
import { ReplicaSet } from '../cluster/replicas.js';
import { outdatedSchemaMessage, repositoryComponents, schemaStatus } from '../cluster/schema.js';
import type { PetrelConfig } from '../config/types.js';
import { AdminError, EXIT } from '../admin/types.js';
import { Ingest } from '../mail/ingest.js';
import type { BlobStore, Directory, EventBus, MailStore } from '../mail/ports.js';
import { DEFAULT_REPOSITORY, singleRepository, type Repositories, type Repository } from '../mail/repository.js';
import { openSqliteRepository } from '../store/sqlite/index.js';
import { openPostgresRepository } from '../store/postgres/index.js';
import { createLogger } from '../util/log.js';
import { PgEventBus } from '../cluster/pg-event-bus.js';

export const DATABASE_FILE = 'petrel.db';

/** Where a repository's change events go: `url` is null for the embedded repository. */
export type EventsFor = (repository: { name: string; url: string | null }) => Promise<EventBus>;

export interface OpenRepositoriesOptions {
  /** PostgreSQL application_name of the connections. */
  applicationName?: string;
  /** The bus each repository publishes its changes on (the server's LISTEN/NOTIFY bus, the CLI's forwarder). */
  eventsFor: EventsFor;
  /** Called once for every repository after it is opened (the server starts its blob GC). */
  onOpened?: (repository: Repository) => void;
  /**
   * The embedded repository's background thread (SEARCH indexing, WAL
   * checkpoints): the server runs one; one-shot commands do not.
   */
  background?: { onFailure(err: Error): void; onError(err: Error): void };
}

/** An open repository and what must be closed with it. */
export interface OpenedRepository extends Repository {
  close(): Promise<void>;
}

/** Opens the backend the config names (see the header). */
export function openRepositories(config: PetrelConfig, options: OpenRepositoriesOptions): Promise<Repositories> {
  return config.storage.backend === 'postgres' ? openCluster(config, options) : openEmbedded(config, options);
}

async function openEmbedded(config: PetrelConfig, options: OpenRepositoriesOptions): Promise<Repositories> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
  const repo = await openSqliteRepository(join(config.dataDir, DATABASE_FILE), {
    fsync: config.storage.fsync,
    background: options.background !== undefined,
    onBackgroundFailure: options.background?.onFailure,
    onBackgroundError: options.background?.onError,
  });
  let opened: OpenedRepository;
  try {
    const files = new FsBlobStore(config.dataDir, { fsync: config.storage.fsync });
    const blobs = new SmallBodiesBlobStore(repo.smallBodies, files, config.storage.inlineBodyMaxBytes);
    const events = await options.eventsFor({ name: DEFAULT_REPOSITORY, url: null });
    opened = { ...assemble(config, DEFAULT_REPOSITORY, events, repo, blobs), searchIndexLag: () => repo.searchIndexLag() };
  } catch (err) {
    await repo.close();
    throw err;
  }
  options.onOpened?.(opened);
  return singleRepository(repo.directory, opened, () => opened.close());
}

/** The embedded repository alone (the CLI's schema step; tests). */
export async function openEmbeddedRepository(config: PetrelConfig, events: EventBus): Promise<Repositories> {
  return openEmbedded(config, { eventsFor: async () => events });
}

/**
 * Refuses a database whose schema is older than this Petrel (unless
 * storage.auto_migrate), before anything opens: the stores would otherwise
 * migrate it silently at open. Also the reachability probe, bounded in time.
 */
export function checkPostgresSchema(config: PetrelConfig): Promise<void> {
  if (config.storage.postgresUrl === null) throw new AdminError('storage.postgres_url is not set', EXIT.USAGE);
  const target = postgresTargetFor(config, config.storage.postgresUrl);
  return checkRepositorySchema(config, target, config.storage.blobStore === 'postgres', DEFAULT_REPOSITORY);
}

async function checkRepositorySchema(config: PetrelConfig, target: PostgresTarget, postgresBlobs: boolean, name: string): Promise<void> {
  const status = await schemaStatus(target.url, target.store, repositoryComponents(postgresBlobs));
  const message = outdatedSchemaMessage(status);
  // TEMPFAIL: an LDA (petrel deliver) must have the MTA retry, not bounce.
  const where = name === DEFAULT_REPOSITORY ? '' : `repository ${name}: `;
  if (message && !config.storage.autoMigrate) throw new AdminError(`${where}${message}`, EXIT.TEMPFAIL);
}

async function openCluster(config: PetrelConfig, options: OpenRepositoriesOptions): Promise<Repositories> {
  const url = config.storage.postgresUrl;
  if (url === null) throw new AdminError('storage.postgres_url is not set', EXIT.USAGE);
  const primary = await openPostgres(config, options, DEFAULT_REPOSITORY, url, config.storage.blobStore === 'postgres', config.storage.postgresReplicaUrls);
  options.onOpened?.(primary.repository);
  return new RepositoryRegistry(primary.directory, primary.repository, async (entry) => {
    const opened = await openPostgres(config, options, entry.name, entry.url, true, entry.replicas ?? []);
    options.onOpened?.(opened.repository);
    return opened.repository;
  });
}

async function openPostgres(
  config: PetrelConfig,
  options: OpenRepositoriesOptions,
  name: string,
  url: string,
  postgresBlobs: boolean,
  replicaUrls: readonly string[],
): Promise<{ directory: Directory; repository: OpenedRepository }> {
  const target = postgresTargetFor(config, url, options.applicationName);
  await checkRepositorySchema(config, target, postgresBlobs, name);
  const repo = await openPostgresRepository(target.url, {
    ...target.store,
    promotionUidvalidity: config.storage.postgresPromotionUidvalidity,
    bodiesInDatabase: postgresBlobs,
  });
  const closing: Array<{ close(): Promise<void> }> = [repo];
  const closeAll = async () => {
    for (const c of closing.reverse()) await c.close();
  };
  try {
    let blobs: BlobStore;
    if (postgresBlobs) {
      // The metadata's commit, in the same database, makes each body durable (asyncCommit).
      blobs = await PostgresBlobStore.open(target.url, { ...target.blobs, asyncCommit: true });
    } else {
      await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
      blobs = new FsBlobStore(config.dataDir, { fsync: config.storage.fsync });
    }
    closing.push(blobs);
    // Always made: it also reports the primary (repo status, metrics); it routes reads only with replicas.
    const replicas = new ReplicaSet(repo.sql, replicaUrls.map((u) => postgresTargetFor(config, u, options.applicationName).url), {
      maxLagSeconds: config.storage.replicaMaxLagSeconds,
      checkIntervalMs: config.storage.replicaCheckIntervalMs,
      connect: target.store,
    });
    closing.push(replicas);
    await replicas.start();
    if (replicaUrls.length > 0) {
      repo.store.useReadRouter(replicas);
      // Bodies are read from replicas only when they live in this database.
      if (blobs instanceof PostgresBlobStore) blobs.useReadRouter(replicas);
    }
    const events = await options.eventsFor({ name, url });
    // After a fail-over that lost changes, sessions of the mailboxes given a new UIDVALIDITY end (store/postgres/rollback.ts).
    repo.store.useEvents(name, events, createLogger(config.log.level, { component: 'rollback', repository: name }));
    if (events instanceof PgEventBus) events.onReconnect(() => repo.store.rollback.checkSoon());
    if (replicaUrls.length > 0) events.subscribe((e) => replicas.noteEvent(e));
    const repository = assemble(config, name, events, repo, blobs, replicas);
    return { directory: repo.directory, repository };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function assemble(
  config: PetrelConfig,
  name: string,
  events: EventBus,
  repo: { directory: Directory; store: MailStore; close(): Promise<void> },
  blobs: BlobStore,
  replicas: ReplicaSet | null = null,
): OpenedRepository {
  const ingestOver = (store: MailStore) => new Ingest({ store, blobs, events, maxMessageSize: config.limits.maxMessageSize, repository: name });
  const ingest = ingestOver(repo.store);
  return {
    name,
    store: repo.store,
    blobs,
    ingest,
    events,
    accounts: repo.directory,
    ...(replicas ? { replicas } : {}),
    forReader(accountId) {
      const store = repo.store.forReader?.(accountId) ?? repo.store;
      return store === repo.store ? { store, ingest } : { store, ingest: ingestOver(store) };
    },
    async close() {
      await events.close();
      await replicas?.close();
      await blobs.close();
      await repo.close();
    },
  };
}
