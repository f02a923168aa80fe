// SqliteMailStore: the MailStore port over one SQLite database. better-sqlite3
// is synchronous, so each method is one (short) transaction run to completion;
// concurrent callers in this process are serialized by the event loop and
// other processes by SQLite's write lock (BEGIN IMMEDIATE + busy_timeout).

import type { AclEntry } from '../../mail/acl.js';
import { MailError } from '../../mail/errors.js';
import type { CreateMailboxOptions, ImportBatch, ImportedMailbox, MailboxFlagListing, MailStore } from '../../mail/ports.js';
import { headerTextHas, type SearchDialect } from '../../mail/search.js';
import type {
  AccountId,
  AppendItem,
  AppendResult,
  BlobId,
  Changes,
  CopyResult,
  ExpungeResult,
  FlagOperation,
  MailboxCounts,
  MailboxId,
  MailboxInfo,
  MessageMeta,
  QuotaUsage,
  SearchQuery,
  SpecialUse,
  StoreFlagsResult,
  UidSet,
} from '../../mail/types.js';
import type { MessageIndex } from '../../mime/types.js';
import { normalizeMailboxName } from '../shared/names.js';
import { ACL_SQL, groupSharedRows, toAclEntry, type AclRow } from '../shared/acl.js';
import { toMailboxInfo, type MailboxRow } from '../shared/rows.js';
import { IndexCache } from '../shared/index-cache.js';
import { searchStatement, sqliteTextIndex } from '../shared/search-sql.js';
import { sqliteTextPlan } from './search.js';
import type { SqlDb } from './db.js';
import * as mailboxes from './mailboxes.js';
import * as messages from './messages.js';
import * as metadata from './metadata.js';
import * as userImport from './user-import.js';
import type { MetadataChange, MetadataDepth, MetadataEntry, MetadataLimits, MetadataTarget } from '../../mail/metadata.js';
import { integrityProblems } from './integrity.js';

export const sqliteSearchDialect: SearchDialect = {
  placeholder: () => '?',
  contains: (haystack, needle) => `(instr(${haystack}, ${needle}) > 0)`,
  headerHas: (text, field, value) => `(petrel_header_has(${text}, ${field}, ${value}) = 1)`,
  inJsonRanges: (col, json) =>
    `EXISTS (SELECT 1 FROM json_each(${json}) r WHERE ${col} BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]'))`,
  textIndex: sqliteTextIndex,
};

export class SqliteMailStore implements MailStore {
  private readonly indexCache = new IndexCache();

  /**
   * `searchDb`: a read-only connection of the same database with the SEARCH
   * index attached (see index.ts); searches run there.
   */
  constructor(
    private readonly db: SqlDb,
    private readonly searchDb: SqlDb,
    private readonly catchUpIndex: () => number,
    private readonly onClose: () => Promise<void>,
  ) {
    searchDb.db.function('petrel_header_has', { deterministic: true }, (text: unknown, field: unknown, value: unknown) =>
      headerTextHas(String(text), String(field), String(value)) ? 1 : 0,
    );
  }

  // --- access control ---
  async getAcl(mailboxId: MailboxId): Promise<AclEntry[]> {
    const rows = this.db.read(() => this.db.stmt(ACL_SQL.get).all(mailboxId)) as AclRow[];
    return rows.map(toAclEntry);
  }

  async setAcl(mailboxId: MailboxId, identifier: string, rights: string | null): Promise<void> {
    this.db.write(() => {
      if (this.db.stmt(ACL_SQL.mailboxExists).get(mailboxId) === undefined)
        throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
      if (rights) this.db.stmt(ACL_SQL.upsert).run(mailboxId, identifier, rights);
      else this.db.stmt(ACL_SQL.remove).run(mailboxId, identifier);
    });
  }

  async mailboxesWithAcl(identifiers: string[]): Promise<Array<{ mailbox: MailboxInfo; acl: AclEntry[] }>> {
    const sql = ACL_SQL.mailboxesWithAcl('identifier IN (SELECT value FROM json_each(?))');
    const rows = this.db.read(() => this.db.stmt(sql).all(JSON.stringify(identifiers))) as Array<MailboxRow & AclRow>;
    return groupSharedRows(rows);
  }

