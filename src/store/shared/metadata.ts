// RFC 5464 annotations in SQL, shared by the SQLite and PostgreSQL backends.
//
// Table metadata_entries (same columns in both schemas): mailbox_id NULL = a
// server annotation, else the mailbox's (deleted with it, kept by RENAME as
// it hangs off the id); owner_id NULL = a /shared value, else the /private
// value of that account. The unique index is on (COALESCE(mailbox_id, 0),
// COALESCE(owner_id, 0), name) and every query uses those expressions, so
// "no mailbox"/"no owner" compare like ids (which start at 1) in both dialects.
//
// The statements are written with "?" placeholders; PostgreSQL callers number
// them with numberedPlaceholders(). Planning is pure: a backend reads the rows
// the plan needs inside its write transaction, asks for the plan, and runs the
// statements in the same transaction.

import {
  canonicalChanges,
  canonicalEntryName,
  checkMetadataLimits,
  entryScope,
  matchesDepth,
  type MetadataChange,
  type MetadataDepth,
  type MetadataEntry,
  type MetadataLimits,
  type MetadataScope,
  type MetadataTarget,
} from '../../mail/metadata.js';
import { MailError } from '../../mail/errors.js';
import type { MailboxId } from '../../mail/types.js';

export interface SqlStatement {
  sql: string;
  params: Array<number | string | Buffer | null>;
}

const KEY = `COALESCE(mailbox_id, 0) = ? AND COALESCE(owner_id, 0) = ?`;

/** "?" -> "$1", "$2", ... (the statements here have no "?" inside literals). */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const mailboxKey = (t: MetadataTarget): number => t.mailboxId ?? 0;
const ownerKey = (t: MetadataTarget, scope: MetadataScope): number => (scope === 'private' ? t.accountId : 0);

/** The mailbox must exist (a row to read in the transaction); null for server annotations. */
export function mailboxExistsQuery(t: MetadataTarget): SqlStatement | null {
  return t.mailboxId === null ? null : { sql: `SELECT id FROM mailboxes WHERE id = ?`, params: [t.mailboxId] };
}

export function accountExistsQuery(t: MetadataTarget): SqlStatement {
  return { sql: `SELECT id FROM accounts WHERE id = ?`, params: [t.accountId] };
}

/** Names per SELECT of getQueries: keeps every statement far below the dialects' parameter limits. */
const NAMES_PER_QUERY = 100;

/**
 * The SELECTs of (name, value) for GETMETADATA: each requested name and, when
 * depth is not 0, everything below it (a range scan of the index; depth 1 is
 * narrowed by filterFound), NAMES_PER_QUERY names per statement. The SQL
 * varies with the number of names: run it uncached or in a bounded cache.
 * INVALID_NAME for a name under neither prefix.
 */
export function getQueries(t: MetadataTarget, names: readonly string[], depth: MetadataDepth): { statements: SqlStatement[]; requested: string[] } {
  const requested = [...new Set(names.map(canonicalEntryName))];
  const statements: SqlStatement[] = [];
  for (let i = 0; i < requested.length; i += NAMES_PER_QUERY) statements.push(getQuery(t, requested.slice(i, i + NAMES_PER_QUERY), depth));
  return { statements, requested };
}

function getQuery(t: MetadataTarget, requested: readonly string[], depth: MetadataDepth): SqlStatement {
  const clauses: string[] = [];
  const params: SqlStatement['params'] = [];
  for (const name of requested) {
    const scope = entryScope(name);
    if (scope === null) throw new MailError('INVALID_NAME', `annotation entry ${JSON.stringify(name)} must be /private or /shared`);
    if (depth === 0) {
      clauses.push(`(${KEY} AND name = ?)`);
      params.push(mailboxKey(t), ownerKey(t, scope), name);
    } else {
      // Children start with name + "/"; "0" is the character after "/".
      clauses.push(`(${KEY} AND (name = ? OR (name >= ? AND name < ?)))`);
      params.push(mailboxKey(t), ownerKey(t, scope), name, name + '/', name + '0');
    }
  }
  return { sql: `SELECT name, value FROM metadata_entries WHERE ${clauses.join(' OR ')}`, params };
}

