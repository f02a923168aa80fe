// The embedded repository: one SQLite file holding the mail metadata and the
// directory. WAL mode so readers never block the writer; another process (the
// `petrel` CLI) may write at the same time, hence busy_timeout and
// BEGIN IMMEDIATE for every write transaction. The SEARCH index lives in a
// file of its own beside it (search-index.ts), read through a second,
// read-only connection that attaches it (attached to the write connection,
// it would be locked by every write transaction) and moves to a new file
// when one replaces it (search-index.ts, GENERATION_KEY).

import Database from 'better-sqlite3';
import { SqliteBackground } from './background.js';
import { SqlDb } from './db.js';
import { SqliteDirectory } from './directory.js';
import { SqliteMailStore } from './mail-store.js';
import { migrate } from './schema.js';
import { SqliteSmallBodies } from './small-bodies.js';
import { replaceSearchIndex, SearchIndexWriter, SearchReader, type CatchUpResult, type SearchIndexLag } from './search-index.js';

export { SqliteMailStore } from './mail-store.js';
export { SqliteDirectory } from './directory.js';
export { SCHEMA_VERSION } from './schema.js';

export interface SqliteRepositoryOptions {
  /** Every commit is durable against power loss (the WAL is fsynced) when true; only against a process crash when false. */
  fsync: boolean;
  /** How long a write waits for another process's lock, ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * A background thread indexes the SEARCH text after each commit and
   * checkpoints the WAL (the server). Without it (one-shot CLI commands),
   * the connection checkpoints on commit and the text waits for
   * indexSearchText() or a server.
   */
  background?: boolean;
  /** A failure of the background thread (the repository goes on without it). */
  onBackgroundFailure?: (err: Error) => void;
  /** A catch-up of the background thread failed (tried again a few seconds later). */
  onBackgroundError?: (err: Error) => void;
  /** The background thread checkpoints the WAL at most this often, ms (default 1000; tests use 0). */
  checkpointEveryMs?: number;
}

export interface SqliteRepository {
  store: SqliteMailStore;
  directory: SqliteDirectory;
  /** The table of small message bodies (src/blob/small-bodies.ts). */
  smallBodies: SqliteSmallBodies;
  /** Brings the SEARCH index up to the committed text now, on this thread. */
  indexSearchText(): CatchUpResult;
  /** How far the SEARCH index is behind the stored text (metrics). */
  searchIndexLag(): SearchIndexLag;
  /** Resolves when the background thread has caught up with every commit so far (immediately without one). */
  backgroundIdle(): Promise<void>;
  close(): Promise<void>;
}

/** SQLite's default, restored when the background thread is gone. */
const AUTOCHECKPOINT_PAGES = 1000;
/** The WAL grows by at most about a second of commits between the background thread's checkpoints. */
const DEFAULT_CHECKPOINT_EVERY_MS = 1000;

/** Opens (creating and migrating as needed) the database at `file`. Synchronous; awaiting the result works too. */
export function openSqliteRepository(file: string, options: SqliteRepositoryOptions): SqliteRepository {
  const busyTimeout = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
  const opened: Array<{ close(): unknown }> = [];
  const closeAll = (): void => {
    for (const c of opened.reverse()) c.close();
  };
  let sql: SqlDb;
  let reader: SearchReader;
  /** This thread's writer of the index: open only while used (it would hold a replaced file open). */
  let indexer: SearchIndexWriter | null = null;
  try {
    const db = new Database(file);
    opened.push(db);
    db.pragma(`busy_timeout = ${busyTimeout}`);
    db.pragma('journal_mode = WAL');
    // NORMAL even when durable: SqlDb fsyncs the WAL after each commit itself
    // (what FULL would do), off the event loop and shared by concurrent commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // A WAL that grew under load is cut back when it restarts.
    db.pragma('journal_size_limit = 67108864');
    migrate(db, file);
    sql = new SqlDb(db, { walFile: options.fsync && !db.memory ? `${file}-wal` : null });
    opened.push({ close: () => sql.closeWal() });
    // The migration's commit (if any) was not synced yet.
    sql.syncWalNow();
    // The index file is made (or replaced) here, before the reader attaches
    // it read-only, and checked before this process writes anything
    // (search-index.ts, verify()).
    const verifier = new SearchIndexWriter(db, file);
    try {
      verifier.verify();
    } finally {
      verifier.close();
    }
    const read = new Database(file, { readonly: true });
    opened.push(read);
    read.pragma(`busy_timeout = ${busyTimeout}`);
    reader = new SearchReader(read, file, (generation) => replaceSearchIndex(db, file, generation));
  } catch (err) {
    closeAll();
    throw err;
  }
  let background: SqliteBackground | null = null;
  if (options.background) {
    background = new SqliteBackground(
      file,
      options.checkpointEveryMs ?? DEFAULT_CHECKPOINT_EVERY_MS,
      (err) => {
        sql.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
        sql.afterCommit = null;
        options.onBackgroundFailure?.(err);
      },
      (err) => options.onBackgroundError?.(err),
      committedElsewhere(sql.db),
    );
    sql.db.pragma('wal_autocheckpoint = 0');
    sql.afterCommit = () => background!.notify();
    // Text committed while no server ran (CLI imports, deliveries).
    background.notify();
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await background?.stop();
    indexer?.close();
    closeAll();
  };
  // On this thread (CLI, tests): the writer follows a replaced file at each call.
  const indexSearchText = (): CatchUpResult => {
    indexer ??= new SearchIndexWriter(sql.db, file);
    return indexer.catchUp();
  };
  return {
    store: new SqliteMailStore(sql, reader, () => indexSearchText().indexed, close),
    directory: new SqliteDirectory(sql),
    smallBodies: new SqliteSmallBodies(sql),
    indexSearchText,
    searchIndexLag: () => reader.lag(),
    backgroundIdle: () => background?.idle() ?? Promise.resolve(),
    close,
  };
}

/**
 * Whether another connection (another process, or the background thread
 * dequeuing deleted texts) has committed to the database since the last
 * call: SQLite's data_version, which this connection's own commits leave alone.
 */
function committedElsewhere(db: Database.Database): () => boolean {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let seen = dataVersion.get();
  return () => {
    const now = dataVersion.get();
    if (now === seen) return false;
    seen = now;
    return true;
  };
}
