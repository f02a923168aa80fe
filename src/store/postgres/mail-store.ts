// PostgresMailStore: the MailStore port over one PostgreSQL repository. Each
// method is one transaction (writes: READ COMMITTED with the mailbox row as
// the writer lock, retried on serialization failure or deadlock; multi-
// statement reads: one REPEATABLE READ snapshot).

import { randomUUID } from 'node:crypto';
import { PgPendingBody } from '../../blob/postgres/pg-blob-store.js';
import { MailError } from '../../mail/errors.js';
import type { AccountHold, CreateMailboxOptions, ImportBatch, ImportedMailbox, MailboxFlagListing, MailStore } from '../../mail/ports.js';
import type { AclEntry } from '../../mail/acl.js';
import { ACL_SQL, groupSharedRows, toAclEntry, type AclRow } from '../shared/acl.js';
import { numberedPlaceholders } from '../shared/metadata.js';
import type { MailboxRow } from '../shared/rows.js';
import type { SearchDialect } from '../../mail/search.js';
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
import { IndexCache } from '../shared/index-cache.js';
import { INVARIANT_QUERIES, invariantProblems } from '../shared/integrity.js';
import { normalizeMailboxName } from '../shared/names.js';
import { toMailboxInfo } from '../shared/rows.js';
import { postgresTextIndex, searchStatement } from '../shared/search-sql.js';
import * as mailboxes from './mailboxes.js';
import * as messages from './messages.js';
import type { AtOnce } from './messages.js';
import * as metadata from './metadata.js';
import * as userImport from './user-import.js';
import type { MetadataChange, MetadataDepth, MetadataEntry, MetadataLimits, MetadataTarget } from '../../mail/metadata.js';
import {
  isConnectionError,
  isRetryable,
  mapPgError,
  pgIdempotent,
  pgRead,
  pgTransaction,
  type Pg,
  type PgTx,
} from './pg.js';
import { RollbackCheckNeeded, RollbackGuard, takenBy, type CountersRow, type Taken, type TakeGuard } from './rollback.js';
import type { EventBus } from '../../mail/ports.js';
import type { Logger } from '../../util/log.js';
import type { ReadFloor, ReadRouter } from './read-routing.js';

/**
 * strpos() on the folded text columns, as SQLite's instr(): ILIKE is not
 * IMAP's case-insensitivity for non-ASCII text, the stored text and the
 * query are already folded the same way (src/mail/search.ts). Terms of 3+
 * characters also get a LIKE that the pg_trgm indexes answer (textIndex).
 */
export const postgresSearchDialect: SearchDialect = {
  placeholder: (n) => `$${n}`,
  contains: (haystack, needle) => `(strpos(${haystack}, ${needle}::text) > 0)`,
  // One "name:value" line per field (see headerSearchText).
  headerHas: (text, field, value) =>
    `EXISTS (SELECT 1 FROM unnest(string_to_array(${text}, E'\\n')) AS l(line)
      WHERE starts_with(l.line, ${field}::text || ':') AND strpos(substr(l.line, length(${field}::text) + 2), ${value}::text) > 0)`,
  // ::text first: a parameter the server types as jsonb would be JSON-encoded again by postgres.js.
  inJsonRanges: (col, json) =>
    `EXISTS (SELECT 1 FROM jsonb_array_elements(${json}::text::jsonb) AS r(v) WHERE ${col} BETWEEN (r.v->>0)::bigint AND (r.v->>1)::bigint)`,
  textIndex: postgresTextIndex,
};

/** The shared ACL statements with $n placeholders, numbered once (and prepared: one round trip each). */
const PG_ACL = {
  get: numberedPlaceholders(ACL_SQL.get),
  mailboxExists: numberedPlaceholders(ACL_SQL.mailboxExists),
  upsert: numberedPlaceholders(ACL_SQL.upsert),
  remove: numberedPlaceholders(ACL_SQL.remove),
  copy: numberedPlaceholders(ACL_SQL.copy),
  withAcl: numberedPlaceholders(ACL_SQL.mailboxesWithAcl('identifier = ANY(?::text[])')),
};

/** A routed read's value, whether the primary answered it, and the watermarks' clock when it began (rollback.ts). */
interface Noted<T> {
  value: T;
  onPrimary: boolean;
  startedAt: number;
}

