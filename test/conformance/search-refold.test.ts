// The migration that folds the stored SEARCH text again with i;unicode-casemap
// (I18NLEVEL=1), on both backends: a database at the schema before it, with
// rows folded the old way (NFC + lower case, lower-case field names), is
// opened by this Petrel, which migrates on start; then the stored text is
// byte for byte what ingest writes now, the text indexes agree with it, and
// SEARCH finds what the comparator says.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import type { HeaderField } from '../../src/mime/types.js';
import type { MailStore } from '../../src/mail/ports.js';
import type { SearchQuery } from '../../src/mail/types.js';
import { searchText, searchTextOfStoredIndex } from '../../src/store/shared/rows.js';
import { ftsTrigramQuery } from '../../src/store/shared/search-sql.js';
import { migrate as migrateSqlite, SEARCH_REFOLD_VERSION as SQLITE_REFOLD_VERSION } from '../../src/store/sqlite/schema.js';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS, SEARCH_REFOLD_VERSION as PG_REFOLD_VERSION } from '../../src/store/postgres/schema.js';
import { connectPostgres, migrate as migratePg, pgTransaction } from '../../src/store/postgres/pg.js';
import { refoldSearchText } from '../../src/store/postgres/search-refold.js';
import { openPostgresRepository } from '../../src/store/postgres/index.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import { testMessage } from './fixtures.js';

/** How Petrel folded the search text before I18NLEVEL=1. */
const oldFold = (s: string): string => s.normalize('NFC').toLowerCase();
const oldHeaderText = (headers: readonly HeaderField[]): string =>
  '\n' + headers.map((h) => `${h.name.toLowerCase()}:${oldFold(h.value).replace(/[\r\n]+/g, ' ')}\n`).join('');

const utf8 = ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'];
const messages = [
  testMessage({ subject: 'Straße ﬁnance', body: 'İstanbul ışık café', extraHeaders: utf8 }),
  testMessage({ subject: 'Strasse finance', body: 'Strasse finance istanbul isik cafe' }),
];
const rows = messages.map((m, i) => {
  const { index } = m.item();
  return {
    blobId: m.blobId,
    size: index.size,
    idx: JSON.stringify(index),
    uid: i + 1,
    oldHeader: oldHeaderText(index.headers),
    oldBody: oldFold(index.bodyText),
    now: searchText(index),
  };
});
const NOW = Date.parse('2024-03-10T12:00:00Z');

/** The rows of an older schema: one account, one mailbox, the two messages with the old text. */
const INSERTS = {
  account: `INSERT INTO accounts (name, password_hash, created_at) VALUES ('old', '{PLAIN}x', ${NOW})`,
  mailbox: `INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highestmodseq)
    SELECT id, 'INBOX', 1, ${rows.length + 1}, ${rows.length + 1} FROM accounts WHERE name = 'old'`,
  blob: `INSERT INTO blobs (blob_id, size, idx) VALUES (?, ?, ?)`,
  text: `INSERT INTO blob_text (blob_id, header_text, body_text) VALUES (?, ?, ?)`,
  message: `INSERT INTO messages (mailbox_id, uid, modseq, internal_date, save_date, size, blob_id)
    SELECT id, ?, ?, ${NOW}, ${NOW}, ?, ? FROM mailboxes WHERE name = 'INBOX'`,
};

const body = (value: string): SearchQuery => ({ kind: 'body', value });
const text = (value: string): SearchQuery => ({ kind: 'text', value });

/** What SEARCH answers once the text is folded again (each of these misses on the old text). */
async function searchesAfterRefold(store: MailStore, mailboxId: number): Promise<void> {
  assert.deepEqual(await store.search(mailboxId, body('IŞIK')), [1], 'ı and ş fold with titlecase + decomposition');
  assert.deepEqual(await store.search(mailboxId, body('is')), [1, 2], 'a term too short for the index');
  assert.deepEqual(await store.search(mailboxId, { kind: 'header', field: 'Subject', value: 'ﬁNANCE' }), [1]);
  assert.deepEqual(await store.search(mailboxId, { kind: 'header', field: 'subject', value: 'FINANCE' }), [2]);
  assert.deepEqual(await store.search(mailboxId, text('subject:strasse')), [2], 'field names fold too');
  assert.deepEqual(await store.search(mailboxId, text('STRASSE')), [2], 'ß is not SS');
  assert.deepEqual(await store.search(mailboxId, body('CAFÉ')), [1]);
  assert.deepEqual(await store.search(mailboxId, body('i\u0307stanbul')), [1]);
}

test('the text is made from a stored index; one that cannot be read gives none (its row keeps its text)', () => {
  for (const r of rows) assert.deepEqual(searchTextOfStoredIndex(r.idx), r.now);
  for (const bad of ['not json', '{}', 'null', '{"headers": [], "bodyText": 1}']) assert.equal(searchTextOfStoredIndex(bad), null, bad);
});