  // --- mailboxes ---
  async listMailboxes(accountId: AccountId): Promise<MailboxInfo[]> {
    return this.db.read(() => mailboxes.listMailboxes(this.db, accountId));
  }

  async getMailbox(accountId: AccountId, name: string): Promise<MailboxInfo | null> {
    let canonical: string;
    try {
      canonical = normalizeMailboxName(name);
    } catch {
      return null;
    }
    const row = this.db.read(() => mailboxes.mailboxByName(this.db, accountId, canonical));
    return row ? toMailboxInfo(row) : null;
  }

  async getMailboxById(mailboxId: MailboxId): Promise<MailboxInfo | null> {
    const row = this.db.read(() => mailboxes.mailboxById(this.db, mailboxId));
    return row ? toMailboxInfo(row) : null;
  }

  async createMailbox(accountId: AccountId, name: string, options: CreateMailboxOptions = {}): Promise<MailboxInfo> {
    return this.db.writeDurable(() => {
      const created = mailboxes.createMailbox(this.db, accountId, name, options.specialUse ?? null);
      if (options.aclFrom !== undefined) this.db.stmt(ACL_SQL.copy).run(created.id, options.aclFrom);
      return created;
    });
  }

  async deleteMailbox(accountId: AccountId, name: string): Promise<void> {
    await this.db.writeDurable(() => mailboxes.deleteMailbox(this.db, accountId, name));
  }

  async renameMailbox(accountId: AccountId, from: string, to: string): Promise<void> {
    await this.db.writeDurable(() => mailboxes.renameMailbox(this.db, accountId, from, to));
  }

  async setSpecialUse(mailboxId: MailboxId, specialUse: SpecialUse | null): Promise<void> {
    await this.db.writeDurable(() => mailboxes.setSpecialUse(this.db, mailboxId, specialUse));
  }

  // --- subscriptions ---
  async listSubscriptions(accountId: AccountId): Promise<string[]> {
    return this.db.read(() => mailboxes.listSubscriptions(this.db, accountId));
  }

  async setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void> {
    await this.db.writeDurable(() => mailboxes.setSubscribed(this.db, accountId, name, subscribed));
  }

  // --- messages ---
  async counts(mailboxId: MailboxId): Promise<MailboxCounts> {
    return this.db.read(() => messages.counts(this.db, mailboxId));
  }

  async appendMessages(mailboxId: MailboxId, items: AppendItem[]): Promise<AppendResult> {
    return this.db.writeDurable(() => messages.appendMessages(this.db, mailboxId, items));
  }

  async quotaUsage(accountId: AccountId): Promise<QuotaUsage> {
    return this.db.read(() => messages.quotaUsage(this.db, accountId));
  }

  async listUids(mailboxId: MailboxId): Promise<number[]> {
    return this.db.read(() => messages.listUids(this.db, mailboxId));
  }

  async listFlags(mailboxId: MailboxId, range?: { start: number; end: number }): Promise<MailboxFlagListing> {
    return this.db.read(() => messages.listFlags(this.db, mailboxId, range));
  }

  async fetchMessages(mailboxId: MailboxId, uids: UidSet): Promise<MessageMeta[]> {
    return this.db.read(() => messages.fetchMessages(this.db, mailboxId, uids));
  }

  async getIndex(blobId: BlobId): Promise<MessageIndex> {
    const index = this.readIndex(blobId);
    if (!index) throw new MailError('NOT_FOUND', `no index for blob ${blobId}`);
    return index;
  }

  async getIndexes(blobIds: readonly BlobId[]): Promise<Map<BlobId, MessageIndex>> {
    // In process: one lookup each (no round trip to save).
    const found = new Map<BlobId, MessageIndex>();
    for (const id of new Set(blobIds)) {
      const index = this.readIndex(id);
      if (index) found.set(id, index);
    }
    return found;
  }

  /** The blob's index, from the cache or the database; undefined when it has none. */
  private readIndex(blobId: BlobId): MessageIndex | undefined {
    const cached = this.indexCache.get(blobId);
    if (cached) return cached;
    const json = this.db.read(() => this.db.stmt(`SELECT idx FROM blobs WHERE blob_id = ?`).pluck().get(blobId)) as
      | string
      | undefined;
    return json === undefined ? undefined : this.indexCache.add(blobId, json);
  }

