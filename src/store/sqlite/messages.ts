// Message operations of the SQLite backend. Each runs inside one SqlDb
// transaction; every change takes the next modseq of its mailbox (one modseq
// per operation, shared by the messages it changes, as RFC 7162 allows).

import { DELETED, formatFlags, keywordsFromColumn, keywordsToColumn, parseFlags } from '../../mail/flags.js';
import type {
  AppendItem,
  AppendResult,
  Changes,
  CopyResult,
  ExpungeResult,
  FlagOperation,
  FlagState,
  MailboxCounts,
  MailboxId,
  MessageMeta,
  QuotaUsage,
  StoreFlagsResult,
  UidSet,
} from '../../mail/types.js';
import { MailError } from '../../mail/errors.js';
import type { MailboxFlagListing } from '../../mail/ports.js';
import { FlagListingBuilder, listingRange, packedFlagsColumns } from '../shared/flag-listing.js';
import { COUNTS_COLUMNS, toMailboxCounts, type CountsRow } from '../shared/counters.js';
import { normalizeUidSet } from '../shared/names.js';
import {
  blobRecord,
  internalDateMs,
  isDeleted,
  MESSAGE_COLUMNS,
  planFlagChanges,
  toFlagState,
  type MailboxRow,
  type MessageRow,
} from '../shared/rows.js';
import { checkQuota, hasLimits, toQuotaLimits, type QuotaRow } from '../shared/quota.js';
import type { SqlDb } from './db.js';
import { mailboxById, selectableMailbox } from './mailboxes.js';

