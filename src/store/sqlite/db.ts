// Shared plumbing of the SQLite backend: the connection with its statement
// cache, transactions and error mapping (name rules and row mapping are
// shared with the PostgreSQL backend: ../shared/).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { MailError } from '../../mail/errors.js';

export class SqlDb {
  private readonly statements = new Map<string, Database.Statement>();
  /** Statements built from variable SQL (search) are cached apart, bounded. */
  private readonly dynamic = new Map<string, Database.Statement>();

  /**
   * Durability without blocking the event loop: the database runs with
   * synchronous=NORMAL (a commit only write()s its WAL frames) and we fsync
   * the WAL ourselves after each commit, which is exactly the extra sync that
   * synchronous=FULL would do inside the commit. writeDurable() does it in
   * the thread pool and lets concurrent commits share one fsync (group
   * commit); write() does it synchronously. Null when fsync is off.
   */
  private readonly walFile: string | null;
  private walFd: number | null = null;
  private syncRunning: Promise<void> | null = null;
  private syncNext: Promise<void> | null = null;
  private readonly begin: { immediate: Database.Statement; deferred: Database.Statement; commit: Database.Statement; rollback: Database.Statement };

  constructor(
    readonly db: Database.Database,
    options: { walFile?: string | null } = {},
  ) {
    this.walFile = options.walFile ?? null;
    this.begin = {
      immediate: db.prepare('BEGIN IMMEDIATE'),
      deferred: db.prepare('BEGIN DEFERRED'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
  }

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

  /**
   * A write transaction; IMMEDIATE so that two processes never deadlock
   * upgrading a read lock. Durable when it returns (the WAL is fsynced here,
   * blocking): prefer writeDurable() on hot paths.
   */
  write<T>(fn: () => T): T {
    const result = this.transaction(fn, 'immediate');
    if (this.walFile) guard(() => fs.fdatasyncSync(this.wal()));
    return result;
  }

  /** write(), but the WAL fsync runs in the thread pool and is shared with concurrent commits. */
  async writeDurable<T>(fn: () => T): Promise<T> {
    const result = this.transaction(fn, 'immediate');
    if (this.walFile) await this.syncWal();
    return result;
  }

  /** A consistent read of several statements. */
  read<T>(fn: () => T): T {
    return this.transaction(fn, 'deferred');
  }

  /** BEGIN/COMMIT with cached statements (db.transaction() builds a wrapper per call); nested calls use a savepoint. */
  private transaction<T>(fn: () => T, mode: 'immediate' | 'deferred'): T {
    if (this.db.inTransaction) return guard(() => this.db.transaction(fn)[mode]());
    return guard(() => {
      this.begin[mode].run();
      try {
        const result = fn();
        this.begin.commit.run();
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.begin.rollback.run();
        throw err;
      }
    });
  }

  /**
   * fsyncs the WAL (and, the first time, its directory, so the file's entry
   * is durable too) after a commit whose frames are already written.
   */
  syncWalNow(): void {
    if (!this.walFile) return;
    // No WAL yet: nothing was committed since it was last checkpointed away.
    if (this.walFd === null && !fs.existsSync(this.walFile)) return;
    guard(() => fs.fdatasyncSync(this.wal()));
  }

  /** The -wal file exists once a transaction has committed; it lives as long as our connection is open. */
  private wal(): number {
    if (this.walFd === null) {
      this.walFd = fs.openSync(this.walFile!, 'r');
      const dir = fs.openSync(path.dirname(this.walFile!), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    }
    return this.walFd;
  }

  /** Group commit: a sync already running may have started before our frames were written, so wait for the next. */
  private syncWal(): Promise<void> {
    if (this.syncNext) return this.syncNext;
    if (!this.syncRunning) return (this.syncRunning = this.startSync());
    const next = this.syncRunning
      .catch(() => undefined)
      .then(() => {
        this.syncNext = null;
        return (this.syncRunning = this.startSync());
      });
    this.syncNext = next;
    return next;
  }

  private startSync(): Promise<void> {
    let fd: number;
    try {
      fd = this.wal();
    } catch (err) {
      return Promise.reject(mapError(err));
    }
    const p: Promise<void> = new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => {
        if (this.syncRunning === p) this.syncRunning = null;
        if (err) reject(new MailError('UNAVAILABLE', `database sync failed (${err.code ?? err.message})`, { cause: err }));
        else resolve();
      });
    });
    return p;
  }

  /** Closes the WAL descriptor (before the database itself is closed). */
  closeWal(): void {
    if (this.walFd !== null) fs.closeSync(this.walFd);
    this.walFd = null;
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
