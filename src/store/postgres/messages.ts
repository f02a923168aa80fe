// Message operations of the PostgreSQL backend, each inside one transaction.
// Every writer first locks the mailbox row (the UPDATE that takes the next
// modseq and, for inserts, the next UIDs; or SELECT ... FOR UPDATE), so the
// writers of one mailbox are serialized: UIDs and modseqs are unique and
// their order is the commit order, whatever server the writers run on.
// Every writer of a mailbox's messages also takes its next MODSEQ (the
// writes "at once" below rely on it), except `petrel user move`'s import
// (user-import.ts), which keeps the source's MODSEQs in a repository no
// session writes to until the move ends.
// Statements work on whole sets (unnest of arrays), not row by row.

import type { PgPendingBody } from '../../blob/postgres/pg-blob-store.js';
import { formatFlags, keywordsToColumn, parseFlags, DELETED } from '../../mail/flags.js';
import { MailError } from '../../mail/errors.js';
import type {
  AppendItem,
  AppendResult,
  BlobId,
  Changes,
  CopyResult,
  ExpungeResult,
  FlagOperation,
  FlagState,
  MailboxCounts,
  MailboxId,
  MessageMeta,
  QuotaLimits,
  QuotaUsage,
  StoreFlagsResult,
  UidSet,
} from '../../mail/types.js';
import type { MailboxFlagListing } from '../../mail/ports.js';
import { listingFromPacked, listingRange, packedFlagsColumns } from '../shared/flag-listing.js';
import { COUNTS_COLUMNS, toMailboxCounts, type CountsRow } from '../shared/counters.js';
import { normalizeUidSet } from '../shared/names.js';
import { bodyWords } from '../shared/search-sql.js';
import {
  blobRecord,
  internalDateMs,
  isDeleted,
  isSelectable,
  MESSAGE_COLUMNS,
  planFlagChanges,
  requireSelectable,
  toMeta,
  type BlobRecord,
  type MailboxRow,
  type MessageRow,
} from '../shared/rows.js';
import { checkQuota, hasLimits, toQuotaLimits, type QuotaRow } from '../shared/quota.js';
import { lockSelectable, mailboxColumnList, type PgMailboxRow } from './mailboxes.js';
import { codeOf, isConnectionError, runPrepared, sendWithin, type Pg, type PgQuery, type PgTx } from './pg.js';
import { COUNTERS_RETURNING, recordTaken, type CountersRow, type TakeGuard } from './rollback.js';

/** PostgreSQL text cannot hold NUL; a NUL in decoded message text is never searched for (IMAP strings exclude it). */
const noNul = (s: string) => (s.includes('\0') ? s.replaceAll('\0', ' ') : s);

/**
 * The statements of FETCH, STORE, EXPUNGE and SELECT below are constant
 * texts (runPrepared): postgres.js would build a tagged template's text from
 * its parts and fragments again at every execution.
 * rowsIn's: $1 the ranges' first UIDs, $2 their last, $3 the mailbox.
 */
function rowsInText(liveOnly: boolean): string {
  return `SELECT ${MESSAGE_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')}
    FROM unnest($1::bigint[], $2::bigint[]) AS r(a, b)
    JOIN messages m ON m.mailbox_id = $3 AND m.uid BETWEEN r.a AND r.b
    ${liveOnly ? 'WHERE m.expunged_modseq IS NULL ' : ''}ORDER BY m.uid`;
}
const ROWS_IN = { live: rowsInText(true), all: rowsInText(false) };

/** Rows of `mailboxId` whose uid is in `uids` (live only, or also expunged), ascending, in one statement. */
async function rowsIn(q: PgQuery, mailboxId: MailboxId, uids: UidSet, liveOnly: boolean): Promise<MessageRow[]> {
  const ranges = normalizeUidSet(uids);
  if (ranges.length === 0) return [];
  return runPrepared<MessageRow[]>(q, liveOnly ? ROWS_IN.live : ROWS_IN.all, [...rangeBounds(ranges), mailboxId]);
}

/** A normalized UID set as two array parameters: the ranges' first UIDs, and their last. */
function rangeBounds(ranges: ReturnType<typeof normalizeUidSet>): [number[], number[]] {
  return [ranges.map((r) => r[0]), ranges.map((r) => r[1])];
}

/** $1 the mailbox, $2 how many UIDs. */
const BUMP_MAILBOX = `UPDATE mailboxes SET highestmodseq = highestmodseq + 1, uidnext = uidnext + $2::bigint
    WHERE id = $1 RETURNING ${COUNTERS_RETURNING}`;

/** Takes the mailbox's next modseq and `newUids` UIDs; the row must be locked or this locks it. */
async function bumpMailbox(tx: PgTx, mailbox: MailboxRow, newUids = 0): Promise<number> {
  const [row] = await runPrepared<CountersRow[]>(tx, BUMP_MAILBOX, [mailbox.id, newUids]);
  return tookFrom(tx, mailbox, row!, newUids);
}

/** After a bump: what it took is recorded for the rollback check, and `mailbox` shows the new counters. */
function tookFrom(tx: PgTx, mailbox: MailboxRow, row: CountersRow, newUids: number): number {
  recordTaken(tx, row, newUids);
  mailbox.uidnext = row.uidnext;
  mailbox.highestmodseq = row.highestmodseq;
  return row.highestmodseq;
}

/**
 * The text of bumpMailbox (no new UIDs) and `change` in one statement (one
 * round trip): `change` is a data-modifying statement that reads the new
 * modseq from `bumped` (the mailbox row as the bump left it); $1 is the
 * mailbox, its own parameters start at $2.
 */
function bumpedWith(change: string): string {
  return `WITH bumped AS (UPDATE mailboxes SET highestmodseq = highestmodseq + 1
      WHERE id = $1 RETURNING ${COUNTERS_RETURNING}),
    changed AS (${change})
    SELECT * FROM bumped`;
}

/** Runs a bumpedWith() text on the mailbox (its row must be locked) with `change`'s parameters. */
async function bumpMailboxWith(tx: PgTx, mailbox: MailboxRow, text: string, params: readonly unknown[]): Promise<number> {
  const [row] = await runPrepared<CountersRow[]>(tx, text, [mailbox.id, ...params]);
  return tookFrom(tx, mailbox, row!, 0);
}

/**
 * Rows from parameters, one column each ([parameter number, type]): arrays,
 * one element per row, through unnest(); or one row of scalars through
 * VALUES, which PostgreSQL runs cheaper (a one-message append).
 * `ordinality`: a last column, the row's place from 1.
 */
