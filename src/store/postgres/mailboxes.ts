// Mailbox operations of the PostgreSQL backend: RFC 9051 CREATE / DELETE /
// RENAME rules (6.3.4 - 6.3.6) and subscriptions, each inside one
// transaction. Changes to an account's mailbox tree first lock the account
// row, so concurrent CREATEs of "a/b" and "a/c" do not both create "a".

import { MailError } from '../../mail/errors.js';
import type { AccountId, MailboxId, MailboxInfo, SpecialUse } from '../../mail/types.js';
import { checkRenameNames, childPrefix, normalizeMailboxName, parentNames, renamedFamily } from '../shared/names.js';
import { isSelectable, MAILBOX_COLUMNS, requireSelectable, toMailboxInfo, type MailboxRow } from '../shared/rows.js';
import { runPrepared, type PgQuery, type PgTx } from './pg.js';
import { expungeRows, moveAllLive } from './messages.js';
import { copyMetadata, deleteMetadata } from './metadata.js';
import { recordTaken, type CountersRow } from './rollback.js';

/**
 * The shared columns, and the timeline of the counters' last change
 * (rollback.ts), each prefixed with `alias` (`mb.`: a statement that reads
 * the mailbox row with what it lists, one snapshot, one round trip). A
 * function declaration: messages.ts, which this module imports, may build
 * its statement texts with it while it loads, before the constants here exist.
 */
export function mailboxColumnList(alias = ''): string {
  return [...MAILBOX_COLUMNS.split(', '), 'counters_timeline'].map((c) => alias + c).join(', ');
}
const COLUMN_LIST = mailboxColumnList();
const COLUMNS = (q: PgQuery) => q.unsafe(COLUMN_LIST);

/** A mailbox row as this backend reads it. */
export type PgMailboxRow = MailboxRow & CountersRow;

// The reads of one mailbox row that every delivery, SELECT and flag change
// runs: constant texts (runPrepared), not rebuilt at each execution.
/** $1 account id, $2 name. */
const MAILBOX_BY_NAME = `SELECT ${COLUMN_LIST} FROM mailboxes WHERE account_id = $1 AND name = $2`;
/** $1 mailbox id. */
const MAILBOX_BY_ID = `SELECT ${COLUMN_LIST} FROM mailboxes WHERE id = $1`;
/** $1 mailbox id. */
const LOCK_MAILBOX = `${MAILBOX_BY_ID} FOR UPDATE`;
/** $1 account id. */
const ACCOUNT_MAILBOXES = `SELECT ${COLUMN_LIST} FROM mailboxes WHERE account_id = $1 ORDER BY name`;

export async function mailboxByName(q: PgQuery, accountId: AccountId, name: string): Promise<PgMailboxRow | undefined> {
  const [row] = await runPrepared<PgMailboxRow[]>(q, MAILBOX_BY_NAME, [accountId, name]);
  return row;
}

export async function mailboxById(q: PgQuery, id: MailboxId): Promise<PgMailboxRow | undefined> {
  const [row] = await runPrepared<PgMailboxRow[]>(q, MAILBOX_BY_ID, [id]);
  return row;
}

/** Locks the mailbox row (the per-mailbox writer lock); NOT_FOUND / NOT_SELECTABLE. */
export async function lockSelectable(tx: PgTx, id: MailboxId): Promise<MailboxRow> {
  const [row] = await runPrepared<MailboxRow[]>(tx, LOCK_MAILBOX, [id]);
  return requireSelectable(row, id);
}

export async function selectableMailbox(q: PgQuery, id: MailboxId): Promise<MailboxRow> {
  return requireSelectable(await mailboxById(q, id), id);
}

export async function listMailboxes(q: PgQuery, accountId: AccountId): Promise<MailboxInfo[]> {
  const rows = await runPrepared<MailboxRow[]>(q, ACCOUNT_MAILBOXES, [accountId]);
  return rows.map(toMailboxInfo);
}

