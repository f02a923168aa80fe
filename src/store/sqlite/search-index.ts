// The SEARCH text index of the embedded repository: an FTS5 trigram table in
// a file of its own (<database>-search, or -search.N: see GENERATION_KEY),
// filled after the commit instead of
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
// has caught up. The index holds only derived data: a missing or unreadable
// file is replaced by a new one (GENERATION_KEY), a foreign one emptied,
// and either is filled again from blob_text.
//
// Deleted texts (the blob GC) are queued in the main database
// (search_forgotten, by trigger) and removed from the index by the same
// thread; until then they only add candidates that match no row.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { SqlDb } from './db.js';

/** Schema name of the index when attached to a connection of the main database. */
export const SEARCH_SCHEMA = 'search';

/**
 * The main database's meta row naming the index file in use by its
 * generation (0 first; absent in a database of before generations, whose
 * file has generation 0's name, until it is opened: nameFirstIndex). A
 * file found missing or unusable is never made again under its name: other
 * processes may hold it open, and SQLite finds a database's -wal and -shm
 * by name, so a new file there would be paired with their old ones.
 * Instead a new file of the next generation is made and named here in one
 * transaction of the main database (replaceSearchIndex); every process
 * reads the row before each search and catch-up and moves to the new file,
 * and the old one's names are only unlinked (its open inodes live on),
 * never used again.
 */
export const GENERATION_KEY = 'search_index_file';

/** The index file of generation `generation` of the database at `file`. */
export function searchIndexFile(file: string, generation: number): string {
  // Generation 0 has the one name of the file before generations (an upgrade keeps it).
  return generation === 0 ? `${file}-search` : `${file}-search.${generation}`;
}

const generationStatements = new WeakMap<Database.Database, Database.Statement>();

/** The generation the main database names now (on `db` or any connection with it as main; 0 before it names one). */
export function currentGeneration(db: Database.Database): number {
  let stmt = generationStatements.get(db);
  if (!stmt) {
    stmt = db.prepare(`SELECT value FROM main.meta WHERE key = '${GENERATION_KEY}'`).pluck();
    generationStatements.set(db, stmt);
  }
  return (stmt.get() as number | undefined) ?? 0;
}

/**
 * The file `name` cannot serve as the index: not a database, or gone (not
 * there to open, or unlinked between its opening and its -wal's, which
 * SQLite makes with the file's mode: SQLITE_IOERR_FSTAT).
 */
function isUnusableIndex(err: unknown, name: string): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return true;
  return code.startsWith('SQLITE_') && !fs.existsSync(name);
}

/** A SQLite error saying a database is damaged (also when mapped to MailError CORRUPT, with the cause). */
export function isCorruptError(err: unknown): boolean {
  for (let e = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: string }).code ?? '';
    if (code === 'CORRUPT' || code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return true;
  }
  return false;
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

/** The index file in use by one connection, and its generation. */
export interface OpenSearchIndex {
  db: Database.Database;
  generation: number;
}

/** Moves to another file this many times at most in one open (each move is another process's replacement). */
const MAX_MOVES = 20;

/**
 * Opens the index file the main database names, read-write (`main`: a
 * read-write connection of it), replacing it when it cannot be read. WAL
 * with synchronous=NORMAL: a crash may lose its last transactions
 * (indexed_to goes back with them) but never corrupts it.
 *
 * The name is checked again after the first read, which opened the file's
 * -wal and -shm (by name), and before any write: a file replaced in between
 * may have lost those names, and new ones made for it here would not be
 * the ones its other users write.
 */
