// The SEARCH text indexes themselves (semantics: mailstore-search-index.ts,
// run against both backends): the query plans use them for terms of 3+
// characters and not below; the SQLite FTS5 index (a file of its own, filled
// after the commit) follows inserts and blob deletions, is built from the
// rows already there, is rebuilt when it belongs to another database or to a
// later state of this one, and searches find the text it does not hold yet;
// the background thread catches up by itself; the indexed statement answers
// as the scan statement; PostgreSQL's migration says what to do when the
// role may not create pg_trgm.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import postgres from 'postgres';
import { foldText, headerTextHas } from '../../src/mail/search.js';
import type { SearchQuery } from '../../src/mail/types.js';
import { openSqliteRepository, type SqliteRepository } from '../../src/store/sqlite/index.js';
import { searchIndexFile } from '../../src/store/sqlite/search-index.js';
import { sqliteSearchDialect } from '../../src/store/sqlite/mail-store.js';
import { SqlDb } from '../../src/store/sqlite/db.js';
import { sqliteTextPlan } from '../../src/store/sqlite/search.js';
import { openPostgresRepository, postgresSearchDialect } from '../../src/store/postgres/index.js';
import {
  ftsTrigramQuery,
  requiredTextTerms,
  searchStatement,
  termTrigrams,
  textTermKey,
  type SearchStatementOptions,
  type TextPlan,
} from '../../src/store/shared/search-sql.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import { testMessage } from './fixtures.js';

const body = (value: string): SearchQuery => ({ kind: 'body', value });

describe('trigram queries', () => {
  test('terms under 3 code points have none; long terms are capped, keeping both ends', () => {
    assert.deepEqual(termTrigrams('ab'), []);
    assert.deepEqual(termTrigrams('東京'), []);
    assert.deepEqual(termTrigrams('東京都'), ['東京都']);
    assert.deepEqual(termTrigrams('aaaa'), ['aaa']);
    assert.deepEqual(termTrigrams('ab\0cd'), [], 'no trigram with a NUL');
    const long = termTrigrams('abcdefghijklmnopqrstuvwxyz0123456789');
    assert.equal(long.length, 16);
    assert.equal(long[0], 'abc');
    assert.equal(long.at(-1), '789');
  });

  test('FTS5 query strings quote each trigram, doubling "', () => {
    assert.equal(ftsTrigramQuery(['body'], 'a"bc'), '{body_text} : ("a""b" AND """bc")');
    assert.equal(ftsTrigramQuery(['header', 'body'], 'xyz'), '{header_text body_text} : ("xyz")');
    assert.equal(ftsTrigramQuery(['body'], 'xy'), null);
  });
});