/** Locks the account's row against concurrent mailbox-tree changes; NOT_FOUND. */
async function lockAccount(tx: PgTx, accountId: AccountId): Promise<void> {
  const rows = await tx`SELECT 1 FROM accounts WHERE id = ${accountId} FOR NO KEY UPDATE`;
  if (rows.length === 0) throw new MailError('NOT_FOUND', `account ${accountId} does not exist`);
}

async function hasChildren(tx: PgTx, accountId: AccountId, name: string): Promise<boolean> {
  const rows = await tx`SELECT 1 FROM mailboxes
    WHERE account_id = ${accountId} AND starts_with(name, ${childPrefix(name)}::text) LIMIT 1`;
  return rows.length > 0;
}

/** Next UIDVALIDITY: seconds since the epoch, but strictly increasing over the whole database. */
async function nextUidValidity(tx: PgTx): Promise<number> {
  const [row] = await tx<Array<{ value: number; timeline: number }>>`UPDATE meta
    SET value = GREATEST(value + 1, ${Math.floor(Date.now() / 1000)}::bigint)
    WHERE key = 'last_uidvalidity' RETURNING value, petrel_timeline() AS timeline`;
  // Taken on a timeline not yet checked, it might repeat one a lost primary gave (rollback.ts).
  recordTaken(tx, null, 0, row!.timeline);
  return row!.value;
}

async function insertMailbox(
  tx: PgTx,
  accountId: AccountId,
  name: string,
  specialUse: SpecialUse | null,
): Promise<MailboxRow> {
  const uidvalidity = await nextUidValidity(tx);
  const [row] = await tx<MailboxRow[]>`INSERT INTO mailboxes (account_id, name, uidvalidity, special_use)
    VALUES (${accountId}, ${name}, ${uidvalidity}, ${specialUse}) RETURNING ${COLUMNS(tx)}`;
  return row!;
}

async function createParents(tx: PgTx, accountId: AccountId, name: string): Promise<void> {
  for (const parent of parentNames(name)) {
    if (!(await mailboxByName(tx, accountId, parent))) await insertMailbox(tx, accountId, parent, null);
  }
}

export async function createMailbox(
  tx: PgTx,
  accountId: AccountId,
  rawName: string,
  specialUse: SpecialUse | null,
): Promise<MailboxInfo> {
  const name = normalizeMailboxName(rawName);
  await lockAccount(tx, accountId);
  const existing = await mailboxByName(tx, accountId, name);
  if (existing && isSelectable(existing)) throw new MailError('ALREADY_EXISTS', `mailbox ${name} already exists`);
  await createParents(tx, accountId, name);
  if (existing) {
    // A \Noselect placeholder made selectable again is a new incarnation:
    // new UIDVALIDITY; uidnext and modseq continue so nothing is ever reused.
    const uidvalidity = await nextUidValidity(tx);
    const [row] = await tx<MailboxRow[]>`UPDATE mailboxes
      SET selectable = true, uidvalidity = ${uidvalidity}, special_use = ${specialUse}
      WHERE id = ${existing.id} RETURNING ${COLUMNS(tx)}`;
    return toMailboxInfo(row!);
  }
  return toMailboxInfo(await insertMailbox(tx, accountId, name, specialUse));
}