function rowsText(columns: ReadonlyArray<readonly [number, string]>, oneRow: boolean, ordinality = false): string {
  const params = columns.map(([n, type]) => `$${n}::${type}${oneRow ? '' : '[]'}`);
  if (oneRow) return `(VALUES (${params.join(', ')}${ordinality ? ', 1::bigint' : ''}))`;
  return `unnest(${params.join(', ')})${ordinality ? ' WITH ORDINALITY' : ''}`;
}

/** For a one-row rowsText: each array parameter's only element. */
const onlyElements = (params: unknown[]): unknown[] => params.map((p) => (p as unknown[])[0]);

/**
 * The items' message columns as `u(f, k, d, s, b, i)`: system flags,
 * keywords, internal date, size, blob id, and i, the item's place from 1
 * (its UID is the first UID taken + i - 1), over the five parameters from
 * $`first` (itemParams).
 */
function itemRowsText(first: number, oneItem = false): string {
  const types = ['int', 'text', 'bigint', 'bigint', 'text'];
  return `${rowsText(types.map((type, i) => [first + i, type] as const), oneItem, true)} AS u(f, k, d, s, b, i)`;
}

/** The parameters of itemRowsText; validates the items' dates. */
function itemParams(items: readonly AppendItem[]): unknown[] {
  const internal = items.map(internalDateMs);
  const flags = items.map((i) => parseFlags(i.flags));
  return [flags.map((f) => f.system), flags.map((f) => keywordsToColumn(f.keywords)), internal, items.map((i) => i.index.size), items.map((i) => i.blobId)];
}

/** The items' blobs, one record each, in blob id order (a stable lock order). */
function blobRecords(items: readonly AppendItem[]): BlobRecord[] {
  const byId = new Map<string, AppendItem>();
  for (const item of items) byId.set(item.blobId, item);
  return [...byId.keys()].sort().map((id) => blobRecord(byId.get(id)!));
}

/**
 * The CTEs `blobs_upserted` and `blob_text_inserted` of a statement that
 * registers the blobs' metadata, over the seven parameters from $`first`
 * (blobParams; one blob: scalars, see rowsText): the upsert locks an existing row until commit, so a
 * concurrent forgetBlobs() (which deletes only rows with refs = 0) waits and
 * then sees our reference; the search text goes in only with a row this
 * statement created (xmax = 0: inserted, not just locked), so a blob already
 * known is not indexed again. `from` joins the upsert's rows to more (e.g. to
 * a statement whose mailbox row was taken: `, taken`).
 */
function blobCtesText(first: number, from = '', oneBlob = false): string {
  // ids, sizes, indexes, sent days; and the same ids with header texts, body texts, body words.
  const blob = rowsText([[first, 'text'], [first + 1, 'bigint'], [first + 2, 'text'], [first + 3, 'text']], oneBlob);
  const text = rowsText([[first, 'text'], [first + 4, 'text'], [first + 5, 'text'], [first + 6, 'text']], oneBlob);
  return `blobs_upserted AS (
      INSERT INTO blobs (blob_id, size, idx, sent_day)
      SELECT r.* FROM ${blob} AS r ${from}
      ON CONFLICT (blob_id) DO UPDATE SET unreferenced_at = NULL
      RETURNING blob_id, (xmax = 0) AS inserted),
    blob_text_inserted AS (
      INSERT INTO blob_text (blob_id, header_text, body_text, body_words)
      SELECT t.* FROM ${text} AS t(blob_id, header_text, body_text, body_words)
      JOIN blobs_upserted u ON u.blob_id = t.blob_id AND u.inserted
      ON CONFLICT (blob_id) DO NOTHING)`;
}

/** The parameters of blobCtesText. */
function blobParams(items: readonly AppendItem[]): unknown[] {
  const records = blobRecords(items);
  const ids = records.map((b) => b.blobId);
  const bodies = records.map((b) => noNul(b.bodyText));
  return [
    ids,
    records.map((b) => b.size),
    records.map((b) => b.idx),
    records.map((b) => b.sentDay),
    records.map((b) => noNul(b.headerText)),
    bodies,
    records.map((b, i) => {
      let words = recordWords.get(b);
      if (words === undefined) recordWords.set(b, (words = bodyWords(bodies[i]!)));
      return words;
    }),
  ];
}

/** Each record's body_words: blobRecord() gives a delivery's recipients one (frozen) record, whose words are made once. */
const recordWords = new WeakMap<BlobRecord, string>();

/**
 * Statements every append runs, as constant texts: postgres.js builds a
 * tagged template's text from its parts and nested fragments at every
 * execution, a constant text is sent as it is (prepared once per connection).
 */
const ENSURE_BLOBS = `WITH ${blobCtesText(1)} SELECT 1`;
const INSERT_ITEMS = `INSERT INTO messages (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
    SELECT $1, $2::bigint + u.i - 1, $3, u.f, u.k, u.d, $4, u.s, u.b FROM ${itemRowsText(5)}`;

/** Registers the blobs' metadata and search text, in one statement (see blobCtesText). */
export async function ensureBlobs(tx: PgTx, items: readonly AppendItem[]): Promise<void> {
  await runPrepared(tx, ENSURE_BLOBS, blobParams(items));
}

/**
 * With the bodies in this database (the PostgreSQL blob store's
 * blob_contents), an append must find its items' bodies there. The body's
 * commit and the append's are two transactions: after a fail-over between
 * them the append runs on a new primary, which may not have the body (an
 * asynchronous standby had not received it, or the body's asynchronous
 * commit had not reached a synchronous one). Appending anyway would
 * acknowledge a message without its body; instead the delivery fails for
 * now (UNAVAILABLE: 451, NO [UNAVAILABLE]) and the client sends it again.
 *
 * A body found here stays until the append commits: every append follows
 * a writer's commit of its body, which touched it (a deduplicated one
 * synchronously, pg-blob-store.ts), and the blob GC deletes only bodies
 * untouched for its grace period.
 * The test, true when every body is there, over the parameters `ids` (the
 * distinct body ids) and `n` (how many): bodiesFoundParams.
 */
function bodiesFound(ids: string, n: string): string {
  return `(SELECT count(*) FROM blob_contents WHERE blob_id = ANY(${ids}::text[])) = ${n}`;
}

function bodiesFoundParams(items: ReadonlyArray<{ blobId: BlobId }>): [BlobId[], number] {
  const ids = [...new Set(items.map((i) => i.blobId))];
  return [ids, ids.length];
}

