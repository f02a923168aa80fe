// SqliteDirectory: accounts and credentials, in the repository's own database
// (embedded mode). Deleting an account cascades to its mailboxes, messages
// and subscriptions (foreign keys), and the blob reference counts follow.

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
import { ACCOUNT_COLUMNS as COLUMNS, toAccount, type AccountRow } from '../shared/rows.js';
import type { SqlDb } from './db.js';

export class SqliteDirectory implements Directory {
  constructor(private readonly db: SqlDb) {}

  async findAccount(name: string): Promise<Account | null> {
    const row = this.db.read(() => this.db.stmt(`SELECT ${COLUMNS} FROM accounts WHERE name = ?`).get(name)) as
      | AccountRow
      | undefined;
    return row ? toAccount(row) : null;
  }

  async getAccount(id: AccountId): Promise<Account | null> {
    const row = this.db.read(() => this.db.stmt(`SELECT ${COLUMNS} FROM accounts WHERE id = ?`).get(id)) as
      | AccountRow
      | undefined;
    return row ? toAccount(row) : null;
  }

  async createAccount(name: string, passwordHash: string, options: { repository?: string } = {}): Promise<Account> {
    if (name.length === 0) throw new MailError('INVALID_NAME', 'account name is empty');
    const repository = options.repository ?? DEFAULT_REPOSITORY;
    return this.db.write(() => {
      if (this.db.stmt(`SELECT 1 FROM accounts WHERE name = ?`).get(name) !== undefined)
        throw new MailError('ALREADY_EXISTS', `account ${name} already exists`);
      if (repository !== DEFAULT_REPOSITORY && this.db.stmt(`SELECT 1 FROM repositories WHERE name = ?`).get(repository) === undefined)
        throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(repository)}`);
      this.db
        .stmt(`INSERT INTO accounts (name, password_hash, created_at, repository) VALUES (?, ?, ?, ?)`)
        .run(name, passwordHash, Date.now(), repository);
      return toAccount(this.db.stmt(`SELECT ${COLUMNS} FROM accounts WHERE name = ?`).get(name) as AccountRow);
    });
  }

  async adoptAccount(account: Pick<Account, 'id' | 'name' | 'repository'>): Promise<void> {
    this.db.write(() =>
      this.db
        .stmt(`INSERT INTO accounts (id, name, password_hash, created_at, repository, disabled) VALUES (?, ?, '', ?, ?, 1) ON CONFLICT DO NOTHING`)
        .run(account.id, account.name, Date.now(), account.repository),
    );
  }

  async listRepositories(): Promise<RepositoryEntry[]> {
    const rows = this.db.read(() => this.db.stmt(`SELECT ${REPOSITORY_COLUMNS} FROM repositories ORDER BY name`).all()) as RepositoryRow[];
    return rows.map(toRepositoryEntry);
  }

  async addRepository(entry: RepositoryEntry): Promise<void> {
    validateRepositoryEntry(entry);
    this.db.write(() => {
      if (this.db.stmt(`SELECT 1 FROM repositories WHERE name = ?`).get(entry.name) !== undefined)
        throw new MailError('ALREADY_EXISTS', `repository ${entry.name} already exists`);
      this.db
        .stmt(`INSERT INTO repositories (name, url, replica_urls, created_at) VALUES (?, ?, ?, ?)`)
        .run(entry.name, entry.url, joinReplicaUrls(entry.replicas), Date.now());
    });
  }

  async setRepositoryReplicas(name: string, replicas: string[]): Promise<void> {
    validateReplicaUrls(replicas);
    const changed = this.db.write(() => this.db.stmt(`UPDATE repositories SET replica_urls = ? WHERE name = ?`).run(joinReplicaUrls(replicas), name).changes);
    if (changed === 0) throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(name)}`);
  }

  async setPassword(name: string, passwordHash: string): Promise<void> {
    this.update(`UPDATE accounts SET password_hash = ? WHERE name = ?`, passwordHash, name);
  }

  async setDisabled(name: string, disabled: boolean): Promise<void> {
    this.update(`UPDATE accounts SET disabled = ? WHERE name = ?`, disabled ? 1 : 0, name);
  }

  async setFrozenUntil(name: string, until: Date | null): Promise<void> {
    this.update(`UPDATE accounts SET frozen_until = ? WHERE name = ?`, until === null ? null : until.getTime(), name);
  }

  async switchRepository(name: string, from: string, to: string): Promise<boolean> {
    return this.db.write(
      () =>
        this.db
          .stmt(`UPDATE accounts SET repository = ?, frozen_until = NULL WHERE name = ? AND repository = ? AND frozen_until > ?`)
          .run(to, name, from, Date.now()).changes === 1,
    );
  }

  async deleteAccount(name: string): Promise<void> {
    this.update(`DELETE FROM accounts WHERE name = ?`, name);
  }

  async listAccounts(): Promise<Account[]> {
    const rows = this.db.read(() => this.db.stmt(`SELECT ${COLUMNS} FROM accounts ORDER BY name`).all()) as AccountRow[];
    return rows.map(toAccount);
  }

  async getQuota(name: string): Promise<QuotaLimits> {
    const row = this.db.read(() =>
      this.db.stmt(`SELECT quota_storage, quota_messages FROM accounts WHERE name = ?`).get(name),
    ) as QuotaRow | undefined;
    if (!row) throw new MailError('NOT_FOUND', `account ${name} does not exist`);
    return toQuotaLimits(row);
  }

  async setQuota(name: string, limits: QuotaLimits): Promise<void> {
    validateLimits(limits);
    this.update(`UPDATE accounts SET quota_storage = ?, quota_messages = ? WHERE name = ?`, limits.storage, limits.messages, name);
  }

  private update(sql: string, ...params: unknown[]): void {
    const name = params[params.length - 1] as string;
    const changes = this.db.write(() => this.db.stmt(sql).run(...params).changes);
    if (changes === 0) throw new MailError('NOT_FOUND', `account ${name} does not exist`);
  }
}
