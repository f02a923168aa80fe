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
  private readonly savepoint: { open: Database.Statement; release: Database.Statement; undo: Database.Statement };
  /** writeDurable() calls waiting for the next batch (see flush()). */
  private queued: QueuedWrite[] = [];
  private flushScheduled = false;
  /** Called after each write transaction commits (the background thread's catch-up). */
  afterCommit: (() => void) | null = null;

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
    this.savepoint = {
      open: db.prepare('SAVEPOINT batched_write'),
      release: db.prepare('RELEASE batched_write'),
      undo: db.prepare('ROLLBACK TO batched_write'),
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
    this.afterCommit?.();
    return result;
  }

  /**
   * A write transaction whose WAL is not fsynced here: it becomes durable
   * with the next commit to this database that is (write(), writeDurable(),
   * from any connection or process), whose fsync of the one WAL file covers
   * every frame written before its own; a checkpoint in between syncs the
   * WAL and the database itself (synchronous=NORMAL or FULL). For data
   * that only such a later commit makes reachable (a message body, before
   * the metadata that refers to it): a crash before that commit may take
   * it back, and nothing refers to it then.
   */
  writeUnsynced<T>(fn: () => T): T {
    return this.transaction(fn, 'immediate');
  }

  /**
   * write(), but batched and durable without blocking: the calls made while
   * the event loop runs other callbacks (concurrent deliveries, say) run as
   * one transaction, each in its own savepoint (one failing call rolls back
   * only its own changes), with one COMMIT and one WAL fsync, in the thread
   * pool and shared with concurrent commits, for all. A commit writes every
   * page it changed to the WAL (the message and blob B-trees, the counters'
   * mailbox row, the search index's new segment), so N appends in one
   * transaction write far fewer pages than N transactions. Nothing of a call
   * is visible to others before its promise settles: readers see committed
   * data only, and a call is answered after its fsync.
   */
  writeDurable<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the I/O callbacks of this turn, which may queue more writes.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs the queued writes, at most MAX_BATCH per transaction (longer batches would hold the event loop). */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queued.splice(0, MAX_BATCH);
    if (this.queued.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    const done = batch.length === 1 ? this.runAlone(batch[0]!) : this.runBatch(batch);
    if (done.length === 0) return;
    const settle = (err?: unknown): void => {
      // After the fsync: the background thread must not index (or
      // checkpoint) a commit a power loss could still take back.
      if (err === undefined) this.afterCommit?.();
      for (const { write, result } of done) {
        if (err === undefined) write.resolve(result);
        else write.reject(err);
      }
    };
    if (!this.walFile) settle();
    else this.syncWal().then(() => settle(), settle);
  }

  /** One call: a plain transaction, as write() runs it. */
  private runAlone(write: QueuedWrite): Committed[] {
    try {
      return [{ write, result: this.transaction(write.fn, 'immediate') }];
    } catch (err) {
      write.reject(mapError(err));
      return [];
    }
  }

  /** Several calls in one transaction, a savepoint each; returns those that committed (the others are rejected). */
  private runBatch(batch: QueuedWrite[]): Committed[] {
    const fail = (writes: QueuedWrite[], err: unknown): Committed[] => {
      for (const w of writes) w.reject(mapError(err));
      return [];
    };
    try {
      this.begin.immediate.run();
    } catch (err) {
      return fail(batch, err);
    }
    const done: Committed[] = [];
    for (let i = 0; i < batch.length; i++) {
      const write = batch[i]!;
      try {
        this.savepoint.open.run();
        const result = write.fn();
        this.savepoint.release.run();
        done.push({ write, result });
      } catch (err) {
        if (!this.db.inTransaction) {
          // SQLite rolled the whole transaction back (an I/O error, a full
          // disk): the earlier calls' changes are gone with it.
          return fail([...done.map((d) => d.write), ...batch.slice(i)], err);
        }
        write.reject(mapError(err));
        try {
          this.savepoint.undo.run();
          this.savepoint.release.run();
        } catch (undoErr) {
          this.rollbackQuietly();
          return fail([...done.map((d) => d.write), ...batch.slice(i + 1)], undoErr);
        }
      }
    }
    try {
      this.begin.commit.run();
    } catch (err) {
      this.rollbackQuietly();
      return fail(
        done.map((d) => d.write),
        err,
      );
    }
    return done;
  }

  /** Ends a failed batch's transaction; a ROLLBACK that fails too (an I/O error) leaves SQLite to roll back, and must not throw out of flush(). */
  private rollbackQuietly(): void {
    try {
      if (this.db.inTransaction) this.begin.rollback.run();
    } catch {
      // The calls are rejected with the first error.
    }
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

/** Calls in one writeDurable() transaction at most. */
const MAX_BATCH = 64;

interface QueuedWrite {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface Committed {
  write: QueuedWrite;
  result: unknown;
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
