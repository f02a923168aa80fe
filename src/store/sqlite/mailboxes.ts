// Mailbox operations of the SQLite backend: RFC 9051 CREATE / DELETE / RENAME
// rules (6.3.4 - 6.3.6) and subscriptions. All run inside SqlDb.write().

import { MailError } from '../../mail/errors.js';
import type { AccountId, MailboxId, MailboxInfo, SpecialUse } from '../../mail/types.js';
import { checkRenameNames, childPrefix, normalizeMailboxName, parentNames, renamedFamily } from '../shared/names.js';
import {
  isSelectable,
  MAILBOX_COLUMNS as COLUMNS,
  requireSelectable,
  toMailboxInfo,
  type MailboxRow,
} from '../shared/rows.js';
import type { SqlDb } from './db.js';
import { expungeRows, moveAllLive } from './messages.js';
import { copyMetadata, deleteMetadata } from './metadata.js';

export function mailboxByName(db: SqlDb, accountId: AccountId, name: string): MailboxRow | undefined {
  return db.stmt(`SELECT ${COLUMNS} FROM mailboxes WHERE account_id = ? AND name = ?`).get(accountId, name) as
    | MailboxRow
    | undefined;
}

export function mailboxById(db: SqlDb, id: MailboxId): MailboxRow | undefined {
  return db.stmt(`SELECT ${COLUMNS} FROM mailboxes WHERE id = ?`).get(id) as MailboxRow | undefined;
}

/** The mailbox, which must exist (NOT_FOUND) and be selectable (NOT_SELECTABLE). */
export function selectableMailbox(db: SqlDb, id: MailboxId): MailboxRow {
  return requireSelectable(mailboxById(db, id), id);
}

export function listMailboxes(db: SqlDb, accountId: AccountId): MailboxInfo[] {
  const rows = db.stmt(`SELECT ${COLUMNS} FROM mailboxes WHERE account_id = ? ORDER BY name`).all(accountId);
  return (rows as MailboxRow[]).map(toMailboxInfo);
}

function hasChildren(db: SqlDb, accountId: AccountId, name: string): boolean {
  const prefix = childPrefix(name);
  return (
    db
      .stmt(`SELECT 1 FROM mailboxes WHERE account_id = ? AND substr(name, 1, length(?)) = ? LIMIT 1`)
      .get(accountId, prefix, prefix) !== undefined
  );
}

function insertMailbox(db: SqlDb, accountId: AccountId, name: string, specialUse: SpecialUse | null): MailboxRow {
  const uidvalidity = db.nextUidValidity();
  db.stmt(`INSERT INTO mailboxes (account_id, name, uidvalidity, special_use) VALUES (?, ?, ?, ?)`).run(
    accountId,
    name,
    uidvalidity,
    specialUse,
  );
  return mailboxByName(db, accountId, name)!;
}

function requireAccount(db: SqlDb, accountId: AccountId): void {
  if (db.stmt(`SELECT 1 FROM accounts WHERE id = ?`).get(accountId) === undefined)
    throw new MailError('NOT_FOUND', `account ${accountId} does not exist`);
}

function createParents(db: SqlDb, accountId: AccountId, name: string): void {
  for (const parent of parentNames(name)) {
    if (!mailboxByName(db, accountId, parent)) insertMailbox(db, accountId, parent, null);
  }
}

export function createMailbox(
  db: SqlDb,
  accountId: AccountId,
  rawName: string,
  specialUse: SpecialUse | null,
): MailboxInfo {
  const name = normalizeMailboxName(rawName);
  requireAccount(db, accountId);
  const existing = mailboxByName(db, accountId, name);
  if (existing && isSelectable(existing)) throw new MailError('ALREADY_EXISTS', `mailbox ${name} already exists`);
  createParents(db, accountId, name);
  if (existing) {
    // A \Noselect placeholder made selectable again is a new incarnation:
    // new UIDVALIDITY; uidnext and modseq continue so nothing is ever reused.
    db.stmt(`UPDATE mailboxes SET selectable = 1, uidvalidity = ?, special_use = ? WHERE id = ?`).run(
      db.nextUidValidity(),
      specialUse,
      existing.id,
    );
    return toMailboxInfo(mailboxById(db, existing.id)!);
  }
  return toMailboxInfo(insertMailbox(db, accountId, name, specialUse));
}

