// A repository: one metadata database (MailStore), its blob store, the
// ingest pipeline over both, and the bus its changes are published on
// (ARCHITECTURE.md, decision 7). The directory maps every account to one
// repository by name; the embedded server has exactly one, DEFAULT_REPOSITORY.
// Mailbox ids are only unique inside a repository, so change events carry
// the repository's name.

import { isMailError, MailError } from './errors.js';
import type { BlobStore, Directory, EventBus, IngestPipeline, MailStore } from './ports.js';
import type { Account, AccountId, QuotaLimits } from './types.js';

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
   * store checks quota and cascades deletes against them). Changed through
   * Repositories' account methods, which keep them in step.
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
  /**
   * The embedded repository's SEARCH index (filled after the commit): the
   * texts stored above its high-water mark, and the deleted texts it still
   * holds (metrics). Absent where the index is kept in the commit (PostgreSQL).
   */
  searchIndexLag?(): { texts: number; forgotten: number };
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
  /**
   * The directory of record. Accounts are created, deleted and given quotas
   * through the methods below, which also change their rows in the
   * repository holding them (Repository.accounts).
   */
  readonly directory: Directory;
  /** The repository named DEFAULT_REPOSITORY, always open. */
  readonly primary: Repository;
  /**
   * Repositories besides the default one can be registered and accounts
   * moved between them (a cluster); false for the embedded server's one.
   */
  readonly multiRepository: boolean;
  /** The repository holding the account's mailboxes. NOT_FOUND (unknown name) or UNAVAILABLE. */
  forAccount(account: Pick<Account, 'repository'>): Promise<Repository>;
  /** A repository by name. NOT_FOUND when the directory has none of that name; UNAVAILABLE when it cannot be opened. */
  byName(name: string): Promise<Repository>;
  /** The repositories opened so far (the blob GC and shutdown walk them). */
  opened(): Repository[];
  /** Every repository the directory knows, opened; those that cannot be reached now are left out. */
  all(): Promise<Repository[]>;
  /** Creates the account in the directory, its mailboxes to be in `repository`, and its row there. ALREADY_EXISTS. */
  createAccount(name: string, passwordHash: string, repository: Repository): Promise<Account>;
  /**
   * Copies the directory's account into `repository`'s database (no
   * credentials; nothing if it is there), with `quota` when given, so that
   * mailboxes and /private annotations there can belong to it. Nothing for
   * the default repository, whose rows are the directory's own.
   */
  adoptAccount(account: Pick<Account, 'id' | 'name' | 'repository'>, repository: Repository, quota?: QuotaLimits): Promise<void>;
  /** Deletes the account: its row in its repository (and so its mailboxes there) first, then the directory's. NOT_FOUND. */
  deleteAccount(account: Pick<Account, 'name' | 'repository'>): Promise<void>;
  /** Sets the account's quota in the directory and in its repository. NOT_FOUND. */
  setQuota(account: Pick<Account, 'name' | 'repository'>, limits: QuotaLimits): Promise<void>;
  close(): Promise<void>;
}

/**
 * What every registry shares: the account methods, which change the
 * directory and the account rows of the repository concerned together.
 */
export abstract class AccountKeepingRepositories implements Repositories {
  abstract readonly directory: Directory;
  abstract readonly primary: Repository;
  abstract readonly multiRepository: boolean;
  abstract byName(name: string): Promise<Repository>;
  abstract opened(): Repository[];
  abstract all(): Promise<Repository[]>;
  abstract close(): Promise<void>;

  forAccount(account: Pick<Account, 'repository'>): Promise<Repository> {
    return this.byName(account.repository);
  }

  /**
   * The account rows of `repository`'s own database that must follow the
   * directory (copies made by adoptAccount), or null for the default
   * repository, whose rows are the directory's own and so already changed.
   */
  private adopted(repository: Repository): Directory | null {
    return repository.name === this.primary.name ? null : repository.accounts;
  }

  async createAccount(name: string, passwordHash: string, repository: Repository): Promise<Account> {
    const account = await this.directory.createAccount(name, passwordHash, { repository: repository.name });
    await this.adoptAccount(account, repository);
    return account;
  }

  async adoptAccount(account: Pick<Account, 'id' | 'name' | 'repository'>, repository: Repository, quota?: QuotaLimits): Promise<void> {
    const adopted = this.adopted(repository);
    if (!adopted) return;
    await adopted.adoptAccount(account);
    if (quota) await adopted.setQuota(account.name, quota);
  }

  async deleteAccount(account: Pick<Account, 'name' | 'repository'>): Promise<void> {
    // Mailboxes first: a failure leaves the account, so the deletion can be tried again.
    await this.adopted(await this.forAccount(account))
      ?.deleteAccount(account.name)
      .catch((err: unknown) => {
        if (!isMailError(err, 'NOT_FOUND')) throw err;
      });
    await this.directory.deleteAccount(account.name);
  }

  async setQuota(account: Pick<Account, 'name' | 'repository'>, limits: QuotaLimits): Promise<void> {
    await this.directory.setQuota(account.name, limits);
    await this.adopted(await this.forAccount(account))?.setQuota(account.name, limits);
  }
}

/** One repository, the default one (singleRepository). */
class SingleRepository extends AccountKeepingRepositories {
  readonly multiRepository = false;

  constructor(
    readonly directory: Directory,
    readonly primary: Repository,
    private readonly onClose?: () => Promise<void>,
  ) {
    super();
  }

  async byName(name: string): Promise<Repository> {
    if (name === this.primary.name) return this.primary;
    throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(name)}`);
  }

  opened(): Repository[] {
    return [this.primary];
  }

  async all(): Promise<Repository[]> {
    return [this.primary];
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}

/** The embedded server's registry: one repository, nothing else to open. */
export function singleRepository(
  directory: Directory,
  repository: Omit<Repository, 'name' | 'accounts'> & { name?: string },
  onClose?: () => Promise<void>,
): Repositories {
  return new SingleRepository(directory, { ...repository, name: repository.name ?? DEFAULT_REPOSITORY, accounts: directory }, onClose);
}
