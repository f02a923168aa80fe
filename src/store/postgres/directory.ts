// PostgresDirectory: accounts and credentials in the repository's database.
// Deleting an account cascades to its mailboxes, messages and subscriptions
// (foreign keys), and the blob reference counts follow (triggers).

import { MailError } from '../../mail/errors.js';
import type { Directory, RepositoryEntry } from '../../mail/ports.js';
import { DEFAULT_REPOSITORY } from '../../mail/repository.js';
import type { Account, AccountId, QuotaLimits } from '../../mail/types.js';
import { toQuotaLimits, validateLimits, type QuotaRow } from '../shared/quota.js';
import {
  REPOSITORY_COLUMNS,
  joinReplicaUrls,
  toRepositoryEntry,
  validateReplicaUrls,
  validateRepositoryEntry,
  type RepositoryRow,
} from '../shared/repositories.js';
import { ACCOUNT_COLUMNS, toAccount, type AccountRow } from '../shared/rows.js';
import { pgGuard, pgIdempotent, runPrepared, type Pg } from './pg.js';

// Every LOGIN and delivery looks its account up: constant texts (runPrepared), not rebuilt at each execution.
/** $1 account name. */
const ACCOUNT_BY_NAME = `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE name = $1`;
/** $1 account id. */
const ACCOUNT_BY_ID = `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`;

export class PostgresDirectory implements Directory {
  constructor(private readonly sql: Pg) {}

  /** A read: retried once after a lost connection (fail-over). */
  private read<T>(fn: () => Promise<T>): Promise<T> {
    return pgIdempotent(this.sql, fn);
  }

  private get columns() {
    return this.sql.unsafe(ACCOUNT_COLUMNS);
  }

  async findAccount(name: string): Promise<Account | null> {
    const [row] = await this.read(() => runPrepared<AccountRow[]>(this.sql, ACCOUNT_BY_NAME, [name]));
    return row ? toAccount(row) : null;
  }

  async getAccount(id: AccountId): Promise<Account | null> {
    const [row] = await this.read(() => runPrepared<AccountRow[]>(this.sql, ACCOUNT_BY_ID, [id]));
    return row ? toAccount(row) : null;
  }

  async createAccount(name: string, passwordHash: string, options: { repository?: string } = {}): Promise<Account> {
    if (name.length === 0) throw new MailError('INVALID_NAME', 'account name is empty');
    const repository = options.repository ?? DEFAULT_REPOSITORY;
    if (repository !== DEFAULT_REPOSITORY) {
      const found = await this.read(() => this.sql`SELECT 1 FROM repositories WHERE name = ${repository}`);
      if (found.length === 0) throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(repository)}`);
    }
    // The unique constraint decides between concurrent creators (-> ALREADY_EXISTS).
    const [row] = await pgGuard(
      () => this.sql<AccountRow[]>`INSERT INTO accounts (name, password_hash, created_at, repository)
        VALUES (${name}, ${passwordHash}, ${Date.now()}, ${repository}) RETURNING ${this.columns}`,
    );
    return toAccount(row!);
  }

  async adoptAccount(account: Pick<Account, 'id' | 'name' | 'repository'>): Promise<void> {
    // Repeatable: a second run finds the row there.
    await pgIdempotent(
      this.sql,
      () => this.sql`INSERT INTO accounts (id, name, password_hash, created_at, repository, disabled)
        VALUES (${account.id}, ${account.name}, '', ${Date.now()}, ${account.repository}, true) ON CONFLICT DO NOTHING`,
    );
  }

  async listRepositories(): Promise<RepositoryEntry[]> {
    const rows = await this.read(() => this.sql.unsafe<RepositoryRow[]>(`SELECT ${REPOSITORY_COLUMNS} FROM repositories ORDER BY name`));
    return rows.map(toRepositoryEntry);
  }

  async addRepository(entry: RepositoryEntry): Promise<void> {
    validateRepositoryEntry(entry);
    await pgGuard(
      () => this.sql`INSERT INTO repositories (name, url, replica_urls, created_at)
        VALUES (${entry.name}, ${entry.url}, ${joinReplicaUrls(entry.replicas)}, ${Date.now()})`,
    );
  }

  async setRepositoryReplicas(name: string, replicas: string[]): Promise<void> {
    validateReplicaUrls(replicas);
    const rows = await pgGuard(() => this.sql`UPDATE repositories SET replica_urls = ${joinReplicaUrls(replicas)} WHERE name = ${name}`);
    if (rows.count === 0) throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(name)}`);
  }

  async setPassword(name: string, passwordHash: string): Promise<void> {
    await this.expectOne(name, () => this.sql`UPDATE accounts SET password_hash = ${passwordHash} WHERE name = ${name}`);
  }

  async setDisabled(name: string, disabled: boolean): Promise<void> {
    await this.expectOne(name, () => this.sql`UPDATE accounts SET disabled = ${disabled} WHERE name = ${name}`);
  }

  async setFrozenUntil(name: string, until: Date | null): Promise<void> {
    await this.expectOne(name, () => this.sql`UPDATE accounts SET frozen_until = ${until === null ? null : until.getTime()} WHERE name = ${name}`);
  }

  async switchRepository(name: string, from: string, to: string): Promise<boolean> {
    const result = await pgGuard(
      () => this.sql`UPDATE accounts SET repository = ${to}, frozen_until = NULL
        WHERE name = ${name} AND repository = ${from} AND frozen_until > ${Date.now()}`,
    );
    return result.count === 1;
  }

  async deleteAccount(name: string): Promise<void> {
    await this.expectOne(name, () => this.sql`DELETE FROM accounts WHERE name = ${name}`);
  }

  async listAccounts(): Promise<Account[]> {
    const rows = await this.read(() => this.sql<AccountRow[]>`SELECT ${this.columns} FROM accounts ORDER BY name`);
    return rows.map(toAccount);
  }

  async getQuota(name: string): Promise<QuotaLimits> {
    const [row] = await this.read(() => this.sql<QuotaRow[]>`SELECT quota_storage, quota_messages FROM accounts WHERE name = ${name}`);
    if (!row) throw new MailError('NOT_FOUND', `account ${name} does not exist`);
    return toQuotaLimits(row);
  }

  async setQuota(name: string, limits: QuotaLimits): Promise<void> {
    validateLimits(limits);
    await this.expectOne(
      name,
      () => this.sql`UPDATE accounts SET quota_storage = ${limits.storage}, quota_messages = ${limits.messages} WHERE name = ${name}`,
    );
  }

  private async expectOne(name: string, run: () => Promise<{ count: number }>): Promise<void> {
    const result = await pgGuard(run);
    if (result.count === 0) throw new MailError('NOT_FOUND', `account ${name} does not exist`);
  }
}