export function deleteMailbox(db: SqlDb, accountId: AccountId, rawName: string): void {
  const name = normalizeMailboxName(rawName);
  if (name === 'INBOX') throw new MailError('CANNOT', 'INBOX cannot be deleted');
  const row = mailboxByName(db, accountId, name);
  if (!row) throw new MailError('NOT_FOUND', `mailbox ${name} does not exist`);
  if (!hasChildren(db, accountId, name)) {
    db.stmt(`DELETE FROM mailboxes WHERE id = ?`).run(row.id);
    return;
  }
  if (!isSelectable(row)) throw new MailError('HAS_CHILDREN', `mailbox ${name} has children and is already \\Noselect`);
  // Keep a \Noselect placeholder for the children; its messages are expunged
  // (as rows with a tombstone modseq, like any expunge).
  const live = db.stmt(`SELECT uid FROM messages WHERE mailbox_id = ? AND expunged_modseq IS NULL`).pluck().all(row.id);
  expungeRows(db, row, live as number[]);
  db.stmt(`UPDATE mailboxes SET selectable = 0, special_use = NULL WHERE id = ?`).run(row.id);
  deleteMetadata(db, row.id);
  db.stmt(`DELETE FROM mailbox_acl WHERE mailbox_id = ?`).run(row.id);
}

export function renameMailbox(db: SqlDb, accountId: AccountId, rawFrom: string, rawTo: string): void {
  const from = normalizeMailboxName(rawFrom);
  const to = normalizeMailboxName(rawTo);
  const source = mailboxByName(db, accountId, from);
  if (!source) throw new MailError('NOT_FOUND', `mailbox ${from} does not exist`);
  if (mailboxByName(db, accountId, to)) throw new MailError('ALREADY_EXISTS', `mailbox ${to} already exists`);
  checkRenameNames(from, to);

  if (from === 'INBOX') {
    // RFC 9051 6.3.6: renaming INBOX moves its messages to a new mailbox and
    // leaves INBOX (and its children) in place, empty.
    if (!isSelectable(source)) throw new MailError('NOT_SELECTABLE', 'INBOX is not selectable');
    createParents(db, accountId, to);
    const target = insertMailbox(db, accountId, to, null);
    moveAllLive(db, source, target);
    copyMetadata(db, source.id, target.id);
    return;
  }
  const prefix = childPrefix(from);
  const family = db
    .stmt(`SELECT id, name FROM mailboxes WHERE account_id = ? AND (name = ? OR substr(name, 1, length(?)) = ?)`)
    .all(accountId, from, prefix, prefix) as Array<{ id: number; name: string }>;
  const renamed = renamedFamily(family, from, to);
  for (const m of renamed) {
    if (mailboxByName(db, accountId, m.name)) throw new MailError('ALREADY_EXISTS', `mailbox ${m.name} already exists`);
  }
  createParents(db, accountId, to);
  const update = db.stmt(`UPDATE mailboxes SET name = ? WHERE id = ?`);
  for (const m of renamed) update.run(m.name, m.id);
}

export function setSpecialUse(db: SqlDb, id: MailboxId, specialUse: SpecialUse | null): void {
  const info = db.stmt(`UPDATE mailboxes SET special_use = ? WHERE id = ?`).run(specialUse, id);
  if (info.changes === 0) throw new MailError('NOT_FOUND', `mailbox ${id} does not exist`);
}

export function listSubscriptions(db: SqlDb, accountId: AccountId): string[] {
  return db.stmt(`SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name`).pluck().all(accountId) as string[];
}

export function setSubscribed(db: SqlDb, accountId: AccountId, rawName: string, subscribed: boolean): void {
  const name = normalizeMailboxName(rawName);
  requireAccount(db, accountId);
  if (subscribed) db.stmt(`INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)`).run(accountId, name);
  else db.stmt(`DELETE FROM subscriptions WHERE account_id = ? AND name = ?`).run(accountId, name);
}