/** Live rows of `mailboxId` whose uid is in `uids`, ascending. */
function liveRows(db: SqlDb, mailboxId: MailboxId, uids: UidSet): MessageRow[] {
  const stmt = db.stmt(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE mailbox_id = ? AND uid BETWEEN ? AND ? AND expunged_modseq IS NULL ORDER BY uid`,
  );
  const out: MessageRow[] = [];
  for (const [a, b] of normalizeUidSet(uids)) out.push(...(stmt.all(mailboxId, a, b) as MessageRow[]));
  return out;
}

/** Takes the mailbox's next modseq (and moves uidnext if given). */
function bumpMailbox(db: SqlDb, mailbox: MailboxRow, uidnext = mailbox.uidnext): number {
  const modseq = mailbox.highestmodseq + 1;
  db.stmt(`UPDATE mailboxes SET highestmodseq = ?, uidnext = ? WHERE id = ?`).run(modseq, uidnext, mailbox.id);
  mailbox.highestmodseq = modseq;
  mailbox.uidnext = uidnext;
  return modseq;
}

export function ensureBlob(db: SqlDb, item: AppendItem): void {
  if (db.stmt(`SELECT 1 FROM blobs WHERE blob_id = ?`).get(item.blobId) !== undefined) return;
  const b = blobRecord(item);
  db.stmt(`INSERT INTO blobs (blob_id, size, idx, sent_day) VALUES (?, ?, ?, ?)`).run(b.blobId, b.size, b.idx, b.sentDay);
  // Its id from a sequence that never goes back (see search-index.ts).
  const id = db.stmt(`UPDATE meta SET value = value + 1 WHERE key = 'blob_text_seq' RETURNING value`).pluck().get() as number;
  db.stmt(`INSERT INTO blob_text (id, blob_id, header_text, body_text) VALUES (?, ?, ?, ?)`).run(id, b.blobId, b.headerText, b.bodyText);
}

/** Live messages and octets of the account: the sum of its mailboxes' counters. */
export function quotaUsage(db: SqlDb, accountId: number): QuotaUsage {
  const r = db
    .stmt(`SELECT coalesce(sum(message_count), 0) AS messages, coalesce(sum(total_size), 0) AS bytes FROM mailboxes WHERE account_id = ?`)
    .get(accountId) as { messages: number; bytes: number };
  return { messages: r.messages, storageBytes: r.bytes };
}

/**
 * OVER_QUOTA unless the account of `mailbox` can take `addMessages` more
 * messages of `addBytes` octets. SQLite has one writer at a time, so the
 * usage read here cannot change before this transaction commits.
 */
function enforceQuota(db: SqlDb, mailbox: MailboxRow, addMessages: number, addBytes: number): void {
  const row = db.stmt(`SELECT quota_storage, quota_messages FROM accounts WHERE id = ?`).get(mailbox.account_id) as
    | QuotaRow
    | undefined;
  if (!row) return;
  const limits = toQuotaLimits(row);
  if (!hasLimits(limits)) return;
  checkQuota(limits, quotaUsage(db, mailbox.account_id), addMessages, addBytes);
}

export const INSERT_MESSAGE = `INSERT INTO messages
  (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export function appendMessages(db: SqlDb, mailboxId: MailboxId, items: AppendItem[]): AppendResult {
  const mailbox = selectableMailbox(db, mailboxId);
  if (items.length === 0) return { uidValidity: mailbox.uidvalidity, uids: [], highestModseq: mailbox.highestmodseq };
  enforceQuota(db, mailbox, items.length, items.reduce((n, i) => n + i.index.size, 0));
  return insertItems(db, mailbox, items);
}

/** Inserts the items (at least one) under the mailbox's next UIDs and one new modseq. */
function insertItems(db: SqlDb, mailbox: MailboxRow, items: AppendItem[]): AppendResult {
  const mailboxId = mailbox.id;
  const first = mailbox.uidnext;
  const modseq = bumpMailbox(db, mailbox, first + items.length);
  const now = Date.now();
  const insert = db.stmt(INSERT_MESSAGE);
  const uids: number[] = [];
  items.forEach((item, i) => {
    const internal = internalDateMs(item);
    ensureBlob(db, item);
    const flags = parseFlags(item.flags);
    const uid = first + i;
    insert.run(mailboxId, uid, modseq, flags.system, keywordsToColumn(flags.keywords), internal, now, item.index.size, item.blobId);
    uids.push(uid);
  });
  return { uidValidity: mailbox.uidvalidity, uids, highestModseq: modseq };
}

export function listUids(db: SqlDb, mailboxId: MailboxId): number[] {
  selectableMailbox(db, mailboxId);
  return db
    .stmt(`SELECT uid FROM messages WHERE mailbox_id = ? AND expunged_modseq IS NULL ORDER BY uid`)
    .pluck()
    .all(mailboxId) as number[];
}

/**
 * UIDs per query of listFlags, at first: its packed string then weighs a few
 * hundred KB, where one aggregate over a million messages made a 15 MB string
 * in SQLite's heap and a copy of it in V8's (RSS that stayed after SELECT).
 */
export const LISTING_CHUNK_UIDS = 16_384;
/** How far a chunk widens over sparse UIDs (expunged ranges): at most this many times LISTING_CHUNK_UIDS rows. */
const LISTING_MAX_WIDEN = 16;

/**
 * SELECT of a big mailbox: see shared/flag-listing.ts. Read in chunks of
 * consecutive UIDs, each one aggregate over a range of the primary key
 * (a LIMIT needs a subquery, which cost a third more than the scan): the
 * range starts at `chunkUids` UIDs, widens where few of its UIDs are live
 * and jumps over an empty stretch to the next live UID. The arrays are
 * sized by the mailbox's message counter. Runs inside the caller's read
 * transaction, so the chunks and the counter see one snapshot.
 */
export function listFlags(
  db: SqlDb,
  mailboxId: MailboxId,
  range?: { start: number; end: number },
  chunkUids = LISTING_CHUNK_UIDS,
): MailboxFlagListing {
  const mailbox = selectableMailbox(db, mailboxId);
  const [a, requestedEnd] = listingRange(range);
  // Every UID of the mailbox is below uidnext.
  const b = Math.min(requestedEnd, mailbox.uidnext - 1);
  const liveCount = counts(db, mailboxId).messages;
  const live = `mailbox_id = ? AND uid BETWEEN ? AND ? AND expunged_modseq IS NULL`;
  const chunk = db.stmt(`SELECT ${packedFlagsColumns()} FROM messages WHERE ${live} /* raw */`).raw(true);
  const nextLive = db.stmt(`SELECT min(uid) FROM messages WHERE mailbox_id = ? AND uid > ? AND expunged_modseq IS NULL`).pluck();
  const listing = new FlagListingBuilder(Math.max(0, Math.min(liveCount, b - a + 1)));
  let width = chunkUids;
  for (let from = a; from <= b; ) {
    const to = Math.min(b, from + width - 1);
    const [count, packed, keyworded] = chunk.get(mailboxId, from, to) as [number, string | null, string | null];
    listing.addPacked(packed, keyworded);
    if (count === 0) {
      const next = nextLive.get(mailboxId, to) as number | null;
      if (next === null) break;
      from = next;
      width = chunkUids;
      continue;
    }
    from = to + 1;
    // About chunkUids rows a query: wider over sparse UIDs, narrower again over dense ones.
    if (count < chunkUids / 2) width = Math.min(width * 2, chunkUids * LISTING_MAX_WIDEN);
    else if (count > chunkUids) width = Math.max(chunkUids, Math.floor(width / 2));
  }
  return { ...listing.finish(), highestModseq: mailbox.highestmodseq, uidNext: mailbox.uidnext };
}

/** Column order of RawMessageRow (MESSAGE_COLUMNS). */
type RawMessageRow = [number, number, number, string, number, number, number, string, number | null];

export function fetchMessages(db: SqlDb, mailboxId: MailboxId, uids: UidSet): MessageMeta[] {
  // The hottest query (SELECT and FETCH 1:* read every row): rows as arrays,
  // which better-sqlite3 builds at half the cost of objects. Its own SQL text,
  // so the cached statement's raw mode is never shared with other callers.
  const stmt = db
    .stmt(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid /* raw */`)
    .raw(true);
  const out: MessageMeta[] = [];
  for (const [a, b] of normalizeUidSet(uids)) {
    for (const r of stmt.all(mailboxId, a, b) as RawMessageRow[]) {
      out.push({
        uid: r[0],
        modseq: r[1],
        flags: formatFlags({ system: r[2], keywords: keywordsFromColumn(r[3]) }),
        internalDate: new Date(r[4]),
        saveDate: new Date(r[5]),
        size: r[6],
        blobId: r[7],
        expungedModseq: r[8],
      });
    }
  }
  return out;
}

/** STATUS: the counters of the mailbox row (kept by triggers, see shared/counters.ts). */
export function counts(db: SqlDb, mailboxId: MailboxId): MailboxCounts {
  const row = db.stmt(`SELECT ${COUNTS_COLUMNS} FROM mailboxes WHERE id = ?`).get(mailboxId) as CountsRow | undefined;
  if (!row) throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
  return toMailboxCounts(row);
}

export function storeFlags(
  db: SqlDb,
  mailboxId: MailboxId,
  uids: UidSet,
  operation: FlagOperation,
  flags: string[],
  unchangedSince?: number,
): StoreFlagsResult {
  const mailbox = selectableMailbox(db, mailboxId);
  const { modified, pending } = planFlagChanges(liveRows(db, mailboxId, uids), operation, flags, unchangedSince);
  const changed: FlagState[] = [];
  if (pending.length > 0) {
    const modseq = bumpMailbox(db, mailbox);
    const update = db.stmt(`UPDATE messages SET system_flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?`);
    for (const { uid, next } of pending) {
      update.run(next.system, keywordsToColumn(next.keywords), modseq, mailboxId, uid);
      changed.push({ uid, modseq, flags: formatFlags(next) });
    }
  }
  return { changed, modified, highestModseq: mailbox.highestmodseq };
}

/** Marks the given live uids expunged under one new modseq (no \Deleted check). */
export function expungeRows(db: SqlDb, mailbox: MailboxRow, uids: number[]): ExpungeResult {
  if (uids.length === 0) return { uids: [], highestModseq: mailbox.highestmodseq };
  const modseq = bumpMailbox(db, mailbox);
  const now = Date.now();
  const update = db.stmt(
    `UPDATE messages SET expunged_modseq = ?, modseq = ?, expunged_at = ? WHERE mailbox_id = ? AND uid = ? AND expunged_modseq IS NULL`,
  );
  for (const uid of uids) update.run(modseq, modseq, now, mailbox.id, uid);
  return { uids, highestModseq: modseq };
}

export function expunge(db: SqlDb, mailboxId: MailboxId, uids?: UidSet): ExpungeResult {
  const mailbox = selectableMailbox(db, mailboxId);
  let doomed: number[];
  if (uids) {
    doomed = liveRows(db, mailboxId, uids)
      .filter(isDeleted)
      .map((r) => r.uid);
  } else {
    doomed = db
      .stmt(
        `SELECT uid FROM messages WHERE mailbox_id = ? AND expunged_modseq IS NULL AND (system_flags & ${DELETED}) <> 0 ORDER BY uid`,
      )
      .pluck()
      .all(mailboxId) as number[];
  }
  return expungeRows(db, mailbox, doomed);
}

function copyRows(db: SqlDb, rows: MessageRow[], target: MailboxRow): CopyResult {
  if (rows.length === 0)
    return { uidValidity: target.uidvalidity, sourceUids: [], targetUids: [], highestModseq: target.highestmodseq };
  const first = target.uidnext;
  const modseq = bumpMailbox(db, target, first + rows.length);
  const now = Date.now();
  const insert = db.stmt(INSERT_MESSAGE);
  const targetUids: number[] = [];
  rows.forEach((r, i) => {
    insert.run(target.id, first + i, modseq, r.system_flags, r.keywords, r.internal_date, now, r.size, r.blob_id);
    targetUids.push(first + i);
  });
  return { uidValidity: target.uidvalidity, sourceUids: rows.map((r) => r.uid), targetUids, highestModseq: modseq };
}

export function copyMessages(db: SqlDb, source: MailboxId, uids: UidSet, target: MailboxId): CopyResult {
  selectableMailbox(db, source);
  const targetRow = selectableMailbox(db, target);
  const rows = liveRows(db, source, uids);
  enforceQuota(db, targetRow, rows.length, rows.reduce((n, r) => n + r.size, 0));
  return copyRows(db, rows, targetRow);
}

export function moveMessages(
  db: SqlDb,
  source: MailboxId,
  uids: UidSet,
  target: MailboxId,
): CopyResult & { expunged: ExpungeResult } {
  const sourceRow = selectableMailbox(db, source);
  const targetRow = selectableMailbox(db, target);
  const rows = liveRows(db, source, uids);
  // Within one account a move adds nothing to its usage; across accounts it adds the rows.
  if (sourceRow.account_id !== targetRow.account_id)
    enforceQuota(db, targetRow, rows.length, rows.reduce((n, r) => n + r.size, 0));
  const copied = copyRows(db, rows, targetRow);
  // Copying into the same mailbox moved its counters: re-read before expunging.
  const src = source === target ? targetRow : sourceRow;
  const expunged = expungeRows(db, src, copied.sourceUids);
  return { ...copied, highestModseq: targetRow.highestmodseq, expunged };
}

/** RFC 8508 REPLACE: see MailStore.replaceMessage. */
export function replaceMessage(
  db: SqlDb,
  source: MailboxId,
  uid: number,
  target: MailboxId,
  item: AppendItem,
): { appended: AppendResult; expunged: ExpungeResult } {
  const sourceRow = selectableMailbox(db, source);
  // One row object for one mailbox: the append moves its uidnext and modseq, which the expunge then reads.
  const targetRow = source === target ? sourceRow : selectableMailbox(db, target);
  const [original] = liveRows(db, source, [{ start: uid, end: uid }]);
  if (!original) throw new MailError('EXPUNGED', `message ${uid} no longer exists`);
  // RFC 8508 3.4: within one account only the net change counts.
  if (sourceRow.account_id === targetRow.account_id) enforceQuota(db, targetRow, 0, item.index.size - original.size);
  else enforceQuota(db, targetRow, 1, item.index.size);
  const appended = insertItems(db, targetRow, [item]);
  return { appended, expunged: expungeRows(db, sourceRow, [uid]) };
}

/** RENAME INBOX: every live message moves to `target`. */
export function moveAllLive(db: SqlDb, source: MailboxRow, target: MailboxRow): void {
  const rows = db
    .stmt(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND expunged_modseq IS NULL ORDER BY uid`)
    .all(source.id) as MessageRow[];
  const copied = copyRows(db, rows, target);
  expungeRows(db, source, copied.sourceUids);
}

export function changesSince(db: SqlDb, mailboxId: MailboxId, since: number): Changes {
  const mailbox = mailboxById(db, mailboxId);
  if (!mailbox) throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
  const rows = db
    .stmt(
      `SELECT uid, modseq, system_flags, keywords FROM messages
       WHERE mailbox_id = ? AND modseq > ? AND expunged_modseq IS NULL ORDER BY uid`,
    )
    .all(mailboxId, since) as Array<{ uid: number; modseq: number; system_flags: number; keywords: string }>;
  const expunged = db
    .stmt(
      `SELECT uid FROM messages WHERE mailbox_id = ? AND modseq > ? AND expunged_modseq IS NOT NULL
       UNION ALL SELECT uid FROM tombstones WHERE mailbox_id = ? AND modseq > ?
       ORDER BY uid`,
    )
    .pluck()
    .all(mailboxId, since, mailboxId, since) as number[];
  return {
    highestModseq: mailbox.highestmodseq,
    uidNext: mailbox.uidnext,
    changed: rows.map(toFlagState),
    expunged,
  };
}

export function pruneExpunged(db: SqlDb, olderThan: Date): number {
  const limit = olderThan.getTime();
  db.stmt(
    `INSERT OR REPLACE INTO tombstones (mailbox_id, uid, modseq)
     SELECT mailbox_id, uid, expunged_modseq FROM messages WHERE expunged_modseq IS NOT NULL AND expunged_at < ?`,
  ).run(limit);
  return db.stmt(`DELETE FROM messages WHERE expunged_modseq IS NOT NULL AND expunged_at < ?`).run(limit).changes;
}
