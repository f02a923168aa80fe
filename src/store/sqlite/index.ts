// The embedded repository: one SQLite file holding the mail metadata and the
// directory. WAL mode so readers never block the writer; another process (the
// `petrel` CLI) may write at the same time, hence busy_timeout and
// BEGIN IMMEDIATE for every write transaction.

import Database from 'better-sqlite3';
import { SqlDb } from './db.js';
import { SqliteDirectory } from './directory.js';
import { SqliteMailStore } from './mail-store.js';
import { migrate } from './schema.js';

export { SqliteMailStore } from './mail-store.js';
export { SqliteDirectory } from './directory.js';
export { SCHEMA_VERSION } from './schema.js';

export interface SqliteRepositoryOptions {
  /** Every commit is durable against power loss (the WAL is fsynced) when true; only against a process crash when false. */
  fsync: boolean;
  /** How long a write waits for another process's lock, ms (default 5000). */
  busyTimeoutMs?: number;
}

export interface SqliteRepository {
  store: SqliteMailStore;
  directory: SqliteDirectory;
  close(): Promise<void>;
}

/** Opens (creating and migrating as needed) the database at `file`. Synchronous; awaiting the result works too. */
export function openSqliteRepository(file: string, options: SqliteRepositoryOptions): SqliteRepository {
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('journal_mode = WAL');
    // NORMAL even when durable: SqlDb fsyncs the WAL after each commit itself
    // (what FULL would do), off the event loop and shared by concurrent commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  let sql: SqlDb;
  try {
    sql = new SqlDb(db, { walFile: options.fsync && !db.memory ? `${file}-wal` : null });
    // The migration's commit (if any) was not synced yet.
    sql.syncWalNow();
  } catch (err) {
    db.close();
    throw err;
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    sql.closeWal();
    db.close();
  };
  return { store: new SqliteMailStore(sql, close), directory: new SqliteDirectory(sql), close };
}