const BODIES_THERE = `SELECT ${bodiesFound('$1', '$2')} AS found`;

/** bodiesFound as a statement of its own (REPLACE, user move's import). */
export async function bodiesThere(tx: PgTx, items: ReadonlyArray<{ blobId: BlobId }>): Promise<boolean> {
  const [row] = await runPrepared<Array<{ found: boolean }>>(tx, BODIES_THERE, bodiesFoundParams(items));
  return row!.found;
}

export function bodiesMissing(): MailError {
  return new MailError('UNAVAILABLE', 'a message body is missing from the database (lost in a fail-over?); try again');
}

/** Live messages and octets of the account: the sum of its mailboxes' counters. */
export async function quotaUsage(q: PgQuery, accountId: number): Promise<QuotaUsage> {
  const [r] = await q<Array<{ messages: number; bytes: number }>>`SELECT coalesce(sum(message_count), 0)::bigint AS messages,
      coalesce(sum(total_size), 0)::bigint AS bytes
    FROM mailboxes WHERE account_id = ${accountId}`;
  return { messages: r!.messages, storageBytes: r!.bytes };
}

/**
 * OVER_QUOTA unless the account owning `mailboxId` can take `addMessages`
 * more messages of `addBytes` octets. An account with limits is locked
 * first (its row, FOR NO KEY UPDATE: the order the mailbox-tree changes
 * use, account before mailbox), so every adder of that account, whatever
 * mailbox or server, waits here and then sees the others' committed rows.
 * Must run before the transaction locks any mailbox row.
 */
async function enforceQuota(
  tx: PgTx,
  mailboxId: MailboxId,
  addMessages: number,
  addBytes: number,
): Promise<{ limits: QuotaLimits; usage: QuotaUsage } | null> {
  // Locks even when adding nothing: a copy counted before its mailbox locks
  // may find more rows afterwards, and recheck() needs the lock held.
  const [peek] = await tx<Array<QuotaRow & { account_id: number }>>`SELECT a.id AS account_id, a.quota_storage, a.quota_messages
    FROM mailboxes b JOIN accounts a ON a.id = b.account_id WHERE b.id = ${mailboxId}`;
  if (!peek || !hasLimits(toQuotaLimits(peek))) return null; // unlimited accounts are not serialized
  const [locked] = await tx<QuotaRow[]>`SELECT quota_storage, quota_messages FROM accounts
    WHERE id = ${peek.account_id} FOR NO KEY UPDATE`;
  if (!locked) return null;
  const limits = toQuotaLimits(locked); // re-read under the lock: a SETQUOTA may have committed meanwhile
  if (!hasLimits(limits)) return null;
  const usage = await quotaUsage(tx, peek.account_id);
  checkQuota(limits, usage, addMessages, addBytes);
  return { limits, usage };
}

/** $1 the mailbox, $2 how many UIDs; with the bodies checked, $3 and $4 (bodiesFound). */
function takeForAppendText(bodiesHere: boolean): string {
  return `UPDATE mailboxes SET uidnext = uidnext + $2::bigint, highestmodseq = highestmodseq + 1
    WHERE id = $1 AND selectable
    RETURNING ${COUNTERS_RETURNING}, ${bodiesHere ? bodiesFound('$3', '$4') : 'true'} AS bodies_found`;
}
const TAKE_FOR_APPEND = { bodiesChecked: takeForAppendText(true), unchecked: takeForAppendText(false) };

/** `bodiesHere`: the bodies are in this database (bodiesFound). */
export async function appendMessages(tx: PgTx, mailboxId: MailboxId, items: AppendItem[], bodiesHere = false): Promise<AppendResult> {
  items.forEach(internalDateMs); // validate before taking any lock
  if (items.length === 0) {
    const mb = await lockSelectable(tx, mailboxId);
    return { uidValidity: mb.uidvalidity, uids: [], highestModseq: mb.highestmodseq };
  }
  await enforceQuota(tx, mailboxId, items.length, items.reduce((n, i) => n + i.index.size, 0));
  // One statement takes the lock, the UIDs and the modseq, and tells whether the bodies are there.
  const [mb] = await runPrepared<Array<CountersRow & { bodies_found: boolean }>>(
    tx,
    bodiesHere ? TAKE_FOR_APPEND.bodiesChecked : TAKE_FOR_APPEND.unchecked,
    [mailboxId, items.length, ...(bodiesHere ? bodiesFoundParams(items) : [])],
  );
  if (!mb) {
    await lockSelectable(tx, mailboxId); // NOT_FOUND or NOT_SELECTABLE, unless it just became selectable:
    return appendMessages(tx, mailboxId, items, bodiesHere); // then it is locked now and the UPDATE matches
  }
  // After the mailbox's own errors (NOT_FOUND, NOT_SELECTABLE): those answer first. Throwing rolls the UPDATE back.
  if (!mb.bodies_found) throw bodiesMissing();
  recordTaken(tx, mb, items.length);
  const uids = await insertItems(tx, mailboxId, mb.uidnext - items.length, mb.highestmodseq, items);
  return { uidValidity: mb.uidvalidity, uids, highestModseq: mb.highestmodseq };
}

/**
 * The usual append (a selectable mailbox of an account without quota limits)
 * as one statement, which is its own transaction: the mailbox row's UIDs and
 * MODSEQ, the blobs and their search text, the messages and the append's
 * token (recordAppend) in one round trip instead of eight. The statement
 * writes nothing, and the result is null, when the UPDATE of the mailbox row
 * does not match: missing, not selectable, an account with limits (quota
 * needs the account locked first), or what the rollback guard would refuse
 * before COMMIT (RollbackGuard.checkTaken), a body missing (`bodiesHere`,
 * bodiesFound): the caller then runs the transaction (appendMessages),
 * which finds out which and answers it.
 */
export async function appendInOneStatement(
  sql: Pg,
  mailboxId: MailboxId,
  items: AppendItem[],
  token: string,
  guard: TakeGuard,
  bodiesHere = false,
  pending: PgPendingBody | null = null,
): Promise<{ result: AppendResult; row: CountersRow } | null> {
  const n = items.length;
  // The statement stores the body under the item's blob id and size ($7, $8).
  if (pending && (n !== 1 || pending.blobId !== items[0]!.blobId || pending.size !== items[0]!.index.size))
    throw new Error('appendInOneStatement: a pending body goes with its one item');
  const oneItem = n === 1;
  const rowParams = [...blobParams(items), ...itemParams(items)];
  const params = [
    n,
    mailboxId,
    ...takeGuardParams(guard),
    ...(oneItem ? onlyElements(rowParams) : rowParams),
    Date.now(),
    token,
  ];
  if (pending) params.push(pending.uploadId, pending.chunkSize, pending.data);
  else if (bodiesHere) params.push(...bodiesFoundParams(items));
  const text = pending ? APPEND_STORING_BODY : APPEND_TEXTS[`${oneItem}/${bodiesHere}`]!;
  // sendWithin: a caller told UNAVAILABLE was told so before the statement was sent.
  const rows = await sendWithin(sql, runPrepared<Array<CountersRow & { first_uid: number }>>(sql, text, params));
  const row = rows[0];
  if (!row) return null;
  const uids = items.map((_, i) => row.first_uid + i);
  return { result: { uidValidity: row.uidvalidity, uids, highestModseq: row.highestmodseq }, row };
}

