// The SQLite side of MailStore.importMailboxes/importMessages (`petrel user
// move`, src/cluster/user-move.ts): the same plan as PostgreSQL's
// (../shared/import.ts), row by row. The embedded server has one repository,
// so nothing moves into it today; the methods keep the backends alike. There
// is no holdAccount: a SQLite transaction cannot stay open across awaits.

import { keywordsToColumn, parseFlags } from '../../mail/flags.js';
import { MailError } from '../../mail/errors.js';
import type { ImportBatch, ImportedMailbox } from '../../mail/ports.js';
import type { AccountId, MailboxId, MailboxInfo } from '../../mail/types.js';
import { inWantedOrder, parkedName, planMailboxImport } from '../shared/import.js';
import { internalDateMs, MAILBOX_COLUMNS, type MailboxRow } from '../shared/rows.js';
import type { SqlDb } from './db.js';
import { ensureBlob, INSERT_MESSAGE } from './messages.js';

export function importMailboxes(db: SqlDb, accountId: AccountId, wanted: ImportedMailbox[]): MailboxInfo[] {
  const rowsOf = () => db.stmt(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = ?`).all(accountId) as MailboxRow[];
  const plan = planMailboxImport(rowsOf(), wanted);
  for (const id of plan.drop) db.stmt(`DELETE FROM mailboxes WHERE id = ?`).run(id);
  for (const id of plan.park) db.stmt(`UPDATE mailboxes SET name = ? WHERE id = ?`).run(parkedName(id), id);
  for (const { id, mailbox: m } of plan.update) {
    db.stmt(`UPDATE mailboxes SET name = ?, special_use = ?, selectable = ? WHERE id = ?`).run(m.name, m.specialUse, m.selectable ? 1 : 0, id);
  }
  for (const m of plan.insert) {
    db.stmt(`INSERT INTO mailboxes (account_id, name, uidvalidity, special_use, selectable) VALUES (?, ?, ?, ?, ?)`).run(
      accountId,
      m.name,
      m.uidValidity,
      m.specialUse,
      m.selectable ? 1 : 0,
    );
  }
  db.stmt(`UPDATE meta SET value = max(value, ?) WHERE key = 'last_uidvalidity'`).run(plan.highestUidValidity);
  return inWantedOrder(rowsOf(), wanted);
}

export function importMessages(db: SqlDb, mailboxId: MailboxId, batch: ImportBatch): void {
  if (db.stmt(`SELECT 1 FROM mailboxes WHERE id = ?`).get(mailboxId) === undefined) {
    throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
  }
  const update = db.stmt(`UPDATE messages SET modseq = ?, system_flags = ?, keywords = ?
    WHERE mailbox_id = ? AND uid = ? AND expunged_modseq IS NULL`);
  const exists = db.stmt(`SELECT 1 FROM messages WHERE mailbox_id = ? AND uid = ?`);
  const insert = db.stmt(INSERT_MESSAGE);
  for (const m of batch.messages) {
    const flags = parseFlags(m.flags);
    const keywords = keywordsToColumn(flags.keywords);
    if (exists.get(mailboxId, m.uid) !== undefined) {
      update.run(m.modseq, flags.system, keywords, mailboxId, m.uid);
      continue;
    }
    ensureBlob(db, m);
    insert.run(mailboxId, m.uid, m.modseq, flags.system, keywords, internalDateMs(m), m.saveDate.getTime(), m.index.size, m.blobId);
  }
  const expungeRow = db.stmt(`UPDATE messages SET modseq = ?, expunged_modseq = ?, expunged_at = ?
    WHERE mailbox_id = ? AND uid = ? AND expunged_modseq IS NULL`);
  const tombstone = db.stmt(`INSERT OR IGNORE INTO tombstones (mailbox_id, uid, modseq) VALUES (?, ?, ?)`);
  const now = Date.now();
  for (const e of batch.expunged) {
    if (exists.get(mailboxId, e.uid) !== undefined) expungeRow.run(e.modseq, e.modseq, now, mailboxId, e.uid);
    else tombstone.run(mailboxId, e.uid, e.modseq); // expunged before it was copied
  }
  db.stmt(`UPDATE mailboxes SET uidnext = max(uidnext, ?), highestmodseq = max(highestmodseq, ?) WHERE id = ?`).run(
    batch.uidNext,
    batch.highestModseq,
    mailboxId,
  );
}