export function openSearchIndex(main: Database.Database, file: string): OpenSearchIndex {
  for (let moves = 0; ; moves++) {
    if (moves > MAX_MOVES) throw new Error('the SEARCH index file keeps being replaced');
    if (moves === 0) nameFirstIndex(main, file);
    const generation = currentGeneration(main);
    const name = searchIndexFile(file, generation);
    let db: Database.Database | null = null;
    try {
      db = new Database(name, { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const format = db.pragma('user_version', { simple: true });
      if (currentGeneration(main) !== generation) {
        // Replaced meanwhile: whatever is left under the old names (a -wal
        // or -shm made here just now) is no one's, and the names are never used again.
        db.close();
        db = null;
        removeIndexFiles(name);
        continue;
      }
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      if (format !== INDEX_FORMAT) {
        const idx = db;
        idx.transaction(() => {
          // Another process may have made it meanwhile.
          if (idx.pragma('user_version', { simple: true }) !== INDEX_FORMAT) idx.exec(INDEX_SQL);
        }).immediate();
      }
      return { db, generation };
    } catch (err) {
      db?.close();
      if (!isUnusableIndex(err, name)) throw err;
      replaceSearchIndex(main, file, generation);
    }
  }
}

/**
 * Records generation 0 in a database that names no index file yet: a new
 * database (its first file is made here), or one of before generations
 * (its file, when there is one, is kept). Once named, a missing file is
 * replaced like an unreadable one, never made again under its name.
 */
function nameFirstIndex(main: Database.Database, file: string): void {
  const named = main.prepare(`SELECT 1 FROM meta WHERE key = ?`).pluck();
  if (named.get(GENERATION_KEY) !== undefined) return;
  main
    .transaction(() => {
      if (named.get(GENERATION_KEY) !== undefined) return;
      const first = searchIndexFile(file, 0);
      if (!fs.existsSync(first)) {
        // A -wal or -shm without its file is no one's: a new file would take its frames for its own.
        removeIndexFiles(first);
        createIndexFile(first);
      }
      main.prepare(`INSERT INTO meta (key, value) VALUES (?, 0)`).run(GENERATION_KEY);
    })
    .immediate();
}

/**
 * Attaches the index file the main database names to `read` (a read-only
 * connection of it) as SEARCH_SCHEMA; its generation. `replace(generation)`
 * is called when that file cannot be read (the reader cannot make another).
 * The name is checked again after the first read, as openSearchIndex does.
 */
export function attachSearchIndex(read: Database.Database, file: string, replace: (generation: number) => void): number {
  const attach = read.prepare(`ATTACH DATABASE ? AS ${SEARCH_SCHEMA}`);
  const detach = () => read.exec(`DETACH DATABASE ${SEARCH_SCHEMA}`);
  for (let moves = 0; ; moves++) {
    if (moves > MAX_MOVES) throw new Error('the SEARCH index file keeps being replaced');
    const generation = currentGeneration(read);
    const name = searchIndexFile(file, generation);
    let attached = false;
    try {
      attach.run(name);
      attached = true;
      read.prepare(`SELECT indexed_to FROM ${SEARCH_SCHEMA}.search_state WHERE id = 1`).get();
      if (currentGeneration(read) === generation) return generation;
      detach();
    } catch (err) {
      if (attached) detach();
      if (!isUnusableIndex(err, name)) throw err;
      if (currentGeneration(read) === generation) replace(generation);
    }
  }
}

/**
 * Names a new, empty index file in place of generation `generation`'s, in a
 * transaction of the main database (`main`: read-write), unless another
 * process has done so already; then unlinks the old file's names. The new
 * generation's name has never been used: names found taken are what a
 * replacement that never committed left, removed here.
 */
export function replaceSearchIndex(main: Database.Database, file: string, generation: number): void {
  if (main.inTransaction) throw new Error('replaceSearchIndex inside a transaction');
  const synchronous = main.pragma('synchronous', { simple: true }) as number;
  // The row must survive a power loss once the old file's names are gone.
  main.pragma('synchronous = FULL');
  let replaced = false;
  try {
    main
      .transaction(() => {
        if (currentGeneration(main) !== generation) return;
        let next = generation + 1;
        for (; ; next++) {
          const name = searchIndexFile(file, next);
          if (![name, `${name}-wal`, `${name}-shm`].some((f) => fs.existsSync(f))) break;
          removeIndexFiles(name);
        }
        createIndexFile(searchIndexFile(file, next));
        main
          .prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
          .run(GENERATION_KEY, next);
        replaced = true;
      })
      .immediate();
  } finally {
    main.pragma(`synchronous = ${synchronous}`);
  }
  if (replaced) removeIndexFiles(searchIndexFile(file, generation));
}

function createIndexFile(name: string): void {
  const db = new Database(name);
  try {
    db.pragma('journal_mode = WAL');
    db.transaction(() => db.exec(INDEX_SQL)).immediate();
  } finally {
    db.close();
  }
}

function removeIndexFiles(name: string): void {
  for (const f of [name, `${name}-wal`, `${name}-shm`]) fs.rmSync(f, { force: true });
}

/**
 * Unlinks what is left under the names of generations before `current`
 * (a replacement that stopped between its commit and its unlinks): those
 * names are never used again, and a process still holding such a file
 * keeps it (open inodes live on).
 */
export function removeRetiredIndexFiles(file: string, current: number): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}-search`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:\.(\d+))?(?:-wal|-shm)?$/.exec(name.slice(prefix.length));
    if (m && (m[1] === undefined ? 0 : Number(m[1])) < current) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** How far the index is behind the stored text. */
export interface SearchIndexLag {
  /** Text ids handed out above the index's high-water mark (texts deleted before being indexed included). */
  texts: number;
  /** Deleted texts not yet removed from the index. */
  forgotten: number;
}

/** The lag, read on a connection of the main database with the index attached (two lookups and the queue's count). */
const SEARCH_INDEX_LAG = `SELECT max(0, (SELECT value FROM meta WHERE key = 'blob_text_seq') - (SELECT indexed_to FROM ${SEARCH_SCHEMA}.search_state WHERE id = 1)) AS texts,
  (SELECT count(*) FROM search_forgotten) AS forgotten`;

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
        return { ...meta, indexed_to: state.indexed_to, deleted_seen: state.deleted_seen };
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
      let mark = rows.length > 0 ? rows[rows.length - 1]![0] : from;
      // Every id up to the sequence read above was committed before the rows
      // were read, so a short batch has seen all of them that still exist:
      // the mark goes to the sequence even when its last texts were deleted,
      // and the lag (sequence - mark, searchIndexLag) is 0 once caught up.
      if (rows.length < INDEX_BATCH) mark = Math.max(mark, counters.blob_text_seq!);
      // Unchanged (a catch-up with nothing to do: other processes' commits
      // wake every server's thread): no write, no transaction to commit.
      if (mark !== from || counters.blob_text_deleted !== counters.deleted_seen) this.setMark.run(mark, counters.blob_text_deleted);
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

/**
 * The index as a writer uses it (the background thread, or a process that
 * catches up on its own thread): it moves to the file the main database
 * names before each verify or catch-up, and replaces a file that a
 * catch-up finds damaged (checked off the event loop in the thread).
 */
export class SearchIndexWriter {
  private index!: OpenSearchIndex;
  private indexer!: SearchIndexer;

  /** `main`: a read-write connection of the database at `file`. */
  constructor(
    private readonly main: Database.Database,
    private readonly file: string,
  ) {
    this.open();
  }

  /** The generation of the file in use. */
  get generation(): number {
    return this.index.generation;
  }

  /** SearchIndexer.verify() on the file the database names. */
  verify(): boolean {
    return this.guarded(() => this.indexer.verify());
  }

  catchUp(): CatchUpResult {
    return this.guarded(() => this.indexer.catchUp());
  }

  close(): void {
    this.index.db.close();
  }

  /** Runs `fn` on the file the database names; again on a new file when it finds this one damaged. */
  private guarded<T>(fn: () => T): T {
    if (currentGeneration(this.main) !== this.index.generation) this.open();
    try {
      return fn();
    } catch (err) {
      if (!isCorruptError(err) || this.isSound()) throw err;
      replaceSearchIndex(this.main, this.file, this.index.generation);
      this.open();
      return fn();
    }
  }

  /** Opens the file the database names (closing the one in use), replacing it when its tables cannot be read. */
  private open(): void {
    const old = this.index?.db;
    for (let replaced = false; ; replaced = true) {
      const index = openSearchIndex(this.main, this.file);
      try {
        this.indexer = new SearchIndexer(this.main, index.db);
        this.index = index;
        removeRetiredIndexFiles(this.file, index.generation);
        break;
      } catch (err) {
        index.db.close();
        // The statements are prepared on the index file: the damage is its.
        if (replaced || !isCorruptError(err)) throw err;
        replaceSearchIndex(this.main, this.file, index.generation);
      }
    }
    old?.close();
  }

  /** The index file passes SQLite's quick_check (else the corruption was the main database's). */
  private isSound(): boolean {
    try {
      return this.index.db.pragma('quick_check', { simple: true }) === 'ok';
    } catch (err) {
      if (isCorruptError(err)) return false;
      throw err;
    }
  }
}

/**
 * The read-only connection that searches run on, with the index attached
 * (search.ts, src/store/shared/search-sql.ts). Before each read it moves to
 * the file the database names (one lookup of the meta row), and a read that
 * fails on a damaged file that another process has replaced meanwhile is
 * run again on the new one.
 */
export class SearchReader extends SqlDb {
  private generation: number | null = null;

  /** `replace(generation)`: replaceSearchIndex through a read-write connection (this one cannot). */
  constructor(
    read: Database.Database,
    private readonly file: string,
    private readonly replace: (generation: number) => void,
  ) {
    super(read);
    this.follow();
  }

  override read<T>(fn: () => T): T {
    if (this.db.inTransaction) return super.read(fn);
    this.follow();
    try {
      return super.read(fn);
    } catch (err) {
      if (!isCorruptError(err) || currentGeneration(this.db) === this.generation) throw err;
      this.follow();
      return super.read(fn);
    }
  }

  /** How far the index is behind the stored text (metrics). */
  lag(): SearchIndexLag {
    return this.read(() => this.stmt(SEARCH_INDEX_LAG).get() as SearchIndexLag);
  }

  private follow(): void {
    if (this.generation !== null && currentGeneration(this.db) === this.generation) return;
    if (this.generation !== null) this.db.exec(`DETACH DATABASE ${SEARCH_SCHEMA}`);
    this.generation = null;
    this.generation = attachSearchIndex(this.db, this.file, this.replace);
  }
}