  async storeFlags(
    mailboxId: MailboxId,
    uids: UidSet,
    operation: FlagOperation,
    flags: string[],
    unchangedSince?: number,
  ): Promise<StoreFlagsResult> {
    return this.db.writeDurable(() => messages.storeFlags(this.db, mailboxId, uids, operation, flags, unchangedSince));
  }

  async expunge(mailboxId: MailboxId, uids?: UidSet): Promise<ExpungeResult> {
    return this.db.writeDurable(() => messages.expunge(this.db, mailboxId, uids));
  }

  async copyMessages(source: MailboxId, uids: UidSet, target: MailboxId): Promise<CopyResult> {
    return this.db.writeDurable(() => messages.copyMessages(this.db, source, uids, target));
  }

  async moveMessages(
    source: MailboxId,
    uids: UidSet,
    target: MailboxId,
  ): Promise<CopyResult & { expunged: ExpungeResult }> {
    return this.db.writeDurable(() => messages.moveMessages(this.db, source, uids, target));
  }

  async replaceMessage(
    source: MailboxId,
    uid: number,
    target: MailboxId,
    item: AppendItem,
  ): Promise<{ appended: AppendResult; expunged: ExpungeResult }> {
    return this.db.writeDurable(() => messages.replaceMessage(this.db, source, uid, target, item));
  }

  async importMailboxes(accountId: AccountId, wanted: ImportedMailbox[]): Promise<MailboxInfo[]> {
    return this.db.write(() => userImport.importMailboxes(this.db, accountId, wanted));
  }

  async importMessages(mailboxId: MailboxId, batch: ImportBatch): Promise<void> {
    this.db.write(() => userImport.importMessages(this.db, mailboxId, batch));
  }

  async changesSince(mailboxId: MailboxId, since: number): Promise<Changes> {
    return this.db.read(() => messages.changesSince(this.db, mailboxId, since));
  }

  async search(mailboxId: MailboxId, query: SearchQuery): Promise<number[]> {
    const db = this.searchDb;
    return db.read(() => {
      const mailbox = mailboxes.selectableMailbox(db, mailboxId);
      const textPlan = sqliteTextPlan(db, query, mailbox.uidnext - 1);
      const { sql, params } = searchStatement(query, sqliteSearchDialect, mailboxId, { textPlan });
      return db
        .dynamicStmt(sql)
        .pluck()
        .all(...params) as number[];
    });
  }

  // --- annotations (RFC 5464) ---
  async getMetadata(target: MetadataTarget, names: string[], options: { depth?: MetadataDepth } = {}): Promise<MetadataEntry[]> {
    return this.db.read(() => metadata.getMetadata(this.db, target, names, options.depth ?? 0));
  }

  async setMetadata(target: MetadataTarget, changes: MetadataChange[], limits: MetadataLimits): Promise<void> {
    await this.db.writeDurable(() => metadata.setMetadata(this.db, target, changes, limits));
  }

  // --- maintenance ---
  async pruneExpunged(olderThan: Date): Promise<number> {
    return this.db.writeDurable(() => messages.pruneExpunged(this.db, olderThan));
  }

  async unreferencedBlobs(limit: number): Promise<BlobId[]> {
    return this.db.read(
      () =>
        this.db
          .stmt(`SELECT blob_id FROM blobs WHERE refs = 0 ORDER BY unreferenced_at LIMIT ?`)
          .pluck()
          .all(limit) as BlobId[],
    );
  }

  async forgetBlobs(blobIds: BlobId[]): Promise<void> {
    await this.db.writeDurable(() => {
      // refs = 0 again here: a blob referenced meanwhile is kept.
      const del = this.db.stmt(`DELETE FROM blobs WHERE blob_id = ? AND refs = 0`);
      for (const id of blobIds) {
        del.run(id);
        this.indexCache.delete(id);
      }
    });
  }

  async integrityCheck(): Promise<string[]> {
    return this.db.read(() => integrityProblems(this.db));
  }

  async indexSearchText(): Promise<number> {
    return this.catchUpIndex();
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}
