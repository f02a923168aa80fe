// The body's SEARCH index is on its distinct words (blob_text.body_words,
// search-sql.ts bodyWords). Petrel writes them with each text; the
// migration's SQL function makes them for the rows already there and, by a
// trigger, for a row inserted without them (an older Petrel during an
// upgrade). Both must give the same words, or a term could miss a body.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import postgres from 'postgres';
import { BODY_WORD_SEPARATORS, bodyWords, bodyWordPatterns } from '../../../src/store/shared/search-sql.js';
import { connectPostgres, migrate, pgTransaction } from '../../../src/store/postgres/pg.js';
import { MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS } from '../../../src/store/postgres/schema.js';
import { fillBodyWords } from '../../../src/store/postgres/body-words.js';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres();
after(() => pg.stop());

/** The words of a body_words value, sorted, after checking its form (" w1 w2 ", or " "). */
function wordsOf(value: string): string[] {
  assert.match(value, /^ (?:[^ ]+ )*$/, `form of ${JSON.stringify(value)}`);
  return value.split(' ').filter((w) => w !== '').sort();
}

test('bodyWords: the distinct separator-free runs, each once, between single spaces', () => {
  assert.equal(bodyWords(''), ' ');
  assert.equal(bodyWords(' \t\r\n\f\v '), ' ');
  assert.equal(bodyWords('b a b\ta\r\nc'), ' b a c ');
  assert.equal(bodyWords('x\u00a0y  x'), ' x\u00a0y x ', 'a no-break space is no separator');
});

test('bodyWords and bodyWordPatterns split on exactly BODY_WORD_SEPARATORS, of all 65,536 UTF-16 code units', () => {
  for (let code = 0; code < 0x10000; code++) {
    const c = String.fromCharCode(code);
    const separator = BODY_WORD_SEPARATORS.includes(c);
    assert.equal(bodyWords(`abc${c}def`) === ' abc def ', separator, `bodyWords, U+${code.toString(16)}`);
    assert.equal(bodyWordPatterns(`abc${c}def`).length === 2, separator, `bodyWordPatterns, U+${code.toString(16)}`);
  }
});

test('bodyWordPatterns: each chunk that gives a trigram (3+ characters, counting a word edge where a separator was)', () => {
  assert.deepEqual(bodyWordPatterns('quick'), ['%quick%']);
  assert.deepEqual(bodyWordPatterns('ck brown fo'), ['%ck %', '% brown %', '% fo%']);
  assert.deepEqual(bodyWordPatterns('k brown f'), ['% brown %']);
  assert.deepEqual(bodyWordPatterns(' lead\ttrail '), ['% lead %', '% trail %']);
  assert.deepEqual(bodyWordPatterns('to be'), ['%to %', '% be%']);
  assert.deepEqual(bodyWordPatterns('a b c'), ['% b %']);
  assert.deepEqual(bodyWordPatterns('a  c'), []);
  assert.deepEqual(bodyWordPatterns('50%_off'), ['%50\\%\\_off%']);
});

test('the SQL function gives the words bodyWords gives; the trigger fills a row inserted without them', async () => {
  const url = await pg.createDatabase();
  const sql = connectPostgres(url, { max: 1 });
  try {
    await migrate(sql, MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS);
    const sqlWords = async (text: string) => {
      const [row] = await sql<Array<{ w: string }>>`SELECT petrel_body_words(${text}) AS w`;
      return row!.w;
    };
    const fixed = ['', ' ', 'a', 'a a', ' a  b\tc\r\nd\fe\vf a ', 'x\u00a0y z', '東京の 会議 東京の', 'é É ß ı İ', '%_\\ * "'];
    for (const text of fixed) assert.deepEqual(wordsOf(await sqlWords(text)), wordsOf(bodyWords(text)), JSON.stringify(text));
    const alphabet = ['a', 'b', 'é', ' ', ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '\u2003', '東', '%', '\\'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), async (chars) => {
        const text = chars.join('');
        assert.deepEqual(wordsOf(await sqlWords(text)), wordsOf(bodyWords(text)), JSON.stringify(text));
      }),
      { numRuns: 200, seed: 20261123 },
    );

    await sql`INSERT INTO blobs (blob_id, size, idx) VALUES ('old-writer', 1, '{}')`;
    await sql`INSERT INTO blob_text (blob_id, header_text, body_text) VALUES ('old-writer', '', ${'one two\tone'})`;
    const [row] = await sql<Array<{ body_words: string }>>`SELECT body_words FROM blob_text WHERE blob_id = 'old-writer'`;
    assert.deepEqual(wordsOf(row!.body_words), ['one', 'two']);
  } finally {
    await sql.end({ timeout: 5 });
  }
});

test('the migration gives the rows already there their words, in batches, and swaps the index', async () => {
  const url = await pg.createDatabase();
  const sql = connectPostgres(url, { max: 1 });
  const check = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(sql, MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS.slice(0, -1));
    const bodies = Array.from({ length: 7 }, (_, i) => `row ${i} shared\twords row ${i}\r\nend`);
    for (const [i, body] of bodies.entries()) {
      await sql`INSERT INTO blobs (blob_id, size, idx) VALUES (${`b${i}`}, 1, '{}')`;
      await sql`INSERT INTO blob_text (blob_id, header_text, body_text) VALUES (${`b${i}`}, '', ${body})`;
    }
    await migrate(sql, MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS);
    const rows = await check<Array<{ blob_id: string; body_words: string }>>`SELECT blob_id, body_words FROM blob_text ORDER BY blob_id`;
    assert.deepEqual(
      rows.map((r) => [r.blob_id, wordsOf(r.body_words)]),
      bodies.map((b, i) => [`b${i}`, wordsOf(bodyWords(b))]),
    );
    const indexes = await check<Array<{ indexname: string }>>`SELECT indexname FROM pg_indexes WHERE tablename = 'blob_text' ORDER BY indexname`;
    assert.deepEqual(
      indexes.map((r) => r.indexname),
      ['blob_text_header_trgm', 'blob_text_pkey', 'blob_text_words_trgm'],
    );
    await assert.rejects(check`UPDATE blob_text SET body_words = NULL WHERE blob_id = 'b0'`, /blob_text_body_words_set/, 'no NULL once filled');

    // One row per batch walks every row, and the step can run again.
    await check`ALTER TABLE blob_text DROP CONSTRAINT blob_text_body_words_set`;
    await check`UPDATE blob_text SET body_words = NULL`;
    await pgTransaction(sql, (tx) => fillBodyWords(tx, 1));
    const again = await check<Array<{ body_words: string }>>`SELECT body_words FROM blob_text ORDER BY blob_id`;
    assert.deepEqual(
      again.map((r) => wordsOf(r.body_words)),
      bodies.map((b) => wordsOf(bodyWords(b))),
    );
  } finally {
    await check.end({ timeout: 5 });
    await sql.end({ timeout: 5 });
  }
});