/**
 * A one-statement write's TakeGuard as a condition on the mailbox row it
 * updates, $n the timeline and $n+1..$n+3 what was seen (TakeGuard.seen:
 * UIDVALIDITY, UIDNEXT, MODSEQ; null for none): RollbackGuard.checkTaken
 * run before the write. The counters are those before the UPDATE: the first
 * UID and the MODSEQ taken must be above what was seen.
 */
function takeGuardText(n: number): string {
  const [timeline, uidValidity, uidNext, modseq] = [n, n + 1, n + 2, n + 3].map((i) => `$${i}::bigint`);
  return `petrel_timeline() = ${timeline}
        AND (${uidValidity} IS NULL OR uidvalidity <> ${uidValidity} OR (uidnext >= ${uidNext} AND highestmodseq >= ${modseq}))`;
}

/** A TakeGuard as the parameters of takeGuardText. */
function takeGuardParams(guard: TakeGuard): [number, number | null, number | null, number | null] {
  const seen = guard.seen;
  return [guard.timeline, seen?.uidValidity ?? null, seen?.uidNext ?? null, seen?.modseq ?? null];
}

/**
 * appendInOneStatement's text: $1 the number of items, $2 the mailbox, $3
 * the timeline and $4-$6 the counters the rollback guard saw (null: none),
 * $7-$13 blobCtesText, $14-$18 itemRowsText (one item: scalars), $19 the
 * save date, $20 the token; checking the bodies (bodiesFound), $21 their
 * ids and $22 how many; or, storing the one item's body (storeBodyCtes),
 * $21-$23.
 */
function oneStatementAppend(oneItem: boolean, bodiesHere: boolean, storingBody = false): string {
  const bodies = bodiesHere ? `AND ${bodiesFound('$21', '$22')}` : '';
  return `WITH taken AS (
      UPDATE mailboxes SET uidnext = uidnext + $1::bigint, highestmodseq = highestmodseq + 1
      WHERE id = $2 AND selectable AND ${takeGuardText(3)}
        AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = mailboxes.account_id
          AND (a.quota_storage IS NOT NULL OR a.quota_messages IS NOT NULL))
        ${bodies}
      RETURNING ${COUNTERS_RETURNING}, uidnext - $1::bigint AS first_uid),
    ${blobCtesText(7, ', taken', oneItem)},
    messages_inserted AS (
      INSERT INTO messages (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
      SELECT taken.id, taken.first_uid + u.i - 1, taken.highestmodseq, u.f, u.k, u.d, $19::bigint, u.s, u.b
      FROM taken, ${itemRowsText(14, oneItem)}),
    token_recorded AS (
      INSERT INTO append_tokens (token, result)
      SELECT $20::uuid, jsonb_build_object('uidValidity', uidvalidity,
        'uids', (SELECT jsonb_agg(first_uid + g ORDER BY g) FROM generate_series(0, $1::bigint - 1) g),
        'highestModseq', highestmodseq)
      FROM taken)${storingBody ? `,
    ${storeBodyCtes}` : ''}
    SELECT * FROM taken`;
}

/**
 * The one item's body, left pending by the blob store (PgPendingBody), stored
 * by the append: the blob store's content row and its only chunk, the
 * statements of PgPendingBody.store() ($7 the blob id, $8 its size, $21 the
 * upload id, $22 the chunk size, $23 the chunk or null), written only when
 * the mailbox row was taken (else the caller stores the body and runs the
 * transaction). No bodiesFound check: the only body is this one.
 */
const storeBodyCtes = `body_content AS (
      INSERT INTO blob_contents (blob_id, upload_id, size, chunk_size)
      SELECT $7, $21::uuid, $8, $22::int FROM taken
      ON CONFLICT (blob_id) DO UPDATE SET touched_at = now()
      RETURNING upload_id),
    body_chunk AS (
      INSERT INTO blob_chunks (upload_id, seq, data)
      SELECT upload_id, 0, $23::bytea FROM body_content WHERE upload_id = $21::uuid AND $23::bytea IS NOT NULL
      ON CONFLICT (upload_id, seq) DO NOTHING)`;
/** The four texts, by `${oneItem}/${bodiesHere}`. */
const APPEND_TEXTS: Record<string, string> = Object.fromEntries(
  [true, false].flatMap((oneItem) => [true, false].map((bodies) => [`${oneItem}/${bodies}`, oneStatementAppend(oneItem, bodies)])),
);
/** One item whose body the statement stores (PgPendingBody): nothing to check, the only body is this one. */
const APPEND_STORING_BODY = oneStatementAppend(true, false, true);

/**
 * The result of an append whose transaction recorded `token` (recordAppend),
 * or null if it never committed. Takes the mailbox's lock first: a commit of
 * that transaction still in flight is waited for.
 */
export async function committedAppend(tx: PgTx, mailboxId: MailboxId, token: string): Promise<AppendResult | null> {
  await tx`SELECT 1 FROM mailboxes WHERE id = ${mailboxId} FOR UPDATE`;
  const [row] = await tx<Array<{ result: string }>>`SELECT result::text AS result FROM append_tokens WHERE token = ${token}::uuid`;
  return row ? (JSON.parse(row.result) as AppendResult) : null;
}

/** Records, in the append's transaction, that it committed and what it answered (pruned after a day by pruneExpunged). */
export async function recordAppend(tx: PgTx, token: string, result: AppendResult): Promise<void> {
  await tx`INSERT INTO append_tokens (token, result) VALUES (${token}::uuid, ${JSON.stringify(result)}::text::jsonb)`;
}

