// Shared plumbing of the SQLite backend: the connection with its statement
// cache, transactions, error mapping and mailbox-name rules.

import type Database from 'better-sqlite3';
import { MailError } from '../../mail/errors.js';
import { HIERARCHY_DELIMITER, type MailboxInfo, type SpecialUse, type UidSet } from '../../mail/types.js';

export const MAX_UID = 4294967295;

export class SqlDb {
  private readonly statements = new Map<string, Database.Statement>();
  /** Statements built from variable SQL (search) are cached apart, bounded. */
  private readonly dynamic = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  /** A cached prepared statement (re-preparing costs ~16x a cached run). */
  stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  dynamicStmt(sql: string): Database.Statement {
    let s = this.dynamic.get(sql);
    if (s) {
      this.dynamic.delete(sql); // LRU: re-insert as newest
    } else {
      s = this.db.prepare(sql);
      if (this.dynamic.size >= 200) this.dynamic.delete(this.dynamic.keys().next().value!);
    }
    this.dynamic.set(sql, s);
    return s;
  }

  /** A write transaction; IMMEDIATE so that two processes never deadlock upgrading a read lock. */
  write<T>(fn: () => T): T {
    return guard(() => this.db.transaction(fn).immediate());
  }

  /** A consistent read of several statements. */
  read<T>(fn: () => T): T {
    return guard(() => this.db.transaction(fn).deferred());
  }

  /** Next UIDVALIDITY: seconds since the epoch, but strictly increasing over the whole database. */
  nextUidValidity(): number {
    const last = this.stmt(`SELECT value FROM meta WHERE key = 'last_uidvalidity'`).pluck().get() as number;
    const next = Math.max(Math.floor(Date.now() / 1000), last + 1);
    this.stmt(`UPDATE meta SET value = ? WHERE key = 'last_uidvalidity'`).run(next);
    return next;
  }
}

/** Maps SQLite's errors to the storage errors the protocols understand. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw mapError(err);
  }
}

export function mapError(err: unknown): unknown {
  if (err instanceof MailError) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new MailError('UNAVAILABLE', 'database is busy', { cause: err });
  if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR'))
    return new MailError('UNAVAILABLE', `database write failed (${code})`, { cause: err });
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB'))
    return new MailError('CORRUPT', `database is corrupt (${code})`, { cause: err });
  return err;
}

/**
 * Canonical form of a mailbox name: "INBOX" (any case) as the first
 * component is spelled INBOX, a trailing delimiter is dropped (CREATE "a/"),
 * other names are case-sensitive. INVALID_NAME for empty components and
 * control characters.
 */
export function normalizeMailboxName(name: string): string {
  let n = name;
  if (n.endsWith(HIERARCHY_DELIMITER)) n = n.slice(0, -1);
  const parts = n.split(HIERARCHY_DELIMITER);
  if (n.length === 0 || n.length > 1000 || parts.some((p) => p.length === 0))
    throw new MailError('INVALID_NAME', `invalid mailbox name ${JSON.stringify(name)}`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(n)) throw new MailError('INVALID_NAME', 'mailbox name contains control characters');
  if (parts[0]!.toLowerCase() === 'inbox') parts[0] = 'INBOX';
  return parts.join(HIERARCHY_DELIMITER);
}

/** Names of the missing-or-not parents of `name`, outermost first. */
export function parentNames(name: string): string[] {
  const parts = name.split(HIERARCHY_DELIMITER);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(HIERARCHY_DELIMITER));
  return out;
}

export interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
  special_use: string | null;
  selectable: number;
}

export function toMailboxInfo(r: MailboxRow): MailboxInfo {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    uidValidity: r.uidvalidity,
    uidNext: r.uidnext,
    highestModseq: r.highestmodseq,
    specialUse: r.special_use as SpecialUse | null,
    selectable: r.selectable === 1,
  };
}

/** Sorted, merged, clamped ranges of a UID set. */
export function normalizeUidSet(set: UidSet): Array<[number, number]> {
  const ranges = set
    .map((r): [number, number] => {
      const a = Math.max(1, Math.min(r.start, r.end));
      const b = Math.min(MAX_UID, Math.max(r.start, r.end));
      return [a, b];
    })
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