/** The rows of getQueries that `depth` really reaches, once each (a row may match in several statements), in name order. */
export function filterFound(requested: readonly string[], rows: ReadonlyArray<{ name: string; value: Buffer | Uint8Array }>, depth: MetadataDepth): MetadataEntry[] {
  const byName = new Map<string, Buffer>();
  for (const row of rows) {
    if (byName.has(row.name) || !requested.some((r) => matchesDepth(r, row.name, depth))) continue;
    byName.set(row.name, Buffer.isBuffer(row.value) ? row.value : Buffer.from(row.value));
  }
  return [...byName.keys()].sort().map((name) => ({ name, value: byName.get(name)! }));
}

/**
 * Owners whose entries count against the limit together: on a mailbox its
 * /shared entries and the user's /private ones; on the server each scope alone.
 */
function countedOwners(t: MetadataTarget, scope: MetadataScope): number[] {
  return t.mailboxId !== null ? [0, t.accountId] : [ownerKey(t, scope)];
}

/** The entries the limits of a SETMETADATA are checked against (read in its transaction). */
export function existingQuery(t: MetadataTarget): SqlStatement {
  return {
    sql: `SELECT name, COALESCE(owner_id, 0) AS owner FROM metadata_entries WHERE COALESCE(mailbox_id, 0) = ? AND COALESCE(owner_id, 0) IN (?, ?)`,
    params: [mailboxKey(t), 0, t.accountId],
  };
}

/**
 * The statements of a SETMETADATA, after checking every change (all or
 * nothing): INVALID_NAME, TOO_BIG (a value over the limit), LIMIT (too many
 * entries). `existing` are the rows of existingQuery.
 */
export function planSet(
  t: MetadataTarget,
  changes: readonly MetadataChange[],
  limits: MetadataLimits,
  existing: ReadonlyArray<{ name: string; owner: number | string }>,
): SqlStatement[] {
  const canonical = canonicalChanges(changes);
  // Check each group of owners that count together, with the changes that fall in it.
  const groups = new Map<string, { owners: number[]; changes: MetadataChange[] }>();
  for (const c of canonical) {
    const owners = countedOwners(t, entryScope(c.name)!);
    const key = owners.join(',');
    const g = groups.get(key) ?? { owners, changes: [] };
    g.changes.push(c);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const names = new Set<string>();
    for (const row of existing) if (g.owners.includes(Number(row.owner))) names.add(`${Number(row.owner)}:${row.name}`);
    const keyed = g.changes.map((c) => ({ name: `${ownerKey(t, entryScope(c.name)!)}:${c.name}`, value: c.value }));
    checkMetadataLimits(names, keyed, limits);
  }
  const statements: SqlStatement[] = [];
  for (const c of canonical) {
    const owner = ownerKey(t, entryScope(c.name)!);
    statements.push({ sql: `DELETE FROM metadata_entries WHERE ${KEY} AND name = ?`, params: [mailboxKey(t), owner, c.name] });
    if (c.value !== null)
      statements.push({
        sql: `INSERT INTO metadata_entries (mailbox_id, owner_id, name, value) VALUES (?, ?, ?, ?)`,
        params: [t.mailboxId, owner === 0 ? null : owner, c.name, c.value],
      });
  }
  return statements;
}

/**
 * RENAME INBOX (RFC 5464 4.1): the new mailbox gets a copy of INBOX's
 * annotations, and INBOX keeps its own.
 */
export function copyMailboxMetadata(from: MailboxId, to: MailboxId): SqlStatement {
  return {
    sql: `INSERT INTO metadata_entries (mailbox_id, owner_id, name, value) SELECT ?, owner_id, name, value FROM metadata_entries WHERE mailbox_id = ?`,
    params: [to, from],
  };
}

/**
 * DELETE of a mailbox that stays as a \Noselect placeholder for its children:
 * its annotations go (RFC 5464 4.1), so that a mailbox created again under
 * the name does not inherit them. (Removing the row removes them by cascade.)
 */
export function deleteMailboxMetadata(mailboxId: MailboxId): SqlStatement {
  return { sql: `DELETE FROM metadata_entries WHERE mailbox_id = ?`, params: [mailboxId] };
}
