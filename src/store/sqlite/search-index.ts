// The SEARCH text index of the embedded repository: an FTS5 trigram table in
// a file of its own (<database>-search), filled after the commit instead of
// inside it. Trigram indexing is most of the CPU of storing a message (about
// 1 ms for 6 KB of text against 0.2 ms for the rest of its rows), and a
// write transaction holds the one SQLite write lock on the event loop; in
// its own file the index is written by a background thread
// (background-worker.ts) under its own lock, so deliveries neither wait for
// it nor block on it.
//
// The index lags the text by design, so a search must never rely on it
// alone: the index records the highest blob_text id it holds (indexed_to),
// blob_text ids are never reused (taken from meta.blob_text_seq, not
// max(rowid) + 1), and every row above indexed_to is a candidate that the
// exact test reads. Searches are right at any lag, and fast once the index
// has caught up. The index holds only derived data: a missing, unreadable or
// foreign file is rebuilt from blob_text.
//
// Deleted texts (the blob GC) are queued in the main database
// (search_forgotten, by trigger) and removed from the index by the same
// thread; until then they only add candidates that match no row.

import * as fs from 'node:fs';
import Database from 'better-sqlite3';

/** Schema name of the index when attached to a connection of the main database. */
export const SEARCH_SCHEMA = 'search';

/** The index file of the database at `file`. */
export function searchIndexFile(file: string): string {
  return `${file}-search`;
}

/** The layout below; a file of another is emptied and made again (its content is derived). */
const INDEX_FORMAT = 1;

const INDEX_SQL = `
  DROP TABLE IF EXISTS search_state;
  DROP TABLE IF EXISTS blob_text_fts;
  CREATE TABLE search_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    main_key INTEGER NOT NULL,
    indexed_to INTEGER NOT NULL,
    deleted_seen INTEGER NOT NULL
  );
  INSERT INTO search_state (id, main_key, indexed_to, deleted_seen) VALUES (1, 0, 0, 0);
  CREATE VIRTUAL TABLE blob_text_fts USING fts5(
    header_text, body_text,
    content = '', contentless_delete = 1,
    tokenize = 'trigram case_sensitive 1', detail = column
  );
  PRAGMA user_version = ${INDEX_FORMAT};
`;

/** Rows indexed per transaction of the index (the other side of the file's lock waits at most this long). */
const INDEX_BATCH = 200;

/**
 * Opens the index file (creating it, or recreating it when it cannot be
 * read), read-write. WAL with synchronous=NORMAL: a crash may lose its last
 * transactions (indexed_to goes back with them) but never corrupts it.
 */
export function openSearchIndex(file: string): Database.Database {
  const indexFile = searchIndexFile(file);
  const open = (): Database.Database => {
    const db = new Database(indexFile);
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (db.pragma('user_version', { simple: true }) !== INDEX_FORMAT) db.transaction(() => db.exec(INDEX_SQL)).immediate();
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  };
  try {
    return open();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!code.startsWith('SQLITE_CORRUPT') && !code.startsWith('SQLITE_NOTADB')) throw err;
    removeSearchIndex(file);
    return open();
  }
}

function removeSearchIndex(file: string): void {
  const indexFile = searchIndexFile(file);
  for (const f of [indexFile, `${indexFile}-wal`, `${indexFile}-shm`]) fs.rmSync(f, { force: true });
}

/** What one catch-up did. */
export interface CatchUpResult {
  indexed: number;
  forgotten: number;
}

/**
 * Brings the index up to the main database's committed text: indexes the
 * blob_text rows above indexed_to and removes the forgotten ones, in batches,
 * each one transaction of the index file (BEGIN IMMEDIATE: two processes on
 * one data directory take turns, and each re-reads indexed_to under the
 * lock, so no row is indexed twice). `main` is a connection of the main
 * database; `index` one of the index file (openSearchIndex). The statements
 * are prepared once: the background thread catches up after every commit.
 */
export class SearchIndexer {
  private readonly state: Database.Statement;
  private readonly restart: Database.Statement;
  private readonly setMark: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly pending: Database.Statement;
  private readonly meta: Database.Statement;
  private readonly forgotten: Database.Statement;
  private readonly unqueue: Database.Statement;
  private readonly indexBatch: Database.Transaction<() => number>;
  private readonly verifyTx: Database.Transaction<() => boolean>;
  private readonly removeBatch: Database.Transaction<(ids: number[]) => void>;

