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
  /** synchronous=FULL (durable against power loss) when true, NORMAL (against process crash) when false. */
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
    db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  const sql = new SqlDb(db);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    db.close();
  };
  return { store: new SqliteMailStore(sql, close), directory: new SqliteDirectory(sql), close };
}