/**
 * Mailboxes whose last one-statement append matched nothing (nearly
 * always: an account with quota limits, which needs the transaction):
 * their appends go straight to the transaction until the entry expires,
 * instead of sending the whole message in a statement that matches
 * nothing first. Per pool, shared by the readers' views.
 */
const TRANSACTION_APPENDS_MS = 60_000;
const transactionAppends = new WeakMap<Pg, Map<MailboxId, number>>();

function transactionAppendsOf(sql: Pg): Map<MailboxId, number> {
  let map = transactionAppends.get(sql);
  if (!map) transactionAppends.set(sql, (map = new Map()));
  return map;
}

/** The item's pending body if this database's blob store left it (PgPendingBody), else null. */
function pendingBodyOf(item: AppendItem): PgPendingBody | null {
  return item.pendingBody instanceof PgPendingBody ? item.pendingBody : null;
}

async function storePendingBodies(items: readonly AppendItem[]): Promise<void> {
  for (const item of items) await item.pendingBody?.store();
}

export class PostgresMailStore implements MailStore {
  readonly storesPendingBodies = true;

  constructor(
    private readonly sql: Pg,
    private readonly onClose: () => Promise<void>,
    /** Read replicas, when the repository has any (src/cluster/replicas.ts). */
    private router: ReadRouter | null = null,
    /** Set on a reader's view (forReader): its metadata reads may go to replicas. */
    private readonly floor: ReadFloor | null = null,
    private readonly indexCache = new IndexCache(),
    /** What this process saw of each mailbox, and the check after a fail-over (rollback.ts); shared with the readers' views. */
    readonly rollback = new RollbackGuard(sql),
    /** The message bodies are in this database (the PostgreSQL blob store): an append checks that its bodies are there (messages.bodiesFound). */
    private readonly bodiesHere = false,
  ) {}

  /** Where sessions hear of mailboxes given a new UIDVALIDITY after a rollback (set at open). */
  useEvents(repository: string, events: Pick<EventBus, 'publish'>, logger?: Logger): void {
    this.rollback.useEvents(repository, events, logger);
  }

  /** The repository's read replicas (set once, at open, before any view is made). */
  useReadRouter(router: ReadRouter): void {
    this.router = router;
  }

  /**
   * A view of this store for one account's sessions: metadata reads go to a
   * replica that has replayed everything the account wrote or was told of
   * (its writes through the view, and its change events, mark the floor).
   * Without replicas, the store itself.
   */
  forReader(accountId: AccountId): MailStore {
    if (!this.router) return this;
    return new PostgresMailStore(this.sql, async () => {}, this.router, this.router.floorFor(accountId), this.indexCache, this.rollback, this.bodiesHere);
  }

  noteChange(): void {
    this.floor?.markStale();
  }

  /** One statement outside a transaction. All of ours are reads or repeatable (idempotent) writes: retried once after a lost connection. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.rollback.suspected) await this.rollback.ready();
    return pgIdempotent(this.sql, fn);
  }

  /** A single-statement metadata read: on a replica past the reader's floor, else the primary. */
  private async read<T>(fn: (sql: Pg) => Promise<T>): Promise<T> {
    return (await this.readNoting(fn)).value;
  }

  /** read(), telling whether the primary answered (rollback.ts trusts only its counters). */
  private readNoting<T>(fn: (sql: Pg) => Promise<T>): Promise<Noted<T>> {
    return this.routedNoting((sql) => pgIdempotent(sql, fn));
  }

  /** Runs `exec` where metadata reads go (a replica past the floor, else the primary), noting which and when it began. */
  private async routedNoting<T>(exec: (sql: Pg) => Promise<T>): Promise<Noted<T>> {
    if (this.rollback.suspected) await this.rollback.ready();
    const startedAt = this.rollback.clock;
    let onPrimary = true;
    const run = (sql: Pg) => {
      onPrimary = sql === this.sql;
      return exec(sql);
    };
    const value = this.router && this.floor ? await this.router.readMetadata(this.floor, run) : await run(this.sql);
    return { value, onPrimary, startedAt };
  }

  /** A consistent multi-statement metadata read (one snapshot), routed as read(). */
  private async snapshot<T>(fn: (tx: PgTx) => Promise<T>): Promise<T> {
    return (await this.snapshotNoting(fn)).value;
  }

  private snapshotNoting<T>(fn: (tx: PgTx) => Promise<T>): Promise<Noted<T>> {
    return this.routedNoting((sql) => pgRead(sql, fn));
  }

