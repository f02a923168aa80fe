// A repository: one metadata database (MailStore), its blob store, the
// ingest pipeline over both, and the bus its changes are published on
// (ARCHITECTURE.md, decision 7). The directory maps every account to one
// repository by name; the embedded server has exactly one, DEFAULT_REPOSITORY.
// Mailbox ids are only unique inside a repository, so change events carry
// the repository's name.

import { MailError } from './errors.js';
import type { BlobStore, Directory, EventBus, IngestPipeline, MailStore } from './ports.js';
import type { Account, AccountId } from './types.js';

/** The repository the config names directly (the SQLite file, or storage.postgres_url). */
export const DEFAULT_REPOSITORY = 'default';

export interface Repository {
  readonly name: string;
  readonly store: MailStore;
  readonly blobs: BlobStore;
  readonly ingest: IngestPipeline;
  /** Publishes this repository's change events (to this server's sessions and, in a cluster, every server's). */
  readonly events: EventBus;
  /**
   * The account rows of this repository's own database: for the default
   * repository the directory of record itself; elsewhere copies made by
   * adoptAccount, which quota changes and deletions must also reach (the
   * store checks quota and cascades deletes against them).
   */
  readonly accounts: Directory;
  /**
   * Optional: the store and ingest of one account's sessions. With read
   * replicas, a view whose metadata reads wait for what the account wrote
   * or was told of (MailStore.forReader), and an ingest writing through it.
   */
  forReader?(accountId: AccountId): { store: MailStore; ingest: IngestPipeline };
  /** Its read replicas, when it has any: their health and the reads they served (repo status, metrics). */
  readonly replicas?: ReplicaReport;
}

/** What `petrel repo status` and the metrics show of one read replica. */
export interface ReplicaStatus {
  /** The URL with its password hidden. */
  url: string;
  inRotation: boolean;
  /** Why it is not in rotation ("unreachable: ...", "not in recovery", "lag 12.0 s"), else null. */
  problem: string | null;
  replayLsn: string | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  /** Reads it served: metadata, and immutable data (bodies, blob indexes). */
  reads: { metadata: number; immutable: number };
}

export interface ReadCounts {
  primary: { metadata: number; immutable: number };
  replicas: { metadata: number; immutable: number };
}

/** The primary as it describes itself, and the standbys streaming from it (pg_stat_replication). */
export interface PrimaryStatus {
  server: string;
  walLsn: string;
  standbys: Array<{ name: string; client: string; state: string; syncState: string; replayLagSeconds: number | null }>;
}

export interface ReplicaReport {
  /** Queries the primary now. UNAVAILABLE when none answers. */
  primary(): Promise<PrimaryStatus>;
  /** Petrel's view of each read replica, as of the last check. */
  status(): ReplicaStatus[];
  /** Checks every replica now. */
  check(): Promise<void>;
  readCounts(): ReadCounts;
}

/** Every repository a server may reach, opened on first use. */
export interface Repositories {
  readonly directory: Directory;
  /** The repository named DEFAULT_REPOSITORY, always open. */
  readonly primary: Repository;
  /** The repository holding the account's mailboxes. NOT_FOUND (unknown name) or UNAVAILABLE. */
  forAccount(account: Pick<Account, 'repository'>): Promise<Repository>;
  /** A repository by name. NOT_FOUND when the directory has none of that name; UNAVAILABLE when it cannot be opened. */
  byName(name: string): Promise<Repository>;
  /** The repositories opened so far (the blob GC and shutdown walk them). */
  opened(): Repository[];
  /** Every repository the directory knows, opened; those that cannot be reached now are left out. */
  all(): Promise<Repository[]>;
  close(): Promise<void>;
}

/**
 * The account rows of `repo`'s own database that must follow the directory
 * when an account is adopted, deleted or given a quota (Repository.accounts:
 * copies made by adoptAccount), or null for the default repository, whose
 * rows are the directory's own and so already changed.
 */
export function adoptedAccounts(repos: Pick<Repositories, 'primary'>, repo: Repository): Directory | null {
  return repo === repos.primary ? null : repo.accounts;
}

/** The embedded server's registry: one repository, nothing else to open. */
export function singleRepository(
  directory: Directory,
  repository: Omit<Repository, 'name' | 'accounts'> & { name?: string },
  onClose?: () => Promise<void>,
): Repositories {
  const primary: Repository = { ...repository, name: repository.name ?? DEFAULT_REPOSITORY, accounts: directory };
  const byName = async (name: string): Promise<Repository> => {
    if (name === primary.name) return primary;
    throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(name)}`);
  };
  return {
    directory,
    primary,
    forAccount: (account) => byName(account.repository),
    byName,
    opened: () => [primary],
    all: async () => [primary],
    close: async () => {
      await onClose?.();
    },
  };
}
