// Versioned schema of the embedded repository (metadata + directory in one
// SQLite file). PRAGMA user_version is the number of migration steps applied;
// a database written by a newer Petrel (more steps than we know) is refused.

import type Database from 'better-sqlite3';
import { MailError } from '../../mail/errors.js';
import { searchTextOfStoredIndex, type SearchText } from '../shared/rows.js';
import { addCounterColumns, COUNTED_FLAGS, counterSetList, INIT_COUNTERS_SQL } from '../shared/counters.js';

/** SQL expression of the current time in ms since the epoch (used in triggers). */
const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

/**
 * Migration 4, the SEARCH index: an FTS5 trigram table over the folded text
 * (queries: src/store/shared/search-sql.ts). External content (blob_text
 * keeps the text), one row per blob, kept by triggers (blob_text rows are
 * inserted, and deleted with their blob); case_sensitive 1 since the text is
 * already folded; detail=column keeps the index small (no positions: a term
 * is looked up as the AND of its trigrams, then tested exactly). The rebuild
 * indexes the rows already there. Exported for the test that runs it over a
 * database with rows.
 */
export const SEARCH_INDEX_SQL = `
  CREATE VIRTUAL TABLE blob_text_fts USING fts5(
    header_text, body_text,
    content = 'blob_text', content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1', detail = column
  );
  CREATE TRIGGER blob_text_fts_insert AFTER INSERT ON blob_text BEGIN
    INSERT INTO blob_text_fts (rowid, header_text, body_text) VALUES (NEW.id, NEW.header_text, NEW.body_text);
  END;
  CREATE TRIGGER blob_text_fts_delete AFTER DELETE ON blob_text BEGIN
    INSERT INTO blob_text_fts (blob_text_fts, rowid, header_text, body_text)
      VALUES ('delete', OLD.id, OLD.header_text, OLD.body_text);
  END;
  CREATE TRIGGER blob_text_fts_update AFTER UPDATE ON blob_text BEGIN
    INSERT INTO blob_text_fts (blob_text_fts, rowid, header_text, body_text)
      VALUES ('delete', OLD.id, OLD.header_text, OLD.body_text);
    INSERT INTO blob_text_fts (rowid, header_text, body_text) VALUES (NEW.id, NEW.header_text, NEW.body_text);
  END;
  INSERT INTO blob_text_fts (blob_text_fts) VALUES ('rebuild');
`;

/**
 * SQL function for the migrations that fold the stored search text again:
 * (idx JSON, 'header' | 'body', current text) -> the column's text as this
 * Petrel folds it, or the current text when the index cannot be read. The
 * fold is not idempotent, so the text is always made from the index.
 */
const REFOLD_FUNCTION = 'petrel_search_text';

function registerMigrationFunctions(db: Database.Database): void {
  // Each row asks twice (header, body) with the same index: parse it once.
  let lastIdx: string | null = null;
  let last: SearchText | null = null;
  db.function(REFOLD_FUNCTION, { deterministic: true }, (idx: unknown, column: unknown, current: unknown) => {
    if (typeof idx !== 'string') return current;
    if (idx !== lastIdx) {
      lastIdx = idx;
      last = searchTextOfStoredIndex(idx);
    }
    if (last === null) return current;
    return column === 'header' ? last.headerText : last.bodyText;
  });
}

/**
 * Migration 6: the SEARCH text folded with i;unicode-casemap (RFC 5051, for
 * I18NLEVEL=1) instead of NFC + lower case, made again from each blob's index
 * (REFOLD_FUNCTION); the update trigger keeps blob_text_fts in step.
 */
const SEARCH_REFOLD_SQL = `
  UPDATE blob_text SET
    header_text = ${REFOLD_FUNCTION}(b.idx, 'header', blob_text.header_text),
    body_text = ${REFOLD_FUNCTION}(b.idx, 'body', blob_text.body_text)
  FROM blobs b WHERE b.blob_id = blob_text.blob_id;
`;

/**
 * The SEARCH index leaves the database for a file of its own, filled by a
 * background thread after the commit (search-index.ts): blob_text ids come
 * from a sequence that never goes back (the index knows which ids it holds
 * by their maximum), deleted texts are queued for removal from the index
 * and counted (a database restored from a backup has counted fewer than its
 * index saw), and a random key ties the index file to this database.
 */