  /** Counters a read returned: remembered, and checked against what was seen before it began (rollback.ts). */
  private noteRead(row: CountersRow | undefined, read: { onPrimary: boolean; startedAt: number }): void {
    if (row) this.rollback.noteRead(row, read.onPrimary, read.startedAt);
  }

  /**
   * A write transaction; afterwards the reader's floor waits for it. What it
   * takes (UIDs, MODSEQs, UIDVALIDITYs) is checked before COMMIT against what
   * this process saw: after a rollback the transaction is undone, the
   * mailboxes checked (rollback.ts), and it runs again.
   */
  private async write<T>(fn: (tx: PgTx) => Promise<T>, options: { verifiable?: boolean } = {}): Promise<T> {
    try {
      for (let attempt = 1; ; attempt++) {
        if (this.rollback.suspected) await this.rollback.ready();
        let taken: Taken[] = [];
        try {
          const result = await pgTransaction(
            this.sql,
            async (tx) => {
              const value = await fn(tx);
              taken = takenBy(tx);
              this.rollback.checkTaken(taken);
              return value;
            },
            '',
            options,
          );
          this.rollback.noteTaken(taken);
          return result;
        } catch (err) {
          if (!(err instanceof RollbackCheckNeeded)) throw err;
          // Each check settles what the write found; a third finding means the database keeps moving under us.
          if (attempt >= 3) throw new MailError('UNAVAILABLE', `rollback check did not settle: ${err.message}`, { cause: err });
          await this.rollback.resolve(err);
        }
      }
    } finally {
      this.floor?.markStale();
    }
  }