describe('SEARCH text refold migration: SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-refold-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a database of the previous schema is refolded on open, and its index file built from the new text', async () => {
    const file = path.join(dir, 'petrel.db');
    const old = new Database(file);
    try {
      old.pragma('foreign_keys = ON');
      migrateSqlite(old, file, SQLITE_REFOLD_VERSION - 1);
      old.exec(INSERTS.account);
      old.exec(INSERTS.mailbox);
      for (const r of rows) {
        old.prepare(INSERTS.blob).run(r.blobId, r.size, r.idx);
        old.prepare(INSERTS.text).run(r.blobId, r.oldHeader, r.oldBody);
        old.prepare(INSERTS.message).run(r.uid, r.uid + 1, r.size, r.blobId);
      }
      // The old text is what the FTS5 index holds now: its old trigrams are found.
      assert.equal(old.prepare(`SELECT count(*) FROM blob_text_fts WHERE blob_text_fts MATCH ?`).pluck().get(ftsTrigramQuery(['body'], 'ışık')), 1);
    } finally {
      old.close();
    }

    const repo = openSqliteRepository(file, { fsync: false });
    try {
      // The index now lives in its own file, built after the migration.
      repo.indexSearchText();
      const raw = new Database(file, { readonly: true });
      raw.prepare(`ATTACH DATABASE ? AS search`).run(`${file}-search`);
      try {
        assert.ok((raw.pragma('user_version', { simple: true }) as number) >= SQLITE_REFOLD_VERSION);
        for (const r of rows) {
          const got = raw.prepare(`SELECT header_text, body_text FROM blob_text WHERE blob_id = ?`).get(r.blobId) as {
            header_text: string;
            body_text: string;
          };
          assert.equal(got.header_text, r.now.headerText, 'header text as ingest writes it now');
          assert.equal(got.body_text, r.now.bodyText, 'body text as ingest writes it now');
        }
        const match = (term: string) =>
          raw.prepare(`SELECT count(*) FROM search.blob_text_fts WHERE blob_text_fts MATCH ?`).pluck().get(ftsTrigramQuery(['body'], term));
        assert.equal(match('ışık'), 0, 'the old trigrams are not in the index');
        assert.equal(match('IS\u0327IK'), 1, 'the new ones are in it');
        assert.equal(raw.prepare(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'blob_text_fts%'`).pluck().get(), 0, 'the old index left the database');
      } finally {
        raw.close();
      }
      const rw = new Database(`${file}-search`);
      try {
        rw.prepare(`INSERT INTO blob_text_fts (blob_text_fts) VALUES ('integrity-check')`).run();
      } finally {
        rw.close();
      }
      const account = await repo.directory.findAccount('old');
      const inbox = await repo.store.getMailbox(account!.id, 'INBOX');
      await searchesAfterRefold(repo.store, inbox!.id);
    } finally {
      await repo.close();
    }
  });
});

describe('SEARCH text refold migration: PostgreSQL', () => {
  let pg: PostgresInstance;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg.stop());

  test('`migrate` refolds a database of the previous schema in batches; the step can run again', async () => {
    const url = await pg.createDatabase();
    const old = connectPostgres(url, { max: 1 });
    try {
      await migratePg(old, MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS.slice(0, PG_REFOLD_VERSION - 1));
      await old.unsafe(INSERTS.account);
      await old.unsafe(INSERTS.mailbox);
      const numbered = (q: string) => {
        let n = 0;
        return q.replace(/\?/g, () => `$${++n}`);
      };
      for (const r of rows) {
        await old.unsafe(numbered(INSERTS.blob), [r.blobId, r.size, r.idx]);
        await old.unsafe(numbered(INSERTS.text), [r.blobId, r.oldHeader, r.oldBody]);
        await old.unsafe(numbered(INSERTS.message), [r.uid, r.uid + 1, r.size, r.blobId]);
      }
    } finally {
      await old.end({ timeout: 5 });
    }

    const repo = await openPostgresRepository(url, { max: 2 });
    const check = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const stored = async () =>
        new Map(
          (await check<Array<{ blob_id: string; header_text: string; body_text: string }>>`
            SELECT blob_id, header_text, body_text FROM blob_text`).map((t) => [t.blob_id, t]),
        );
      const after1 = await stored();
      for (const r of rows) {
        assert.equal(after1.get(r.blobId)?.header_text, r.now.headerText, 'header text as ingest writes it now');
        assert.equal(after1.get(r.blobId)?.body_text, r.now.bodyText, 'body text as ingest writes it now');
      }
      // Made from the index, not from the stored text: the step run again, on old text or on its own
      // result, gives the same; and one row per batch walks every row.
      for (const r of rows) await check`UPDATE blob_text SET header_text = ${r.oldHeader}, body_text = ${r.oldBody} WHERE blob_id = ${r.blobId}`;
      await pgTransaction(repo.sql, (tx) => refoldSearchText(tx, 1));
      assert.deepEqual(await stored(), after1);
      await pgTransaction(repo.sql, (tx) => refoldSearchText(tx, 1));
      assert.deepEqual(await stored(), after1);
      const account = await repo.directory.findAccount('old');
      const inbox = await repo.store.getMailbox(account!.id, 'INBOX');
      await searchesAfterRefold(repo.store, inbox!.id);
      // The pg_trgm index of the body's words answers the new text (the planner is made to use it).
      const [{ n }] = await check.begin(async (tx) => {
        await tx`SET LOCAL enable_seqscan = off`;
        return tx<Array<{ n: number }>>`SELECT count(*)::int AS n FROM blob_text WHERE body_words LIKE ${'%IS\u0327IK%'}`;
      });
      assert.equal(n, 1);
    } finally {
      await check.end({ timeout: 5 });
      await repo.close();
    }
  });
});
