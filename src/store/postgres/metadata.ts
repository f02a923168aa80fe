// RFC 5464 annotations on PostgreSQL: the statements and planning are shared
// (../shared/metadata.ts); this numbers the placeholders and runs them in the
// caller's transaction. Writers of one mailbox's (or one account's server)
// annotations are serialized by locking that row, so the count limit holds
// under concurrency.

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
  numberedPlaceholders,
  planSet,
  type SqlStatement,
} from '../shared/metadata.js';
import type { PgTx } from './pg.js';

/** Server /shared entries have no row to lock: one advisory lock key for all of them ("5464"). */
const SERVER_SHARED_LOCK = 5464;

function query<T>(tx: PgTx, s: SqlStatement, suffix = '', prepare = true): Promise<T[]> {
  return tx.unsafe(numberedPlaceholders(s.sql) + suffix, s.params as never[], { prepare }) as unknown as Promise<T[]>;
}

async function checkTarget(tx: PgTx, t: MetadataTarget, lock: boolean): Promise<void> {
  const mailbox = mailboxExistsQuery(t);
  if (mailbox && (await query(tx, mailbox, lock ? ' FOR UPDATE' : '')).length === 0)
    throw new MailError('NOT_FOUND', `mailbox ${t.mailboxId} does not exist`);
}

/** Call inside a read transaction. */
export async function getMetadata(tx: PgTx, t: MetadataTarget, names: string[], depth: MetadataDepth): Promise<MetadataEntry[]> {
  await checkTarget(tx, t, false);
  const { statements, requested } = getQueries(t, names, depth);
  const rows: Array<{ name: string; value: Buffer }> = [];
  // Not prepared: the SQL varies with the number of names (no unbounded statement cache).
  for (const s of statements) rows.push(...(await query<{ name: string; value: Buffer }>(tx, s, '', false)));
  return filterFound(requested, rows, depth);
}

/** Call inside a write transaction. */
export async function setMetadata(tx: PgTx, t: MetadataTarget, changes: MetadataChange[], limits: MetadataLimits): Promise<void> {
  await checkTarget(tx, t, true);
  const server = t.mailboxId === null;
  if ((await query(tx, accountExistsQuery(t), server ? ' FOR UPDATE' : '')).length === 0)
    throw new MailError('NOT_FOUND', `account ${t.accountId} does not exist`);
  if (server && changes.some((c) => c.name.toLowerCase().startsWith('/shared'))) await tx`SELECT pg_advisory_xact_lock(${SERVER_SHARED_LOCK})`;
  const existing = await query<{ name: string; owner: string | number }>(tx, existingQuery(t));
  for (const s of planSet(t, changes, limits, existing)) await query(tx, s);
}

/** For RENAME INBOX, inside its transaction. */
export async function copyMetadata(tx: PgTx, from: MailboxId, to: MailboxId): Promise<void> {
  await query(tx, copyMailboxMetadata(from, to));
}

/** For DELETE that leaves a \Noselect placeholder, inside its transaction. */
export async function deleteMetadata(tx: PgTx, mailboxId: MailboxId): Promise<void> {
  await query(tx, deleteMailboxMetadata(mailboxId));
}