  /** A single-statement write, as write(). */
  private async writeOne<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.guard(fn);
    } finally {
      this.floor?.markStale();
    }
  }

  // --- access control ---
  async getAcl(mailboxId: MailboxId): Promise<AclEntry[]> {
    const rows = await this.read((sql) => sql.unsafe<AclRow[]>(PG_ACL.get, [mailboxId], { prepare: true }));
    return rows.map(toAclEntry);
  }

  async setAcl(mailboxId: MailboxId, identifier: string, rights: string | null): Promise<void> {
    await this.write(async (tx) => {
      const found = await tx.unsafe(PG_ACL.mailboxExists, [mailboxId], { prepare: true });
      if (found.length === 0) throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
      if (rights) await tx.unsafe(PG_ACL.upsert, [mailboxId, identifier, rights], { prepare: true });
      else await tx.unsafe(PG_ACL.remove, [mailboxId, identifier], { prepare: true });
    });
  }

  async mailboxesWithAcl(identifiers: string[]): Promise<Array<{ mailbox: MailboxInfo; acl: AclEntry[] }>> {
    const rows = await this.read((db) => db.unsafe<Array<MailboxRow & AclRow>>(PG_ACL.withAcl, [identifiers] as never[], { prepare: true }));
    return groupSharedRows(rows);
  }

  // --- mailboxes ---
  async listMailboxes(accountId: AccountId): Promise<MailboxInfo[]> {
    return this.read((sql) => mailboxes.listMailboxes(sql, accountId));
  }

  async getMailbox(accountId: AccountId, name: string): Promise<MailboxInfo | null> {
    let canonical: string;
    try {
      canonical = normalizeMailboxName(name);
    } catch {
      return null;
    }
    const read = await this.readNoting((sql) => mailboxes.mailboxByName(sql, accountId, canonical));
    const row = read.value;
    this.noteRead(row, read);
    return row ? toMailboxInfo(row) : null;
  }

  async getMailboxById(mailboxId: MailboxId): Promise<MailboxInfo | null> {
    const read = await this.readNoting((sql) => mailboxes.mailboxById(sql, mailboxId));
    const row = read.value;
    this.noteRead(row, read);
    return row ? toMailboxInfo(row) : null;
  }

  async createMailbox(accountId: AccountId, name: string, options: CreateMailboxOptions = {}): Promise<MailboxInfo> {
    return this.write(async (tx) => {
      const created = await mailboxes.createMailbox(tx, accountId, name, options.specialUse ?? null);
      if (options.aclFrom !== undefined) await tx.unsafe(PG_ACL.copy, [created.id, options.aclFrom], { prepare: true });
      return created;
    });
  }

  async deleteMailbox(accountId: AccountId, name: string): Promise<void> {
    await this.write((tx) => mailboxes.deleteMailbox(tx, accountId, name));
  }

  async renameMailbox(accountId: AccountId, from: string, to: string): Promise<void> {
    await this.write((tx) => mailboxes.renameMailbox(tx, accountId, from, to));
  }

  async setSpecialUse(mailboxId: MailboxId, specialUse: SpecialUse | null): Promise<void> {
    await this.writeOne(() => mailboxes.setSpecialUse(this.sql, mailboxId, specialUse));
  }

  // --- subscriptions ---
  async listSubscriptions(accountId: AccountId): Promise<string[]> {
    return this.read((sql) => mailboxes.listSubscriptions(sql, accountId));
  }

  async setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void> {
    await this.write((tx) => mailboxes.setSubscribed(tx, accountId, name, subscribed));
  }

  // --- messages ---
  async counts(mailboxId: MailboxId): Promise<MailboxCounts> {
    const read = await this.readNoting((sql) => messages.counts(sql, mailboxId));
    this.noteRead(read.value.row, read);
    return read.value.counts;
  }

  /**
   * A delivery acknowledged once must be stored once, even when the primary
   * is lost while COMMIT is in flight: the transaction records a token with
   * its result, and a run after such a loss first looks for the token (under
   * the mailbox's lock, so an in-flight commit on a still-living primary is
   * waited for). Found: the first run committed, and its result is the
   * answer. Not found: it did not, and this run appends. The usual append
   * is one statement (appendAtOnce), with the same token.
   */
  async appendMessages(mailboxId: MailboxId, items: AppendItem[]): Promise<AppendResult> {
    // A pending body (BlobWriter.commitPending) goes into the one-statement
    // append when that can carry it (one item, bodies in this database);
    // otherwise it is stored first, as the writer's commit would have.
    const pending = this.bodiesHere && items.length === 1 ? pendingBodyOf(items[0]!) : null;
    if (!pending) await storePendingBodies(items);
    const token = randomUUID();
    const viaTransaction = transactionAppendsOf(this.sql);
    const skip = (viaTransaction.get(mailboxId) ?? 0) > Date.now();
    const atOnce = skip ? 'not tried' : await this.appendAtOnce(mailboxId, items, token, pending);
    if (typeof atOnce !== 'object' && pending) await pending.store(); // idempotent, also if the statement did commit ('unknown')
    const result =
      typeof atOnce === 'object' ? atOnce : await this.appendInTransaction(mailboxId, items, token, atOnce === 'unknown');
    // Only a statement that ran and matched nothing sends the mailbox's appends to the transaction for a while.
    if (atOnce === 'missed') {
      if (viaTransaction.size >= 10_000) viaTransaction.clear(); // bounded: an entry only saves a statement
      viaTransaction.set(mailboxId, Date.now() + TRANSACTION_APPENDS_MS);
    } else if (typeof atOnce === 'object') viaTransaction.delete(mailboxId);
    // With replicas, the first FETCH of a new message would ask one for an index it has not replayed yet.
    if (this.router) for (const item of items) this.indexCache.put(item.blobId, item.index);
    return result;
  }

  /** The append as a transaction; `mayHaveCommitted`: an earlier run's outcome is unknown, so its token is looked for first. */
  private appendInTransaction(mailboxId: MailboxId, items: AppendItem[], token: string, mayHaveCommitted: boolean): Promise<AppendResult> {
    let again = mayHaveCommitted;
    return this.write(async (tx) => {
      if (again) {
        const earlier = await messages.committedAppend(tx, mailboxId, token);
        if (earlier) return earlier;
      }
      again = true;
      const appended = await messages.appendMessages(tx, mailboxId, items, this.bodiesHere);
      await messages.recordAppend(tx, token, appended);
      return appended;
    }, { verifiable: true });
  }

  /**
   * The append as one statement (messages.appendInOneStatement), when it
   * applies: 'missed' when the statement matched nothing (nothing was
   * written: e.g. an account with quota limits), 'not tried' when it could
   * not run (no timeline checked yet) or was undone (a deadlock), 'unknown'
   * when the connection was lost after the statement was sent.
   */
  private async appendAtOnce(
    mailboxId: MailboxId,
    items: AppendItem[],
    token: string,
    pending: PgPendingBody | null,
  ): Promise<AppendResult | 'missed' | 'not tried' | 'unknown'> {
    if (items.length === 0) return 'not tried';
    if (this.rollback.suspected) await this.rollback.ready();
    const guard = this.rollback.takeGuard(mailboxId);
    if (!guard) return 'not tried';
    try {
      const done = await messages.appendInOneStatement(this.sql, mailboxId, items, token, guard, this.bodiesHere, pending);
      if (!done) return 'missed';
      this.rollback.noteTaken([{ row: done.row, newUids: items.length, timeline: done.row.counters_timeline }]);
      this.floor?.markStale();
      return done.result;
    } catch (err) {
      if (isConnectionError(err)) return 'unknown';
      if (isRetryable(err)) return 'not tried'; // a deadlock or serialization failure undid the statement: the transaction retries
      throw mapPgError(err);
    }
  }

  async quotaUsage(accountId: AccountId): Promise<QuotaUsage> {
    return this.read((sql) => messages.quotaUsage(sql, accountId));
  }

  async listUids(mailboxId: MailboxId): Promise<number[]> {
    return this.read((sql) => messages.listUids(sql, mailboxId));
  }

  async listFlags(mailboxId: MailboxId, range?: { start: number; end: number }): Promise<MailboxFlagListing> {
    const read = await this.readNoting((sql) => messages.listFlags(sql, mailboxId, range));
    this.noteRead(read.value.row, read);
    return read.value.listing;
  }

  async fetchMessages(mailboxId: MailboxId, uids: UidSet): Promise<MessageMeta[]> {
    return this.read((sql) => messages.fetchMessages(sql, mailboxId, uids));
  }

  async getIndex(blobId: BlobId): Promise<MessageIndex> {
    const index = (await this.getIndexes([blobId])).get(blobId);
    if (!index) throw new MailError('NOT_FOUND', `no index for blob ${blobId}`);
    return index;
  }

  async getIndexes(blobIds: readonly BlobId[]): Promise<Map<BlobId, MessageIndex>> {
    const found = new Map<BlobId, MessageIndex>();
    const wanted: BlobId[] = [];
    for (const id of new Set(blobIds)) {
      const cached = this.indexCache.get(id);
      if (cached) found.set(id, cached);
      else wanted.push(id);
    }
    if (wanted.length === 0) return found;
    const query = (sql: Pg) =>
      pgIdempotent(sql, (db) => db<Array<{ blob_id: string; idx: string }>>`SELECT blob_id, idx FROM blobs WHERE blob_id = ANY(${wanted}::text[])`);
    // The index of a blob never changes: any replica that has them all will do; one that lacks some
    // (not replayed yet) is asked again on the primary.
    const rows = this.router ? await this.router.readImmutable(query, (r) => r.length < wanted.length) : await query(this.sql);
    for (const row of rows) found.set(row.blob_id, this.indexCache.add(row.blob_id, row.idx));
    return found;
  }

  async storeFlags(
    mailboxId: MailboxId,
    uids: UidSet,
    operation: FlagOperation,
    flags: string[],
    unchangedSince?: number,
  ): Promise<StoreFlagsResult> {
    const atOnce = await this.atOnce(mailboxId, (guard) =>
      messages.storeFlagsInOneStatement(this.sql, mailboxId, uids, operation, flags, unchangedSince, guard),
    );
    return atOnce ?? this.write((tx) => messages.storeFlags(tx, mailboxId, uids, operation, flags, unchangedSince));
  }

  async expunge(mailboxId: MailboxId, uids?: UidSet): Promise<ExpungeResult> {
    const atOnce = await this.atOnce(mailboxId, (guard) => messages.expungeInOneStatement(this.sql, mailboxId, uids, guard));
    return atOnce ?? this.write((tx) => messages.expunge(tx, mailboxId, uids));
  }

  /**
   * A STORE or EXPUNGE without a transaction (messages.ts, "at once"), or
   * null when it did not apply or was undone (nothing written): the caller
   * runs the transaction. So does a connection lost before the write was
   * sent; lost after, the write answers UNAVAILABLE (outcome unknown).
   */
  private async atOnce<R>(
    mailboxId: MailboxId,
    run: (guard: TakeGuard) => Promise<AtOnce<R> | null>,
  ): Promise<R | null> {
    if (this.rollback.suspected) await this.rollback.ready();
    const guard = this.rollback.takeGuard(mailboxId);
    if (!guard) return null;
    try {
      const done = await run(guard);
      if (!done) return null;
      if (done.taken) {
        this.rollback.noteTaken([{ row: done.taken, newUids: 0, timeline: done.taken.counters_timeline }]);
        this.floor?.markStale();
      }
      return done.result;
    } catch (err) {
      if (isConnectionError(err) || isRetryable(err)) return null;
      throw mapPgError(err);
    }
  }

  async copyMessages(source: MailboxId, uids: UidSet, target: MailboxId): Promise<CopyResult> {
    return this.write((tx) => messages.copyMessages(tx, source, uids, target));
  }

  async moveMessages(
    source: MailboxId,
    uids: UidSet,
    target: MailboxId,
  ): Promise<CopyResult & { expunged: ExpungeResult }> {
    return this.write((tx) => messages.moveMessages(tx, source, uids, target));
  }

  async replaceMessage(
    source: MailboxId,
    uid: number,
    target: MailboxId,
    item: AppendItem,
  ): Promise<{ appended: AppendResult; expunged: ExpungeResult }> {
    await storePendingBodies([item]);
    return this.write((tx) => messages.replaceMessage(tx, source, uid, target, item, this.bodiesHere));
  }

  async importMailboxes(accountId: AccountId, wanted: ImportedMailbox[]): Promise<MailboxInfo[]> {
    return this.write((tx) => userImport.importMailboxes(tx, accountId, wanted));
  }

  async importMessages(mailboxId: MailboxId, batch: ImportBatch): Promise<void> {
    await this.write((tx) => userImport.importMessages(tx, mailboxId, batch, this.bodiesHere));
  }

  holdAccount(accountId: AccountId): Promise<AccountHold> {
    return userImport.holdAccount(this.sql, accountId);
  }

  async changesSince(mailboxId: MailboxId, since: number): Promise<Changes> {
    const read = await this.readNoting((sql) => messages.changesSince(sql, mailboxId, since));
    this.noteRead(read.value.row, read);
    return read.value.changes;
  }

  async search(mailboxId: MailboxId, query: SearchQuery): Promise<number[]> {
    const { sql, params } = searchStatement(query, postgresSearchDialect, mailboxId);
    return this.snapshot(async (tx) => {
      await mailboxes.selectableMailbox(tx, mailboxId);
      // Unnamed (not prepared): a generic plan would guess the LIKE's selectivity,
      // and use the trigram index even for a term that is in every message.
      const rows = await tx.unsafe<Array<{ uid: number }>>(sql, params, { prepare: false });
      return rows.map((r) => r.uid);
    });
  }

  // --- annotations (RFC 5464) ---
  async getMetadata(target: MetadataTarget, names: string[], options: { depth?: MetadataDepth } = {}): Promise<MetadataEntry[]> {
    return this.snapshot((tx) => metadata.getMetadata(tx, target, names, options.depth ?? 0));
  }

  async setMetadata(target: MetadataTarget, changes: MetadataChange[], limits: MetadataLimits): Promise<void> {
    await this.write((tx) => metadata.setMetadata(tx, target, changes, limits));
  }

  // --- maintenance ---
  async pruneExpunged(olderThan: Date): Promise<number> {
    // writeOne: a reader's view then reads past the pruning (its tombstones gone), as after its other writes.
    return this.writeOne(() => messages.pruneExpunged(this.sql, olderThan));
  }

  async unreferencedBlobs(limit: number): Promise<BlobId[]> {
    const rows = await this.guard(
      () => this.sql<Array<{ blob_id: string }>>`SELECT blob_id FROM blobs WHERE refs = 0 ORDER BY unreferenced_at LIMIT ${limit}`,
    );
    return rows.map((r) => r.blob_id);
  }

  async forgetBlobs(blobIds: BlobId[]): Promise<void> {
    if (blobIds.length === 0) return;
    // refs = 0 is checked again on the current row version: a blob an
    // appender has locked (see ensureBlobs) is waited for and then kept.
    await this.guard(() => this.sql`DELETE FROM blobs WHERE blob_id = ANY(${blobIds}::text[]) AND refs = 0`);
    for (const id of blobIds) this.indexCache.delete(id);
  }

  async integrityCheck(): Promise<string[]> {
    return pgRead(this.sql, async (tx) => {
      const all = (q: string) => tx.unsafe(q) as Promise<unknown[]>;
      return invariantProblems({
        counters: await all(INVARIANT_QUERIES.counters),
        refs: await all(INVARIANT_QUERIES.refs),
        orphanText: await all(INVARIANT_QUERIES.orphanText),
        missingText: await all(INVARIANT_QUERIES.missingText),
        mailboxCounters: await all(INVARIANT_QUERIES.mailboxCounters),
      });
    });
  }

  async close(): Promise<void> {
    await this.onClose();
  }
}