/** Inserts the items under UIDs first, first + 1, ... and `modseq`, taken already from the locked mailbox. */
async function insertItems(tx: PgTx, mailboxId: MailboxId, first: number, modseq: number, items: AppendItem[]): Promise<number[]> {
  const rows = itemParams(items); // validates the dates before anything is written
  await ensureBlobs(tx, items);
  await runPrepared(tx, INSERT_ITEMS, [mailboxId, first, modseq, Date.now(), ...rows]);
  return items.map((_, i) => first + i);
}

/** The mailbox row's columns (aliased `mb`) in the statements that read it with what they list. */
const MB_COLUMN_LIST = mailboxColumnList('mb.');

/** $1 the mailbox. */
const LIST_UIDS = `SELECT ${MB_COLUMN_LIST},
      (SELECT string_agg(uid::text, ',' ORDER BY uid) FROM messages WHERE mailbox_id = $1 AND expunged_modseq IS NULL) AS uids
    FROM mailboxes mb WHERE mb.id = $1`;

export async function listUids(q: PgQuery, mailboxId: MailboxId): Promise<number[]> {
  // One statement (one snapshot, one round trip): the mailbox row for the check, and the UIDs packed.
  const [row] = await runPrepared<Array<PgMailboxRow & { uids: string | null }>>(q, LIST_UIDS, [mailboxId]);
  const { uids } = requireSelectable(row, mailboxId);
  return uids === null ? [] : uids.split(',').map(Number);
}

/** $1 the mailbox, $2 and $3 the UID range. */
const LIST_FLAGS = `SELECT ${MB_COLUMN_LIST}, l.n, l.packed, l.keyworded
    FROM mailboxes mb CROSS JOIN (SELECT ${packedFlagsColumns()}
      FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 AND expunged_modseq IS NULL) l
    WHERE mb.id = $1`;

/**
 * SELECT of a big mailbox (see shared/flag-listing.ts), with the mailbox's
 * row (rollback.ts notes it) read by the same statement: one snapshot.
 */
export async function listFlags(
  q: PgQuery,
  mailboxId: MailboxId,
  range?: { start: number; end: number },
): Promise<{ listing: MailboxFlagListing; row: PgMailboxRow }> {
  const [a, b] = listingRange(range);
  const [row] = await runPrepared<Array<PgMailboxRow & PackedRow>>(q, LIST_FLAGS, [mailboxId, a, b]);
  requireSelectable(row, mailboxId);
  const listing = listingFromPacked(Number(row!.n), row!.packed, row!.keyworded);
  return { listing: { ...listing, highestModseq: row!.highestmodseq, uidNext: row!.uidnext }, row: row! };
}

/** The columns of packedFlagsColumns(). */
interface PackedRow {
  n: number;
  packed: string | null;
  keyworded: string | null;
}

export async function fetchMessages(q: PgQuery, mailboxId: MailboxId, uids: UidSet): Promise<MessageMeta[]> {
  return (await rowsIn(q, mailboxId, uids, false)).map(toMeta);
}

/** $1 the mailbox. */
const COUNTS = `SELECT ${COUNTS_COLUMNS}, id, account_id, counters_timeline FROM mailboxes WHERE id = $1`;

/** STATUS: the counters of the mailbox row (kept by triggers, see shared/counters.ts), and the row's (rollback.ts). */
export async function counts(q: PgQuery, mailboxId: MailboxId): Promise<{ counts: MailboxCounts; row: CountersRow }> {
  const [row] = await runPrepared<Array<CountsRow & CountersRow>>(q, COUNTS, [mailboxId]);
  if (!row) throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
  return { counts: toMailboxCounts(row), row };
}

/**
 * Locks the mailbox row (lockSelectable) and runs `read` right behind it,
 * without waiting for the lock's answer: one round trip. postgres.js's
 * queries are lazy: one is queued when first awaited (then()), and sent a
 * microtask later, in queue order. lockSelectable awaits its query at once;
 * the await below lets that happen before `read` starts, whatever shape
 * `read` has (a query with .then() of its own would otherwise be queued
 * first). The server runs them in order, and in READ COMMITTED a statement
 * takes its snapshot when it starts: the read sees everything committed
 * before the lock was granted, as if it had waited for it.
 */
async function lockThen<T>(tx: PgTx, mailboxId: MailboxId, read: () => Promise<T>): Promise<[MailboxRow, T]> {
  const locked = lockSelectable(tx, mailboxId);
  await Promise.resolve();
  return Promise.all([locked, read()]);
}

/** $2 the UIDs, $3 their system flags, $4 their keywords. */
const STORE_FLAGS = bumpedWith(`UPDATE messages m SET system_flags = u.f, keywords = u.k, modseq = b.highestmodseq
    FROM bumped b, unnest($2::bigint[], $3::int[], $4::text[]) AS u(uid, f, k)
    WHERE m.mailbox_id = $1 AND m.uid = u.uid`);

export async function storeFlags(
  tx: PgTx,
  mailboxId: MailboxId,
  uids: UidSet,
  operation: FlagOperation,
  flags: string[],
  unchangedSince?: number,
): Promise<StoreFlagsResult> {
  const [mailbox, rows] = await lockThen(tx, mailboxId, () => rowsIn(tx, mailboxId, uids, true));
  const { modified, pending } = planFlagChanges(rows, operation, flags, unchangedSince);
  if (pending.length === 0) return { changed: [], modified, highestModseq: mailbox.highestmodseq };
  const modseq = await bumpMailboxWith(tx, mailbox, STORE_FLAGS, [
    pending.map((p) => p.uid),
    pending.map((p) => p.next.system),
    pending.map((p) => keywordsToColumn(p.next.keywords)),
  ]);
  const changed = pending.map(({ uid, next }) => ({ uid, modseq, flags: formatFlags(next) }));
  return { changed, modified, highestModseq: modseq };
}

// STORE and EXPUNGE without a transaction of their own, when few messages
// change: the mailbox and its messages are read without a lock, the change is
// planned from them, then one statement writes it only if no message of the
// mailbox changed since the read: two round trips instead of four (BEGIN,
// the lock and the read, the change, COMMIT). When it does not apply (more
// than AT_ONCE_MAX messages, the mailbox missing or not selectable, another
// write to the mailbox since the read, or what the rollback guard would
// refuse) nothing is written and the caller runs the transaction, which
// finds out and answers.

/** At most this many messages are read and changed by a write at once; more take the transaction. */
export const AT_ONCE_MAX = 100;

/**
 * The mailbox row and its live messages `messages` (a FROM clause over
 * `messages x` and its conditions, $1 the mailbox, with `mb` in scope), at
 * most AT_ONCE_MAX + 1 (so that a bigger set is told apart), one snapshot:
 * one row per message with the mailbox's columns repeated, or one row of
 * nulls after the mailbox's.
 */
