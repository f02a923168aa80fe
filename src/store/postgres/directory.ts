// PostgresDirectory: accounts and credentials in the repository's database.
// Deleting an account cascades to its mailboxes, messages and subscriptions
// (foreign keys), and the blob reference counts follow (triggers).

import { MailError } from '../../mail/errors.js';
import type { Directory } from '../../mail/ports.js';
import type { Account, AccountId, QuotaLimits } from '../../mail/types.js';
import { toQuotaLimits, validateLimits, type QuotaRow } from '../shared/quota.js';
import { ACCOUNT_COLUMNS, toAccount, type AccountRow } from '../shared/rows.js';
import { pgGuard, type Pg } from './pg.js';

export class PostgresDirectory implements Directory {
  constructor(private readonly sql: Pg) {}

  private get columns() {
    return this.sql.unsafe(ACCOUNT_COLUMNS);
  }

  async findAccount(name: string): Promise<Account | null> {
    const [row] = await pgGuard(() => this.sql<AccountRow[]>`SELECT ${this.columns} FROM accounts WHERE name = ${name}`);
    return row ? toAccount(row) : null;
  }

  async getAccount(id: AccountId): Promise<Account | null> {
    const [row] = await pgGuard(() => this.sql<AccountRow[]>`SELECT ${this.columns} FROM accounts WHERE id = ${id}`);
    return row ? toAccount(row) : null;
  }

  async createAccount(name: string, passwordHash: string): Promise<Account> {
    if (name.length === 0) throw new MailError('INVALID_NAME', 'account name is empty');
    // The unique constraint decides between concurrent creators (-> ALREADY_EXISTS).
    const [row] = await pgGuard(
      () => this.sql<AccountRow[]>`INSERT INTO accounts (name, password_hash, created_at)
        VALUES (${name}, ${passwordHash}, ${Date.now()}) RETURNING ${this.columns}`,
    );
    return toAccount(row!);
  }

  async setPassword(name: string, passwordHash: string): Promise<void> {
    await this.expectOne(name, () => this.sql`UPDATE accounts SET password_hash = ${passwordHash} WHERE name = ${name}`);
  }

  async setDisabled(name: string, disabled: boolean): Promise<void> {
    await this.expectOne(name, () => this.sql`UPDATE accounts SET disabled = ${disabled} WHERE name = ${name}`);
  }

  async deleteAccount(name: string): Promise<void> {
    await this.expectOne(name, () => this.sql`DELETE FROM accounts WHERE name = ${name}`);
  }

  async listAccounts(): Promise<Account[]> {
    const rows = await pgGuard(() => this.sql<AccountRow[]>`SELECT ${this.columns} FROM accounts ORDER BY name`);
    return rows.map(toAccount);
  }

  async getQuota(name: string): Promise<QuotaLimits> {
    const [row] = await pgGuard(
      () => this.sql<QuotaRow[]>`SELECT quota_storage, quota_messages FROM accounts WHERE name = ${name}`,
    );
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