describe('SQLite FTS5 search index', () => {
  let dir: string;
  let file: string;
  let repo: SqliteRepository;
  let raw: Database.Database;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-'));
    file = path.join(dir, 'petrel.db');
    repo = openSqliteRepository(file, { fsync: false });
    raw = new Database(file);
    raw.prepare(`ATTACH DATABASE ? AS search`).run(`${file}-search`);
    raw.function('petrel_header_has', { deterministic: true }, (t: unknown, f: unknown, v: unknown) =>
      headerTextHas(String(t), String(f), String(v)) ? 1 : 0,
    );
  });
  after(async () => {
    raw.close();
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const plan = (q: SearchQuery, mailboxId: number, options: SearchStatementOptions = {}) => {
    const { sql, params } = searchStatement(q, sqliteSearchDialect, mailboxId, options);
    return (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join('\n');
  };
  const run = (q: SearchQuery, mailboxId: number, options: SearchStatementOptions) => {
    const { sql, params } = searchStatement(q, sqliteSearchDialect, mailboxId, options);
    return raw.prepare(sql).pluck().all(...params) as number[];
  };
  /** Drive by the first required term, the other terms through the index. */
  const driving = (q: SearchQuery): SearchStatementOptions => {
    const first = requiredTextTerms(q)[0];
    return { textPlan: (t) => (first && textTermKey(t) === textTermKey(first) ? 'drive' : 'index') };
  };
  const ftsCheck = () => raw.exec(`INSERT INTO search.blob_text_fts (blob_text_fts) VALUES ('integrity-check')`);
  const indexed = (term: string) =>
    raw.prepare(`SELECT count(*) FROM search.blob_text_fts WHERE blob_text_fts MATCH ?`).pluck().get(ftsTrigramQuery(['body'], foldText(term)));

  test('the plan reads the FTS5 table for a 3-character term, not for shorter ones', async () => {
    const account = await repo.directory.createAccount('plan', '{PLAIN}x');
    const mb = await repo.store.createMailbox(account.id, 'INBOX');
    await repo.store.appendMessages(mb.id, [testMessage({ body: 'the quick brown fox' }).item()]);
    repo.indexSearchText();
    for (const q of [body('fox'), body('quick brown'), { kind: 'text', value: 'QUI' } as const, { kind: 'header', field: 'subject', value: 'hel' } as const]) {
      assert.match(plan(q, mb.id), /SCAN search\.blob_text_fts VIRTUAL TABLE/, JSON.stringify(q));
    }
    for (const q of [body('fo'), body('x'), { kind: 'header', field: 'subject', value: 'he' } as const]) {
      assert.doesNotMatch(plan(q, mb.id), /blob_text_fts/, JSON.stringify(q));
    }
    assert.doesNotMatch(plan(body('fox'), mb.id, { scan: true }), /blob_text_fts/, 'the scan switch leaves the index out');
    assert.doesNotMatch(plan(body('fox'), mb.id, { textPlan: () => 'scan' }), /blob_text_fts/);
    // Driven: each candidate blob is looked up in messages_blob.
    const driven = plan({ kind: 'and', queries: [{ kind: 'flag', flag: '\\Seen', present: false }, body('quick')] }, mb.id, driving(body('quick')));
    assert.match(driven, /SCAN search\.blob_text_fts VIRTUAL TABLE/);
    assert.match(driven, /SEARCH m USING (COVERING )?INDEX messages_blob \(blob_id=\? AND mailbox_id=\?\)/);
    // Filtering: the mailbox's rows are the outer loop, the candidates a set; no text row is joined.
    const filtered = plan(body('quick'), mb.id);
    assert.match(filtered, /SEARCH m USING (PRIMARY KEY|INDEX messages_live) \(mailbox_id=\?\)/);
    assert.match(filtered, /SCAN search\.blob_text_fts VIRTUAL TABLE/);
    assert.match(filtered, /SEARCH t USING INTEGER PRIMARY KEY \(rowid=\?\)/, 'the exact test reads the candidates only');
    assert.match(filtered, /SEARCH t USING INTEGER PRIMARY KEY \(rowid>\?\)/, 'and the rows the index does not hold yet');
    assert.doesNotMatch(filtered, /SEARCH t USING INDEX/);
  });

  test('the store picks the plan from the candidate count: drive for a rare word, filter for a common one, scan for one found nearly everywhere', async () => {
    const account = await repo.directory.createAccount('choice', '{PLAIN}x');
    const mb = await repo.store.createMailbox(account.id, 'INBOX');
    await repo.store.appendMessages(
      mb.id,
      Array.from({ length: 64 }, (_, i) => testMessage({ subject: `n ${i}`, body: `common words ${i}${i === 5 ? ' rareword' : ''}${i % 3 === 0 ? ' thirdword' : ''}` }).item()),
    );
    const db = new SqlDb(raw);
    // Unindexed rows are candidates of every term: 64 of 64 for each.
    assert.deepEqual(sqliteTextPlan(db, body('rareword'), 64)(requiredTextTerms(body('rareword'))[0]!), 'scan' as TextPlan, 'nothing indexed yet');
    repo.indexSearchText();
    const planOf = (q: SearchQuery, size: number) => {
      const choose = sqliteTextPlan(db, q, size);
      return requiredTextTerms(q).map((t) => choose(t));
    };
    assert.deepEqual(planOf(body('rareword'), 64), ['drive'] as TextPlan[]);
    assert.deepEqual(planOf(body('common words'), 64), ['scan'] as TextPlan[]);
    assert.deepEqual(planOf(body('thirdword'), 64), ['index'] as TextPlan[], '22 of 64');
    assert.deepEqual(planOf({ kind: 'and', queries: [body('thirdword'), body('rareword')] }, 64), ['index', 'drive'] as TextPlan[]);
    assert.deepEqual(planOf({ kind: 'or', left: body('rareword'), right: body('x') }, 64), [], 'no required term');
    assert.deepEqual(await repo.store.search(mb.id, body('RAREWORD')), [6]);
    assert.equal((await repo.store.search(mb.id, body('common words'))).length, 64);
  });

  test('the index follows inserts and blob deletions (the GC), and stays consistent', async () => {
    const account = await repo.directory.createAccount('gc', '{PLAIN}x');
    const mb = await repo.store.createMailbox(account.id, 'INBOX');
    const m = testMessage({ subject: 'ephemeral', body: 'zanzibar unique words' });
    await repo.store.appendMessages(mb.id, [m.item()]);
    assert.equal(indexed('zanzibar'), 0, 'not indexed in the commit');
    assert.deepEqual(await repo.store.search(mb.id, body('zanzibar')), [1], 'found unindexed');
    assert.deepEqual(repo.indexSearchText(), { indexed: 1, forgotten: 0 });
    assert.equal(indexed('zanzibar'), 1);
    assert.deepEqual(await repo.store.search(mb.id, body('zanzibar')), [1], 'found through the index');
    assert.deepEqual(repo.indexSearchText(), { indexed: 0, forgotten: 0 }, 'nothing twice');
    await repo.store.storeFlags(mb.id, [{ start: 1, end: 1 }], 'add', ['\\Deleted']);
    await repo.store.expunge(mb.id);
    await repo.store.pruneExpunged(new Date(Date.now() + 60_000));
    assert.ok((await repo.store.unreferencedBlobs(100)).includes(m.blobId));
    const lastId = () => raw.prepare(`SELECT max(id) FROM blob_text`).pluck().get() as number | null;
    const before = raw.prepare(`SELECT id FROM blob_text WHERE blob_id = ?`).pluck().get(m.blobId) as number;
    await repo.store.forgetBlobs([m.blobId]);
    assert.deepEqual(repo.indexSearchText(), { indexed: 0, forgotten: 1 });
    assert.equal(indexed('zanzibar'), 0, 'deleting the blob removed its index row');
    assert.equal(raw.prepare(`SELECT count(*) FROM search_forgotten`).pluck().get(), 0, 'the queue is emptied');
    // The freed id is never handed out again (the index knows its rows by their maximum).
    await repo.store.appendMessages(mb.id, [testMessage({ body: 'something else' }).item()]);
    assert.ok(lastId()! > before);
    repo.indexSearchText();
    assert.equal(indexed('zanzibar'), 0);
    assert.deepEqual(await repo.store.search(mb.id, body('zanzibar')), []);
    assert.deepEqual(await repo.store.search(mb.id, body('something')), [2]);
    ftsCheck();
    assert.deepEqual(await repo.store.integrityCheck(), []);
  });

  test('an index file is built from the rows already there, and rebuilt when it is another database\'s or ahead of this one', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-other-'));
    try {
      const otherFile = path.join(other, 'petrel.db');
      const fill = async (r: SqliteRepository, name: string, bodies: string[]) => {
        const account = await r.directory.createAccount(name, '{PLAIN}x');
        const mb = await r.store.createMailbox(account.id, 'INBOX');
        await r.store.appendMessages(mb.id, bodies.map((b) => testMessage({ body: b }).item()));
        return mb.id;
      };
      // A database with text and no index file (deleted): a new one, under a new name.
      let r = openSqliteRepository(otherFile, { fsync: false });
      const mb = await fill(r, 'a', ['existing rows get indexed', 'more existing text']);
      await r.close();
      for (const f of ['', '-wal', '-shm']) fs.rmSync(`${searchIndexFile(otherFile, 0)}${f}`, { force: true });
      r = openSqliteRepository(otherFile, { fsync: false });
      assert.ok(fs.existsSync(searchIndexFile(otherFile, 1)));
      assert.deepEqual(await r.store.search(mb, body('EXISTING')), [1, 2], 'before the index is built');
      assert.deepEqual(r.indexSearchText(), { indexed: 2, forgotten: 0 });
      assert.deepEqual(await r.store.search(mb, body('EXISTING')), [1, 2]);
      await r.close();

      // The index file of this test's database, copied beside the other one: its rows are not the other's.
      const otherIndex = searchIndexFile(otherFile, 1);
      repo.indexSearchText();
      const theirs = raw.prepare(`SELECT indexed_to FROM search.search_state`).pluck().get() as number;
      assert.ok(theirs > 2);
      raw.exec(`VACUUM search INTO '${otherIndex}.new'`);
      for (const f of ['', '-wal', '-shm']) fs.rmSync(`${otherIndex}${f}`, { force: true });
      fs.renameSync(`${otherIndex}.new`, otherIndex);
      r = openSqliteRepository(otherFile, { fsync: false });
      try {
        assert.deepEqual(r.indexSearchText(), { indexed: 2, forgotten: 0 }, 'rebuilt from its own two rows');
        assert.deepEqual(await r.store.search(mb, body('more existing')), [2]);
        // Back in time: the database restored from a backup older than its index.
        const check = new Database(otherFile);
        try {
          check.prepare(`UPDATE meta SET value = 1 WHERE key = 'blob_text_seq'`).run();
          check.prepare(`DELETE FROM blob_text WHERE id = 2`).run();
          check.prepare(`DELETE FROM search_forgotten`).run();
        } finally {
          check.close();
        }
        assert.deepEqual(r.indexSearchText(), { indexed: 1, forgotten: 0 }, 'an index ahead of the database starts over');
      } finally {
        await r.close();
      }
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('a database restored from a backup taken before texts were deleted: its index starts over when the database is opened', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-restore-'));
    try {
      const file = path.join(own, 'petrel.db');
      let r = openSqliteRepository(file, { fsync: false });
      const account = await r.directory.createAccount('restore', '{PLAIN}x');
      const mb = (await r.store.createMailbox(account.id, 'INBOX')).id;
      const doomed = testMessage({ body: 'bravo two' });
      await r.store.appendMessages(mb, [testMessage({ body: 'alpha one' }).item(), doomed.item(), testMessage({ body: 'charlie three' }).item()]);
      r.indexSearchText();
      await r.close();
      fs.copyFileSync(file, path.join(own, 'backup.db'));

      // The message is expunged and its text deleted by the GC: the index forgets it.
      r = openSqliteRepository(file, { fsync: false });
      await r.store.storeFlags(mb, [{ start: 2, end: 2 }], 'add', ['\\Deleted']);
      await r.store.expunge(mb);
      await r.store.pruneExpunged(new Date(Date.now() + 60_000));
      await r.store.forgetBlobs([doomed.blobId]);
      assert.deepEqual(r.indexSearchText(), { indexed: 0, forgotten: 1 });
      await r.close();

      // The backup comes back (its text is there again, its counters are behind the index's).
      for (const f of ['-wal', '-shm']) fs.rmSync(`${file}${f}`, { force: true });
      fs.copyFileSync(path.join(own, 'backup.db'), file);
      r = openSqliteRepository(file, { fsync: false });
      try {
        const state = new Database(`${file}-search`, { readonly: true });
        try {
          assert.equal(state.prepare(`SELECT indexed_to FROM search_state`).pluck().get(), 0, 'emptied on open, before any write');
        } finally {
          state.close();
        }
        assert.deepEqual(await r.store.search(mb, body('bravo')), [2]);
        assert.deepEqual(r.indexSearchText(), { indexed: 3, forgotten: 0 });
        assert.deepEqual(await r.store.search(mb, body('bravo')), [2], 'found through the rebuilt index');
      } finally {
        await r.close();
      }
    } finally {
      fs.rmSync(own, { recursive: true, force: true });
    }
  });

  test('the background thread indexes after each commit and checkpoints the WAL, by itself', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-bg-'));
    const failures: Error[] = [];
    const r = openSqliteRepository(path.join(own, 'petrel.db'), {
      fsync: true,
      background: true,
      checkpointEveryMs: 0,
      onBackgroundFailure: (e) => failures.push(e),
    });
    try {
      const account = await r.directory.createAccount('bg', '{PLAIN}x');
      const mb = await r.store.createMailbox(account.id, 'INBOX');
      await Promise.all(Array.from({ length: 40 }, (_, i) => r.store.appendMessages(mb.id, [testMessage({ body: `concurrent ${i} kilimanjaro` }).item()])));
      await r.backgroundIdle();
      const check = new Database(path.join(own, 'petrel.db-search'), { readonly: true });
      try {
        assert.equal(check.prepare(`SELECT indexed_to FROM search_state`).pluck().get(), 40);
        assert.equal(check.prepare(`SELECT count(*) FROM blob_text_fts WHERE blob_text_fts MATCH ?`).pluck().get(ftsTrigramQuery(['body'], foldText('kilimanjaro'))), 40);
      } finally {
        check.close();
      }
      assert.equal((await r.store.search(mb.id, body('kilimanjaro'))).length, 40);
      // The database file alone (no WAL) holds the messages: the thread checkpointed them.
      fs.copyFileSync(path.join(own, 'petrel.db'), path.join(own, 'copy.db'));
      const copy = new Database(path.join(own, 'copy.db'), { readonly: true });
      try {
        assert.equal(copy.prepare(`SELECT count(*) FROM messages`).pluck().get(), 40);
      } finally {
        copy.close();
      }
      assert.deepEqual(r.indexSearchText(), { indexed: 0, forgotten: 0 }, 'nothing left for a second indexer');
      assert.deepEqual(failures, []);
    } finally {
      await r.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });

  test('the background thread catches up with another process\'s commits by itself (data_version poll)', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-poll-'));
    const file = path.join(own, 'petrel.db');
    const failures: Error[] = [];
    const server = openSqliteRepository(file, { fsync: false, background: true, onBackgroundFailure: (e) => failures.push(e) });
    const other = openSqliteRepository(file, { fsync: false });
    try {
      // The catch-up every server starts with is over before the other process commits.
      await server.backgroundIdle();
      const account = await other.directory.createAccount('poll', '{PLAIN}x');
      const mb = await other.store.createMailbox(account.id, 'INBOX');
      await other.store.appendMessages(mb.id, [testMessage({ body: 'delivered by another process' }).item()]);
      assert.equal(server.searchIndexLag().texts, 1, 'the server made no commit, so nothing told its thread');
      // Bounded wait for the poll (every second) and the gathered catch-up.
      const deadline = Date.now() + 20_000;
      while (server.searchIndexLag().texts > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(server.searchIndexLag().texts, 0);
      assert.deepEqual(await server.store.search(mb.id, body('another process')), [1]);
      assert.deepEqual(failures, []);
    } finally {
      await other.close();
      await server.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });

  test('an idle server checkpoints what its last catch-up left in the WAL', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-ckpt-'));
    const file = path.join(own, 'petrel.db');
    const r = openSqliteRepository(file, { fsync: false, background: true, checkpointEveryMs: 300 });
    try {
      const account = await r.directory.createAccount('ckpt', '{PLAIN}x');
      const mb = await r.store.createMailbox(account.id, 'INBOX');
      await r.store.appendMessages(mb.id, [testMessage({ body: 'first' }).item()]);
      await r.backgroundIdle();
      // Within checkpointEveryMs of the first catch-up's checkpoint: this one does not checkpoint.
      await r.store.appendMessages(mb.id, [testMessage({ body: 'second' }).item()]);
      await r.backgroundIdle();
      /** Messages in the database file alone (a copy without the WAL). */
      const inFile = (): number => {
        fs.copyFileSync(file, path.join(own, 'copy.db'));
        const copy = new Database(path.join(own, 'copy.db'), { readonly: true });
        try {
          return copy.prepare(`SELECT count(*) FROM messages`).pluck().get() as number;
        } finally {
          copy.close();
        }
      };
      // Bounded wait: no commit comes, the thread checkpoints by itself once it is due.
      const deadline = Date.now() + 20_000;
      while (inFile() < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      assert.equal(inFile(), 2);
    } finally {
      await r.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });

  test('property: the indexed statement answers as the scan statement', async () => {
    const account = await repo.directory.createAccount('prop', '{PLAIN}x');
    const mb = await repo.store.createMailbox(account.id, 'INBOX');
    const words = ['alpha', 'Beta', 'gamma', 'ÉTÉ', 'straße', '東京都', '100%', 'a_b', '"q"', 'x*y', 'back\\slash', 'ıi', 'İ'];
    const text = fc.array(fc.constantFrom(...words, ' ', ''), { minLength: 1, maxLength: 12 }).map((ws) => ws.join(''));
    const msgs = fc.sample(fc.record({ subject: text, body: text }), { numRuns: 60, seed: 7 });
    await repo.store.appendMessages(
      mb.id,
      msgs.map((m, i) => testMessage({ subject: m.subject.trim() || `n${i}`, body: m.body }).item()),
    );
    // Half of them indexed: the rest are found as unindexed rows.
    repo.indexSearchText();
    await repo.store.appendMessages(
      mb.id,
      msgs.map((m, i) => testMessage({ subject: m.body.trim() || `m${i}`, body: m.subject }).item()),
    );
    const term = fc.oneof(
      fc.constantFrom(...words),
      fc.tuple(fc.constantFrom(...words), fc.constantFrom(...words)).map(([a, b]) => a.slice(-2) + b.slice(0, 2)),
      fc.string({ unit: fc.constantFrom('a', 'l', 'p', 'h', 'E', 'é', 'ß', '%', '_', '"', '東', '京', ' ', '*'), minLength: 1, maxLength: 5 }),
    );
    const query: fc.Arbitrary<SearchQuery> = fc.letrec<{ q: SearchQuery }>((tie) => ({
      q: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        term.map((value) => ({ kind: 'body', value }) as const),
        term.map((value) => ({ kind: 'text', value }) as const),
        term.map((value) => ({ kind: 'header', field: 'subject', value }) as const),
        fc.constant({ kind: 'flag', flag: '\\Seen', present: false } as const),
        tie('q').map((query) => ({ kind: 'not', query }) as const),
        fc.tuple(tie('q'), tie('q')).map(([left, right]) => ({ kind: 'or', left, right }) as const),
        fc.array(tie('q'), { maxLength: 3 }).map((queries) => ({ kind: 'and', queries }) as const),
      ),
    })).q;
    let hits = 0;
    const plans = fc.array(fc.constantFrom<TextPlan>('scan', 'index', 'drive'), { minLength: 8, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(query, plans, async (q, mixed) => {
        const expected = run(q, mb.id, { scan: true });
        hits += expected.length;
        assert.deepEqual(await repo.store.search(mb.id, q), expected, 'the store');
        assert.deepEqual(run(q, mb.id, {}), expected, 'every term through the index');
        assert.deepEqual(run(q, mb.id, driving(q)), expected, 'driven by a required term');
        let i = 0;
        assert.deepEqual(run(q, mb.id, { textPlan: () => mixed[i++ % mixed.length]! }), expected, 'mixed plans');
      }),
      { numRuns: 300, seed: 11 },
    );
    assert.ok(hits > 0, 'the random queries found something');
  });
});

describe('PostgreSQL pg_trgm search index', () => {
  let pg: PostgresInstance;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg.stop());

  test('the plan uses the GIN trigram indexes for a rare 3+ character term, not for shorter ones', async () => {
    const url = await pg.createDatabase();
    const repo = await openPostgresRepository(url, { max: 2 });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const account = await repo.directory.createAccount('plan', '{PLAIN}x');
      const mb = await repo.store.createMailbox(account.id, 'INBOX');
      // Enough varied rows that scanning costs more than the index.
      const words = Array.from({ length: 400 }, (_, i) => `w${(i * 7919) % 1000}x${i % 13}`);
      const items = Array.from({ length: 3000 }, (_, n) => {
        const text = Array.from({ length: 60 }, (_, k) => words[(n * 31 + k * k * 17) % words.length]).join(' ');
        return testMessage({ subject: `subject ${n} ${words[n % words.length]}`, body: n === 1234 ? `${text} zanzibar` : text }).item();
      });
      await repo.store.appendMessages(mb.id, items);
      await sql`VACUUM ANALYZE`; // also moves the GIN pending lists into the indexes
      // At this size a sequential scan of blob_text costs about as much as the
      // index (the bench shows the choice at 100,000 messages): forbid it, so
      // that the plan shows whether the index can answer the predicate.
      const explain = (q: SearchQuery) =>
        sql.begin(async (tx) => {
          await tx`SET LOCAL enable_seqscan = off`;
          const { sql: text, params } = searchStatement(q, postgresSearchDialect, mb.id);
          const rows = await tx.unsafe<Array<{ 'QUERY PLAN': string }>>(`EXPLAIN ${text}`, params);
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        });
      assert.match(await explain(body('zanzibar')), /Bitmap Index Scan on blob_text_words_trgm/);
      assert.match(await explain({ kind: 'header', field: 'subject', value: 'zanzibar' }), /Bitmap Index Scan on blob_text_header_trgm/);
      const either = await explain({ kind: 'text', value: 'zanzibar' });
      assert.match(either, /Bitmap Index Scan on blob_text_header_trgm/);
      assert.match(either, /Bitmap Index Scan on blob_text_words_trgm/);
      assert.doesNotMatch(await explain(body('za')), /trgm/);
      assert.deepEqual(await repo.store.search(mb.id, body('ZANZIBAR')), [1235]);
      assert.deepEqual(await repo.store.search(mb.id, body('zanzi_ar')), []);
      assert.deepEqual(await repo.store.search(mb.id, body('zanz%bar')), []);
    } finally {
      await sql.end({ timeout: 5 });
      await repo.close();
    }
  });

  test('a role that may not create pg_trgm gets a clear error; once a superuser created it, migration succeeds', async () => {
    const url = await pg.createDatabase();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const role = `petrel_limited_${process.pid}`;
    try {
      await admin.unsafe(`CREATE ROLE ${role} LOGIN`);
      await admin.unsafe(`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`);
      const limited = new URL(url);
      limited.username = role;
      await assert.rejects(openPostgresRepository(limited.toString(), { max: 1 }), (err: Error) => {
        assert.match(err.message, /pg_trgm/);
        assert.match(err.message, /CREATE EXTENSION pg_trgm/);
        assert.match(err.message, /permission denied/);
        return true;
      });
      await admin`CREATE EXTENSION pg_trgm`;
      const repo = await openPostgresRepository(limited.toString(), { max: 1 });
      try {
        const account = await repo.directory.createAccount('limited', '{PLAIN}x');
        const mb = await repo.store.createMailbox(account.id, 'INBOX');
        await repo.store.appendMessages(mb.id, [testMessage({ body: 'indexed by a plain role' }).item()]);
        assert.deepEqual(await repo.store.search(mb.id, body('PLAIN ROLE')), [1]);
      } finally {
        await repo.close();
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  });
});