function atOnceReadText(messagesFrom: string): string {
  return `SELECT ${MB_COLUMN_LIST}, mb.deleted_count, ${MESSAGE_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')}
    FROM mailboxes mb LEFT JOIN LATERAL (${messagesFrom} ORDER BY uid LIMIT ${AT_ONCE_MAX + 1}) m ON true
    WHERE mb.id = $1 ORDER BY m.uid`;
}
/**
 * The messages of the UID ranges $2 (first UIDs) and $3 (last), `deletedOnly`
 * those flagged \Deleted. A range at a time (LATERAL, each by the primary
 * key and with the limit): a join of all ranges against the mailbox's rows
 * ordered by UID would walk the whole mailbox for one UID.
 */
function rangesText(deletedOnly: boolean): string {
  return `SELECT x.* FROM unnest($2::bigint[], $3::bigint[]) AS r(a, b)
      CROSS JOIN LATERAL (SELECT * FROM messages y WHERE y.mailbox_id = $1 AND y.uid BETWEEN r.a AND r.b
        AND y.expunged_modseq IS NULL${deletedOnly ? DELETED_TEST('y') : ''} ORDER BY y.uid LIMIT ${AT_ONCE_MAX + 1}) x`;
}
const DELETED_TEST = (alias: string) => ` AND (${alias}.system_flags & ${DELETED}::int) <> 0`;
const READ_RANGES = atOnceReadText(rangesText(false));
const READ_DELETED_IN_RANGES = atOnceReadText(rangesText(true));
/**
 * EXPUNGE's: the messages flagged \Deleted, looked for only when the
 * mailbox's counter (kept by the triggers, same snapshot) says there are
 * some, and not more than AT_ONCE_MAX: else none, or the counter alone
 * tells that there are too many.
 */
const READ_DELETED = atOnceReadText(`SELECT * FROM messages x WHERE x.mailbox_id = $1 AND x.expunged_modseq IS NULL${DELETED_TEST('x')}
      AND mb.deleted_count BETWEEN 1 AND ${AT_ONCE_MAX}`);

/** A write at once's answer; `taken`: the mailbox row as its MODSEQ was taken, null when nothing was written. */
export interface AtOnce<R> {
  result: R;
  taken: CountersRow | null;
}

type AtOnceRead = { mailbox: PgMailboxRow & { deleted_count: number }; rows: MessageRow[] } | null;

/** Runs an atOnceReadText statement; null when the mailbox is missing or not selectable, or too many messages. */
async function readAtOnce(sql: Pg, text: string, params: readonly unknown[]): Promise<AtOnceRead> {
  type Row = PgMailboxRow & { deleted_count: number } & Partial<MessageRow>;
  const read = await sendWithin(sql, runPrepared<Row[]>(sql, text, params));
  const mailbox = read[0];
  if (!mailbox || !isSelectable(mailbox) || read.length > AT_ONCE_MAX) return null;
  return { mailbox, rows: read.filter((r): r is Row & MessageRow => r.uid !== null && r.uid !== undefined) };
}

/**
 * A write at once: $1 the mailbox, $2-$5 takeGuardText, $6 and $7 its
 * HIGHESTMODSEQ and UIDVALIDITY as read; `change` (reading the new MODSEQ
 * from `bumped b`) has its own parameters from $8. The UPDATE of the
 * mailbox row waits for the row's lock like any writer's, then sees the
 * row's latest version: the same HIGHESTMODSEQ means no message of the
 * mailbox changed since the read (every writer of its messages takes the
 * next MODSEQ under that lock), so the change planned from the read is the
 * one the transaction would make; any other HIGHESTMODSEQ writes nothing.
 */
function atOnceText(change: string): string {
  return `WITH bumped AS (UPDATE mailboxes SET highestmodseq = highestmodseq + 1
      WHERE id = $1 AND selectable AND ${takeGuardText(2)}
        AND highestmodseq = $6::bigint AND uidvalidity = $7::bigint
      RETURNING ${COUNTERS_RETURNING}),
    changed AS (${change})
    SELECT * FROM bumped`;
}
/** $8 the UIDs, $9 and $10 their new system flags and keywords. */
const STORE_AT_ONCE = atOnceText(`UPDATE messages m SET system_flags = u.f, keywords = u.k, modseq = b.highestmodseq
      FROM bumped b, unnest($8::bigint[], $9::int[], $10::text[]) AS u(uid, f, k)
      WHERE m.mailbox_id = $1 AND m.uid = u.uid`);
/** $8 the UIDs, $9 the time (ms). */
const EXPUNGE_AT_ONCE = atOnceText(`UPDATE messages SET expunged_modseq = b.highestmodseq, modseq = b.highestmodseq, expunged_at = $9
      FROM bumped b WHERE mailbox_id = $1 AND uid = ANY($8::bigint[])`);

/**
 * Runs an atOnceText statement on the mailbox as read; the mailbox row as
 * bumped, or null when nothing was written. The connection lost once the
 * statement was sent: UNAVAILABLE, the outcome unknown (as a transaction's
 * lost COMMIT; a transaction run after it would find the change made and
 * answer that nothing changed, or for a conditional STORE that the message
 * was modified).
 */
async function writeAtOnce(sql: Pg, text: string, read: { mailbox: PgMailboxRow }, guard: TakeGuard, params: readonly unknown[]): Promise<CountersRow | null> {
  const { id, highestmodseq, uidvalidity } = read.mailbox;
  try {
    const [row] = await sendWithin(sql, runPrepared<CountersRow[]>(sql, text, [id, ...takeGuardParams(guard), highestmodseq, uidvalidity, ...params]));
    return row ?? null;
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    throw new MailError('UNAVAILABLE', `database connection lost during a write (${codeOf(err)}): outcome unknown`, { cause: err });
  }
}

/** STORE at once (see above); null: run storeFlags. A change to nothing writes nothing and answers from the read. */
export async function storeFlagsInOneStatement(
  sql: Pg,
  mailboxId: MailboxId,
  uids: UidSet,
  operation: FlagOperation,
  flags: string[],
  unchangedSince: number | undefined,
  guard: TakeGuard,
): Promise<AtOnce<StoreFlagsResult> | null> {
  const read = await readAtOnce(sql, READ_RANGES, [mailboxId, ...rangeBounds(normalizeUidSet(uids))]);
  if (!read) return null;
  const { modified, pending } = planFlagChanges(read.rows, operation, flags, unchangedSince);
  if (pending.length === 0) return { result: { changed: [], modified, highestModseq: read.mailbox.highestmodseq }, taken: null };
  const row = await writeAtOnce(sql, STORE_AT_ONCE, read, guard, [
    pending.map((p) => p.uid),
    pending.map((p) => p.next.system),
    pending.map((p) => keywordsToColumn(p.next.keywords)),
  ]);
  if (!row) return null;
  const changed = pending.map(({ uid, next }) => ({ uid, modseq: row.highestmodseq, flags: formatFlags(next) }));
  return { result: { changed, modified, highestModseq: row.highestmodseq }, taken: row };
}