const SEARCH_INDEX_FILE_SQL = `
  DROP TRIGGER blob_text_fts_insert;
  DROP TRIGGER blob_text_fts_delete;
  DROP TRIGGER blob_text_fts_update;
  DROP TABLE blob_text_fts;
  INSERT INTO meta (key, value) VALUES ('blob_text_seq', (SELECT coalesce(max(id), 0) FROM blob_text));
  INSERT INTO meta (key, value) VALUES ('search_index_key', abs(random() % 281474976710656));
  INSERT INTO meta (key, value) VALUES ('blob_text_deleted', 0);
  CREATE TABLE search_forgotten (id INTEGER PRIMARY KEY);
  CREATE TRIGGER blob_text_forget AFTER DELETE ON blob_text BEGIN
    INSERT OR IGNORE INTO search_forgotten (id) VALUES (OLD.id);
    UPDATE meta SET value = value + 1 WHERE key = 'blob_text_deleted';
  END;
`;

/**
 * The per-mailbox counters for STATUS and quota (src/store/shared/counters.ts):
 * row triggers keep them in the writer's transaction; counted once at the
 * end. Exported for the test that runs it over a database with rows.
 */
export const COUNTERS_SQL = `
  ${addCounterColumns('INTEGER')}
  CREATE TRIGGER messages_counters_insert AFTER INSERT ON messages WHEN NEW.expunged_modseq IS NULL BEGIN
    UPDATE mailboxes SET ${counterSetList('NEW', null)} WHERE id = NEW.mailbox_id;
  END;
  CREATE TRIGGER messages_counters_delete AFTER DELETE ON messages WHEN OLD.expunged_modseq IS NULL BEGIN
    UPDATE mailboxes SET ${counterSetList(null, 'OLD')} WHERE id = OLD.mailbox_id;
  END;
  CREATE TRIGGER messages_counters_update AFTER UPDATE OF system_flags, size, expunged_modseq ON messages
    WHEN (OLD.expunged_modseq IS NULL OR NEW.expunged_modseq IS NULL)
      AND ((OLD.expunged_modseq IS NULL) <> (NEW.expunged_modseq IS NULL)
        OR (OLD.system_flags & ${COUNTED_FLAGS}) <> (NEW.system_flags & ${COUNTED_FLAGS}) OR OLD.size <> NEW.size)
  BEGIN
    UPDATE mailboxes SET ${counterSetList('NEW', 'OLD')} WHERE id = NEW.mailbox_id;
  END;
  ${INIT_COUNTERS_SQL}
  `;

