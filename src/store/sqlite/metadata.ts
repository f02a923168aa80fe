// RFC 5464 annotations on SQLite: the statements and planning are shared
// (../shared/metadata.ts); this runs them in one transaction.

import { MailError } from '../../mail/errors.js';
import type { MetadataChange, MetadataDepth, MetadataEntry, MetadataLimits, MetadataTarget } from '../../mail/metadata.js';
import type { MailboxId } from '../../mail/types.js';
import {
  accountExistsQuery,
  copyMailboxMetadata,
  deleteMailboxMetadata,
  existingQuery,
  filterFound,
  getQueries,
  mailboxExistsQuery,
  planSet,
  type SqlStatement,
} from '../shared/metadata.js';
import type { SqlDb } from './db.js';

const run = (db: SqlDb, s: SqlStatement) => db.stmt(s.sql).run(...s.params);
const all = <T>(db: SqlDb, s: SqlStatement): T[] => db.stmt(s.sql).all(...s.params) as T[];

function checkTarget(db: SqlDb, t: MetadataTarget): void {
  const mailbox = mailboxExistsQuery(t);
  if (mailbox && all(db, mailbox).length === 0) throw new MailError('NOT_FOUND', `mailbox ${t.mailboxId} does not exist`);
}

/** Call inside db.read(). */
export function getMetadata(db: SqlDb, t: MetadataTarget, names: string[], depth: MetadataDepth): MetadataEntry[] {
  checkTarget(db, t);
  const { statements, requested } = getQueries(t, names, depth);
  // Their SQL varies with the number of names: the bounded statement cache.
  const rows = statements.flatMap((s) => db.dynamicStmt(s.sql).all(...s.params) as Array<{ name: string; value: Buffer }>);
  return filterFound(requested, rows, depth);
}

/** Call inside a write transaction. */
export function setMetadata(db: SqlDb, t: MetadataTarget, changes: MetadataChange[], limits: MetadataLimits): void {
  checkTarget(db, t);
  if (all(db, accountExistsQuery(t)).length === 0) throw new MailError('NOT_FOUND', `account ${t.accountId} does not exist`);
  const existing = all<{ name: string; owner: number }>(db, existingQuery(t));
  for (const s of planSet(t, changes, limits, existing)) run(db, s);
}

/** For RENAME INBOX, inside its transaction. */
export function copyMetadata(db: SqlDb, from: MailboxId, to: MailboxId): void {
  run(db, copyMailboxMetadata(from, to));
}

/** For DELETE that leaves a \Noselect placeholder, inside its transaction. */
export function deleteMetadata(db: SqlDb, mailboxId: MailboxId): void {
  run(db, deleteMailboxMetadata(mailboxId));
}