/** EXPUNGE at once (see above; `uids`: UID EXPUNGE); null: run expunge. No message to expunge writes nothing. */
export async function expungeInOneStatement(
  sql: Pg,
  mailboxId: MailboxId,
  uids: UidSet | undefined,
  guard: TakeGuard,
): Promise<AtOnce<ExpungeResult> | null> {
  const read = uids
    ? await readAtOnce(sql, READ_DELETED_IN_RANGES, [mailboxId, ...rangeBounds(normalizeUidSet(uids))])
    : await readAtOnce(sql, READ_DELETED, [mailboxId]);
  // READ_DELETED reads no message when there are too many; the counter tells.
  if (!read || (!uids && Number(read.mailbox.deleted_count) > AT_ONCE_MAX)) return null;
  const doomed = read.rows;
  if (doomed.length === 0) return { result: { uids: [], highestModseq: read.mailbox.highestmodseq }, taken: null };
  const row = await writeAtOnce(sql, EXPUNGE_AT_ONCE, read, guard, [doomed.map((r) => r.uid), Date.now()]);
  if (!row) return null;
  return { result: { uids: doomed.map((r) => r.uid), highestModseq: row.highestmodseq }, taken: row };
}

/** $2 the UIDs, $3 the time (ms). */
const EXPUNGE_ROWS = bumpedWith(`UPDATE messages SET expunged_modseq = b.highestmodseq, modseq = b.highestmodseq, expunged_at = $3
    FROM bumped b WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) AND expunged_modseq IS NULL`);

/** Marks the given live uids expunged under one new modseq (no \Deleted check). The mailbox row is locked. */
export async function expungeRows(tx: PgTx, mailbox: MailboxRow, uids: number[]): Promise<ExpungeResult> {
  if (uids.length === 0) return { uids: [], highestModseq: mailbox.highestmodseq };
  const modseq = await bumpMailboxWith(tx, mailbox, EXPUNGE_ROWS, [uids, Date.now()]);
  return { uids, highestModseq: modseq };
}

export async function expunge(tx: PgTx, mailboxId: MailboxId, uids?: UidSet): Promise<ExpungeResult> {
  const deleted = async (): Promise<number[]> => {
    if (uids) return (await rowsIn(tx, mailboxId, uids, true)).filter(isDeleted).map((r) => r.uid);
    const rows = await tx<Array<{ uid: number }>>`SELECT uid FROM messages
      WHERE mailbox_id = ${mailboxId} AND expunged_modseq IS NULL AND (system_flags & ${DELETED}::int) <> 0 ORDER BY uid`;
    return rows.map((r) => r.uid);
  };
  const [mailbox, doomed] = await lockThen(tx, mailboxId, deleted);
  return expungeRows(tx, mailbox, doomed);
}

/** Copies the rows' messages into `target` (locked) under new UIDs, server-side. */
async function copyRows(tx: PgTx, source: MailboxId, rows: MessageRow[], target: MailboxRow): Promise<CopyResult> {
  if (rows.length === 0)
    return { uidValidity: target.uidvalidity, sourceUids: [], targetUids: [], highestModseq: target.highestmodseq };
  const modseq = await bumpMailbox(tx, target, rows.length);
  const first = target.uidnext - rows.length;
  const sourceUids = rows.map((r) => r.uid);
  const targetUids = rows.map((_, i) => first + i);
  await tx`INSERT INTO messages (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
    SELECT ${target.id}, u.target_uid, ${modseq}, m.system_flags, m.keywords, m.internal_date, ${Date.now()}, m.size, m.blob_id
    FROM unnest(${sourceUids}::bigint[], ${targetUids}::bigint[]) AS u(source_uid, target_uid)
    JOIN messages m ON m.mailbox_id = ${source} AND m.uid = u.source_uid`;
  return { uidValidity: target.uidvalidity, sourceUids, targetUids, highestModseq: modseq };
}

/** Locks two mailboxes in id order (so that A->B and B->A never deadlock). */
async function lockPair(tx: PgTx, a: MailboxId, b: MailboxId): Promise<[MailboxRow, MailboxRow]> {
  if (a === b) {
    const row = await lockSelectable(tx, a);
    return [row, row];
  }
  if (a < b) {
    const ra = await lockSelectable(tx, a);
    return [ra, await lockSelectable(tx, b)];
  }
  const rb = await lockSelectable(tx, b);
  return [await lockSelectable(tx, a), rb];
}

/** Quota check of copying the live messages `uids` of `source` into `target` (before any mailbox lock). */
async function enforceCopyQuota(
  tx: PgTx,
  source: MailboxId,
  uids: UidSet,
  target: MailboxId,
): Promise<{ limits: QuotaLimits; usage: QuotaUsage } | null> {
  const ranges = normalizeUidSet(uids);
  if (ranges.length === 0) return null;
  const [firsts, lasts] = rangeBounds(ranges);
  const [r] = await tx<Array<{ messages: number; bytes: number }>>`SELECT count(*) AS messages,
      coalesce(sum(m.size), 0)::bigint AS bytes
    FROM unnest(${firsts}::bigint[], ${lasts}::bigint[]) AS r(a, b)
    JOIN messages m ON m.mailbox_id = ${source} AND m.uid BETWEEN r.a AND r.b AND m.expunged_modseq IS NULL`;
  return enforceQuota(tx, target, r!.messages, r!.bytes);
}

/** Re-checks against the rows actually copied: a range like 1:* may have grown before the mailbox locks. */
function recheck(gate: { limits: QuotaLimits; usage: QuotaUsage } | null, rows: MessageRow[]): void {
  if (gate) checkQuota(gate.limits, gate.usage, rows.length, rows.reduce((n, r) => n + r.size, 0));
}