export async function deleteMailbox(tx: PgTx, accountId: AccountId, rawName: string): Promise<void> {
  const name = normalizeMailboxName(rawName);
  if (name === 'INBOX') throw new MailError('CANNOT', 'INBOX cannot be deleted');
  await lockAccount(tx, accountId);
  const found = await mailboxByName(tx, accountId, name);
  if (!found) throw new MailError('NOT_FOUND', `mailbox ${name} does not exist`);
  if (!(await hasChildren(tx, accountId, name))) {
    await tx`DELETE FROM mailboxes WHERE id = ${found.id}`;
    return;
  }
  if (!isSelectable(found)) throw new MailError('HAS_CHILDREN', `mailbox ${name} has children and is already \\Noselect`);
  // Keep a \Noselect placeholder for the children; its messages are expunged
  // (as rows with a tombstone modseq, like any expunge).
  const row = await lockSelectable(tx, found.id);
  const live = await tx<Array<{ uid: number }>>`SELECT uid FROM messages
    WHERE mailbox_id = ${row.id} AND expunged_modseq IS NULL ORDER BY uid`;
  await expungeRows(tx, row, live.map((r) => r.uid));
  await tx`UPDATE mailboxes SET selectable = false, special_use = NULL WHERE id = ${row.id}`;
  await deleteMetadata(tx, row.id);
  await tx`DELETE FROM mailbox_acl WHERE mailbox_id = ${row.id}`;
}

export async function renameMailbox(tx: PgTx, accountId: AccountId, rawFrom: string, rawTo: string): Promise<void> {
  const from = normalizeMailboxName(rawFrom);
  const to = normalizeMailboxName(rawTo);
  await lockAccount(tx, accountId);
  const source = await mailboxByName(tx, accountId, from);
  if (!source) throw new MailError('NOT_FOUND', `mailbox ${from} does not exist`);
  if (await mailboxByName(tx, accountId, to)) throw new MailError('ALREADY_EXISTS', `mailbox ${to} already exists`);
  checkRenameNames(from, to);

  if (from === 'INBOX') {
    // RFC 9051 6.3.6: renaming INBOX moves its messages to a new mailbox and
    // leaves INBOX (and its children) in place, empty.
    if (!isSelectable(source)) throw new MailError('NOT_SELECTABLE', 'INBOX is not selectable');
    await createParents(tx, accountId, to);
    const target = await insertMailbox(tx, accountId, to, null);
    await moveAllLive(tx, await lockSelectable(tx, source.id), target);
    await copyMetadata(tx, source.id, target.id);
    return;
  }
  const family = await tx<Array<{ id: number; name: string }>>`SELECT id, name FROM mailboxes
    WHERE account_id = ${accountId} AND (name = ${from} OR starts_with(name, ${childPrefix(from)}::text))`;
  const renamed = renamedFamily(family, from, to);
  const taken = await tx<Array<{ name: string }>>`SELECT name FROM mailboxes
    WHERE account_id = ${accountId} AND name = ANY(${renamed.map((m) => m.name)}::text[]) LIMIT 1`;
  if (taken[0]) throw new MailError('ALREADY_EXISTS', `mailbox ${taken[0].name} already exists`);
  await createParents(tx, accountId, to);
  await tx`UPDATE mailboxes m SET name = r.name
    FROM unnest(${renamed.map((m) => m.id)}::bigint[], ${renamed.map((m) => m.name)}::text[]) AS r(id, name)
    WHERE m.id = r.id`;
}

export async function setSpecialUse(q: PgQuery, id: MailboxId, specialUse: SpecialUse | null): Promise<void> {
  const result = await q`UPDATE mailboxes SET special_use = ${specialUse} WHERE id = ${id}`;
  if (result.count === 0) throw new MailError('NOT_FOUND', `mailbox ${id} does not exist`);
}

export async function listSubscriptions(q: PgQuery, accountId: AccountId): Promise<string[]> {
  const rows = await q<Array<{ name: string }>>`SELECT name FROM subscriptions WHERE account_id = ${accountId} ORDER BY name`;
  return rows.map((r) => r.name);
}

export async function setSubscribed(tx: PgTx, accountId: AccountId, rawName: string, subscribed: boolean): Promise<void> {
  const name = normalizeMailboxName(rawName);
  await lockAccount(tx, accountId);
  if (subscribed)
    await tx`INSERT INTO subscriptions (account_id, name) VALUES (${accountId}, ${name}) ON CONFLICT DO NOTHING`;
  else await tx`DELETE FROM subscriptions WHERE account_id = ${accountId} AND name = ${name}`;
}