  constructor(main: Database.Database, index: Database.Database) {
    this.state = index.prepare(`SELECT main_key, indexed_to, deleted_seen FROM search_state WHERE id = 1`);
    this.restart = index.prepare(`UPDATE search_state SET main_key = ?, indexed_to = 0, deleted_seen = ? WHERE id = 1`);
    this.setMark = index.prepare(`UPDATE search_state SET indexed_to = ?, deleted_seen = ? WHERE id = 1`);
    this.insert = index.prepare(`INSERT INTO blob_text_fts (rowid, header_text, body_text) VALUES (?, ?, ?)`);
    this.remove = index.prepare(`DELETE FROM blob_text_fts WHERE rowid = ?`);
    this.pending = main.prepare(`SELECT id, header_text, body_text FROM blob_text WHERE id > ? ORDER BY id LIMIT ${INDEX_BATCH}`).raw(true);
    this.meta = main
      .prepare(`SELECT key, value FROM meta WHERE key IN ('blob_text_seq', 'blob_text_deleted', 'search_index_key')`)
      .raw(true);
    this.forgotten = main.prepare(`SELECT id FROM search_forgotten ORDER BY id LIMIT ${INDEX_BATCH}`).pluck();
    // Exactly the ids read: another process may queue a smaller one meanwhile.
    this.unqueue = main.prepare(`DELETE FROM search_forgotten WHERE id IN (SELECT value FROM json_each(?))`);
    const clear = index.prepare(`INSERT INTO blob_text_fts (blob_text_fts) VALUES ('delete-all')`);
    /** Empties the index when it does not belong to the database as it is now (then null); else the database's counters. */
    const startOverIfForeign = (): Record<string, number> | null => {
      const state = this.state.get() as { main_key: number; indexed_to: number; deleted_seen: number };
      const meta = Object.fromEntries(this.meta.all() as Array<[string, number]>);
      // The index of another database (the file was left behind), or of this
      // one before it went back in time (a restored backup: ids above its
      // sequence will be handed out again for other texts, and texts deleted
      // since the backup are back but no longer indexed). Both counters only
      // grow while the database lives.
      if (state.main_key === meta.search_index_key && state.indexed_to <= meta.blob_text_seq! && state.deleted_seen <= meta.blob_text_deleted!)
        return { ...meta, indexed_to: state.indexed_to };
      clear.run();
      this.restart.run(meta.search_index_key, meta.blob_text_deleted);
      return null;
    };
    this.verifyTx = index.transaction(() => startOverIfForeign() === null);
    this.indexBatch = index.transaction((): number => {
      const counters = startOverIfForeign();
      if (counters === null) return -1;
      const from = counters.indexed_to!;
      const rows = this.pending.all(from) as Array<[number, string, string]>;
      for (const [id, header, body] of rows) this.insert.run(id, header, body);
      this.setMark.run(rows.length > 0 ? rows[rows.length - 1]![0] : from, counters.blob_text_deleted);
      return rows.length;
    });
    this.removeBatch = index.transaction((ids: number[]) => {
      for (const id of ids) this.remove.run(id);
    });
  }

  /**
   * Empties the index if it is not this database's as it is now (see
   * indexBatch). Every process runs it when it opens the database, before
   * it writes: after a restored backup, a write would hand out again ids
   * that the index holds for other texts.
   */
  verify(): boolean {
    return this.verifyTx.immediate();
  }

  catchUp(): CatchUpResult {
    const result: CatchUpResult = { indexed: 0, forgotten: 0 };
    for (;;) {
      const n = this.indexBatch.immediate();
      if (n < 0) continue;
      result.indexed += n;
      if (n < INDEX_BATCH) break;
    }
    for (;;) {
      const ids = this.forgotten.all() as number[];
      if (ids.length === 0) break;
      this.removeBatch.immediate(ids);
      // After the index's commit: a crash in between leaves the ids queued,
      // and deleting an absent rowid again is harmless.
      this.unqueue.run(JSON.stringify(ids));
      result.forgotten += ids.length;
      if (ids.length < INDEX_BATCH) break;
    }
    return result;
  }
}