export async function copyMessages(tx: PgTx, source: MailboxId, uids: UidSet, target: MailboxId): Promise<CopyResult> {
  const gate = await enforceCopyQuota(tx, source, uids, target);
  const [, targetRow] = await lockPair(tx, source, target);
  const rows = await rowsIn(tx, source, uids, true);
  recheck(gate, rows); // the account lock is still held, so gate.usage is still exact
  return copyRows(tx, source, rows, targetRow);
}

/** True when the two mailboxes belong to different accounts (quota: what moves between them adds to the target's usage). */
async function acrossAccounts(tx: PgTx, a: MailboxId, b: MailboxId): Promise<boolean> {
  const [owners] = await tx<Array<{ n: string }>>`SELECT count(DISTINCT account_id) AS n FROM mailboxes WHERE id IN (${a}, ${b})`;
  return Number(owners?.n) > 1;
}

export async function moveMessages(
  tx: PgTx,
  source: MailboxId,
  uids: UidSet,
  target: MailboxId,
): Promise<CopyResult & { expunged: ExpungeResult }> {
  // Within one account a move adds nothing to its usage; across accounts it adds the rows.
  const gate = (await acrossAccounts(tx, source, target)) ? await enforceCopyQuota(tx, source, uids, target) : null;
  const [sourceRow, targetRow] = await lockPair(tx, source, target);
  const rows = await rowsIn(tx, source, uids, true);
  recheck(gate, rows);
  const copied = await copyRows(tx, source, rows, targetRow);
  // Same mailbox: sourceRow is targetRow, whose counters copyRows moved.
  const expunged = await expungeRows(tx, sourceRow, copied.sourceUids);
  return { ...copied, highestModseq: targetRow.highestmodseq, expunged };
}

/** RFC 8508 REPLACE: see MailStore.replaceMessage. Locks: account (quota), then both mailboxes in id order. */
export async function replaceMessage(
  tx: PgTx,
  source: MailboxId,
  uid: number,
  target: MailboxId,
  item: AppendItem,
  bodiesHere = false,
): Promise<{ appended: AppendResult; expunged: ExpungeResult }> {
  internalDateMs(item); // validate before taking any lock
  const one = [{ start: uid, end: uid }];
  const found = !bodiesHere || (await bodiesThere(tx, [item])); // answered after the mailboxes' errors, as in appendMessages
  // The quota check runs before any mailbox lock (see enforceQuota); the size read here is final, a message never changes.
  const [seen] = await rowsIn(tx, source, one, true);
  if (!seen) throw new MailError('EXPUNGED', `message ${uid} no longer exists`);
  // RFC 8508 3.4: within one account only the net change counts.
  if (await acrossAccounts(tx, source, target)) await enforceQuota(tx, target, 1, item.index.size);
  else await enforceQuota(tx, target, 0, item.index.size - seen.size);
  const [sourceRow, targetRow] = await lockPair(tx, source, target);
  // Expunged by another session before the lock: nothing is done.
  if ((await rowsIn(tx, source, one, true)).length === 0) throw new MailError('EXPUNGED', `message ${uid} no longer exists`);
  if (!found) throw bodiesMissing();
  const modseq = await bumpMailbox(tx, targetRow, 1);
  const uids = await insertItems(tx, target, targetRow.uidnext - 1, modseq, [item]);
  const appended = { uidValidity: targetRow.uidvalidity, uids, highestModseq: modseq };
  // Same mailbox: sourceRow is targetRow, whose counters the append moved.
  return { appended, expunged: await expungeRows(tx, sourceRow, [uid]) };
}

/** RENAME INBOX: every live message moves to `target`; both rows are locked (target is new). */
export async function moveAllLive(tx: PgTx, source: MailboxRow, target: MailboxRow): Promise<void> {
  const rows = await rowsIn(tx, source.id, [{ start: 1, end: Infinity }], true);
  const copied = await copyRows(tx, source.id, rows, target);
  await expungeRows(tx, source, copied.sourceUids);
}

/** $1 the mailbox, $2 the MODSEQ since which. */
const CHANGES_SINCE = `SELECT ${MB_COLUMN_LIST}, c.n, c.packed, c.keyworded, x.expunged
    FROM mailboxes mb
    CROSS JOIN (SELECT ${packedFlagsColumns()} FROM messages
      WHERE mailbox_id = $1 AND modseq > $2 AND expunged_modseq IS NULL) c
    CROSS JOIN (SELECT string_agg(e.uid::text, ',' ORDER BY e.uid) AS expunged FROM (
      SELECT uid FROM messages WHERE mailbox_id = $1 AND modseq > $2 AND expunged_modseq IS NOT NULL
      UNION ALL SELECT uid FROM tombstones WHERE mailbox_id = $1 AND modseq > $2) e) x
    WHERE mb.id = $1`;

/** The changes, and the mailbox row they were read with (rollback.ts). */
export async function changesSince(q: PgQuery, mailboxId: MailboxId, since: number): Promise<{ changes: Changes; row: PgMailboxRow }> {
  // One statement (one snapshot, one round trip): the mailbox row, the live
  // changes packed as listFlags packs them, and the expunged UIDs.
  const [mailbox] = await runPrepared<Array<PgMailboxRow & PackedRow & { expunged: string | null }>>(q, CHANGES_SINCE, [mailboxId, since]);
  if (!mailbox) throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
  const live = listingFromPacked(Number(mailbox.n), mailbox.packed, mailbox.keyworded);
  const changed: FlagState[] = Array.from(live.uids, (uid, i) => ({
    uid,
    modseq: live.modseqs[i]!,
    // A copy each, as a row each gave: the listing's sets are shared.
    flags: [...live.flagSets[live.flagSet[i]!]!],
  }));
  const changes = {
    highestModseq: mailbox.highestmodseq,
    uidNext: mailbox.uidnext,
    changed,
    expunged: mailbox.expunged === null ? [] : mailbox.expunged.split(',').map(Number),
  };
  return { changes, row: mailbox };
}

export async function pruneExpunged(q: PgQuery, olderThan: Date): Promise<number> {
  // One statement: the rows deleted are exactly those given a tombstone, even
  // if an expunge commits meanwhile (each statement has its own snapshot).
  const result = await q`WITH gone AS (
      DELETE FROM messages WHERE expunged_modseq IS NOT NULL AND expunged_at < ${olderThan.getTime()}
      RETURNING mailbox_id, uid, expunged_modseq)
    INSERT INTO tombstones (mailbox_id, uid, modseq) SELECT mailbox_id, uid, expunged_modseq FROM gone
    ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`;
  // Tokens of appends (committedAppend): a retry comes within seconds.
  await q`DELETE FROM append_tokens WHERE created_at < now() - interval '1 day'`;
  return result.count;
}