const MIGRATIONS: string[] = [
  // 1: initial schema
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta (key, value) VALUES ('last_uidvalidity', 0);

  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    special_use TEXT,
    selectable INTEGER NOT NULL DEFAULT 1,
    UNIQUE (account_id, name)
  );

  CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
  ) WITHOUT ROWID;

  -- One row per stored blob. refs counts message rows (live or expunged, not
  -- pruned) that point at it, kept by the triggers below; unreferenced_at is
  -- when refs last dropped to 0 (the GC takes the oldest first).
  -- Rowid tables (not WITHOUT ROWID): their rows are large.
  CREATE TABLE blobs (
    id INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    idx TEXT NOT NULL,
    sent_day TEXT,
    refs INTEGER NOT NULL DEFAULT 0,
    unreferenced_at INTEGER
  );
  CREATE INDEX blobs_unreferenced ON blobs (unreferenced_at) WHERE refs = 0;

  -- Folded search text (see src/mail/search.ts), apart so that scans of the
  -- blobs table stay small.
  CREATE TABLE blob_text (
    id INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL UNIQUE REFERENCES blobs(blob_id) ON DELETE CASCADE,
    header_text TEXT NOT NULL,
    body_text TEXT NOT NULL
  );

  CREATE TABLE messages (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    system_flags INTEGER NOT NULL DEFAULT 0,
    keywords TEXT NOT NULL DEFAULT '',
    internal_date INTEGER NOT NULL,
    save_date INTEGER NOT NULL,
    size INTEGER NOT NULL,
    blob_id TEXT NOT NULL REFERENCES blobs(blob_id),
    expunged_modseq INTEGER,
    expunged_at INTEGER,
    PRIMARY KEY (mailbox_id, uid)
  ) WITHOUT ROWID;
  CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
  CREATE INDEX messages_live ON messages (mailbox_id, uid, system_flags, size) WHERE expunged_modseq IS NULL;
  CREATE INDEX messages_expunged_at ON messages (expunged_at) WHERE expunged_modseq IS NOT NULL;
  CREATE INDEX messages_blob ON messages (blob_id);

  -- What is left of a pruned expunged message: enough for changesSince/VANISHED.
  CREATE TABLE tombstones (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
  ) WITHOUT ROWID;
  CREATE INDEX tombstones_modseq ON tombstones (mailbox_id, modseq);

  CREATE TRIGGER messages_ref AFTER INSERT ON messages BEGIN
    UPDATE blobs SET refs = refs + 1, unreferenced_at = NULL WHERE blob_id = NEW.blob_id;
  END;
  CREATE TRIGGER messages_unref AFTER DELETE ON messages BEGIN
    UPDATE blobs SET refs = refs - 1,
      unreferenced_at = CASE WHEN refs = 1 THEN ${NOW_MS} ELSE unreferenced_at END
    WHERE blob_id = OLD.blob_id;
  END;
  `,
  // 2: per-account quota limits (RFC 9208): KiB and message count, NULL = unlimited
  `
  ALTER TABLE accounts ADD COLUMN quota_storage INTEGER;
  ALTER TABLE accounts ADD COLUMN quota_messages INTEGER;
  `,
  // 3: each account's repository, the registry of repositories (src/mail/repository.ts), and ACLs (RFC 4314)
  `
  ALTER TABLE accounts ADD COLUMN repository TEXT NOT NULL DEFAULT 'default';
  CREATE TABLE repositories (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE mailbox_acl (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    rights TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, identifier)
  ) WITHOUT ROWID;
  CREATE INDEX mailbox_acl_identifier ON mailbox_acl (identifier);
  `,
  // 4: SEARCH index: FTS5 trigram table (SEARCH_INDEX_SQL above)
  SEARCH_INDEX_SQL,
  // 5: RFC 5464 annotations (src/store/shared/metadata.ts): mailbox_id NULL = the
  // server's, owner_id NULL = a /shared value, else that account's /private one.
  `
  CREATE TABLE metadata_entries (
    mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
    owner_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value BLOB NOT NULL
  );
  CREATE UNIQUE INDEX metadata_entries_key ON metadata_entries (COALESCE(mailbox_id, 0), COALESCE(owner_id, 0), name);
  CREATE INDEX metadata_entries_mailbox ON metadata_entries (mailbox_id);
  CREATE INDEX metadata_entries_owner ON metadata_entries (owner_id);
  `,
  // 6: SEARCH text folded with i;unicode-casemap (SEARCH_REFOLD_SQL above)
  SEARCH_REFOLD_SQL,
  // read replicas of each registered repository (space-separated postgres:// URLs)
  `
  ALTER TABLE repositories ADD COLUMN replica_urls TEXT NOT NULL DEFAULT '';
  `,
  // per-mailbox counters for STATUS and quota (COUNTERS_SQL above)
  COUNTERS_SQL,
  // `petrel user move`'s write freeze (ms since the epoch; NULL = not frozen).
  `ALTER TABLE accounts ADD COLUMN frozen_until INTEGER;`,
  // The SEARCH index moves to its own file, filled after the commit (SEARCH_INDEX_FILE_SQL above)
  SEARCH_INDEX_FILE_SQL,
  // Small message bodies, content-addressed like data_dir/blobs (src/blob/small-bodies.ts,
  // ./small-bodies.ts): in this file, a delivery's one WAL flush makes its body durable with
  // its metadata. touched_at (ms): the last write or dedup, the garbage collector's grace.
  `
  CREATE TABLE small_bodies (
    blob_id TEXT PRIMARY KEY NOT NULL,
    touched_at INTEGER NOT NULL,
    data BLOB NOT NULL
  );
  CREATE INDEX small_bodies_touched ON small_bodies (touched_at);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version that folds the SEARCH text with i;unicode-casemap (for the test that upgrades an older database). */
export const SEARCH_REFOLD_VERSION = MIGRATIONS.indexOf(SEARCH_REFOLD_SQL) + 1;

/**
 * Brings the database to SCHEMA_VERSION (`target`: an older version, for
 * tests that build an older database), in one IMMEDIATE transaction (another
 * process may be opening it too).
 */
export function migrate(db: Database.Database, file: string, target = SCHEMA_VERSION): void {
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  const tooNew = (v: number) =>
    new MailError(
      'CORRUPT',
      `database ${file} has schema version ${v}, newer than this Petrel supports (${SCHEMA_VERSION}); upgrade Petrel`,
    );
  if (version() > SCHEMA_VERSION) throw tooNew(version());
  if (version() >= target) return;
  registerMigrationFunctions(db);
  db.transaction(() => {
    const current = version();
    if (current > SCHEMA_VERSION) throw tooNew(current);
    for (let v = current; v < target; v++) db.exec(MIGRATIONS[v]!);
    if (current < target) db.pragma(`user_version = ${target}`);
  }).immediate();
}
