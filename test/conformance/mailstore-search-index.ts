// SEARCH substring semantics part of the MailStore conformance suite: the
// cases a text index can get wrong (term lengths around a trigram, case,
// non-ASCII, transfer encodings, LIKE/FTS metacharacters, column boundaries,
// NOT/OR), and a property test comparing the store with the plain scan's
// semantics evaluated in JS on the same folded text.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { foldText, headerSearchText, headerTextHas, searchFieldName } from '../../src/mail/search.js';
import type { SearchQuery } from '../../src/mail/types.js';
import { testMessage, type TestMessage } from './fixtures.js';
import type { Ctx } from './mailstore-suite.js';

/** A message with its own header block and raw (already encoded) body. */
function mimeMessage(headers: string[], body: string): TestMessage {
  return testMessage(Buffer.from(['MIME-Version: 1.0', ...headers, '', body, ''].join('\r\n'), 'utf8'));
}

/** The plain scan's semantics in JS, on the text the store keeps for `m` (text, flag and uid keys). */
export function scanMatches(m: TestMessage, q: SearchQuery, meta = { uid: 0, flags: [] as string[] }): boolean {
  const index = m.item().index;
  const header = headerSearchText(index.headers);
  const body = foldText(index.bodyText);
  const walk = (x: SearchQuery): boolean => {
    switch (x.kind) {
      case 'all':
        return true;
      case 'body':
        return body.includes(foldText(x.value));
      case 'text':
        return header.includes(foldText(x.value)) || body.includes(foldText(x.value));
      case 'header':
        return headerTextHas(header, searchFieldName(x.field), foldText(x.value));
      case 'flag':
        return meta.flags.some((f) => f.toLowerCase() === x.flag.toLowerCase()) === x.present;
      case 'uid':
        return x.set.some((r) => meta.uid >= r.start && meta.uid <= r.end);
      case 'not':
        return !walk(x.query);
      case 'or':
        return walk(x.left) || walk(x.right);
      case 'and':
        return x.queries.every(walk);
      default:
        throw new Error(`scanMatches: ${x.kind} not modelled`);
    }
  };
  return walk(q);
}

export type Search = (q: SearchQuery) => Promise<number[]>;

/**
 * A test on a new mailbox holding `appended` (UIDs 1, 2, ...): `fn` searches
 * it, and every answer is also checked against the scan semantics.
 */
export function searchTest(
  withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>,
  name: string,
  appended: ReadonlyArray<{ m: TestMessage; flags?: string[] }>,
  fn: (search: Search) => Promise<void>,
): void {
  test(name, () =>
    withCtx(async (c) => {
      const mb = await c.store.createMailbox(c.accountId, 'substrings');
      await c.append(mb, [...appended]);
      await fn(async (q) => {
        const got = await c.store.search(mb.id, q);
        const scan = appended.flatMap(({ m, flags }, i) => (scanMatches(m, q, { uid: i + 1, flags: flags ?? [] }) ? [i + 1] : []));
        assert.deepEqual(got, scan, `store and scan semantics disagree on ${JSON.stringify(q)}`);
        return got;
      });
    }),
  );
}

export function mailStoreSearchIndexConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>): void {
  const plain = mimeMessage(
    ['From: Alice Smith <alice@example.org>', 'Subject: Quarterly numbers', 'Content-Type: text/plain; charset=utf-8'],
    'xaby abyz. The Quick brown fox; 100% sure_thing "quoted" it\'s a\\b star*s and 50%_off. endofbody',
  );
  const qp = mimeMessage(
    [
      'From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>',
      'Subject: =?utf-8?b?R3LDvMOfZSBhdXMgWsO8cmljaA==?=', // "Grüße aus Zürich"
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
    ],
    'Sch=C3=B6ne Gr=C3=BC=C3=9Fe von der Stra=C3=9Fe, caf=C3=A9 au lait, sur=\r\nexthing 100x sure',
  );
  const b64 = mimeMessage(
    ['From: Ayşe <ayse@example.com.tr>', 'Subject: Toplantı', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: base64'],
    Buffer.from('İstanbul ışık, 東京の会議は明日です。 QUICKSILVER', 'utf8').toString('base64'),
  );
  const latin1 = mimeMessage(
    [
      'From: Zoe <zoe@example.net>',
      'Subject: lastword',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      'X-Tag: startbody', // last: its text ends where the body's begins
    ],
    'firstword na=EFve r=E9sum=E9',
  );

  const appended = [{ m: plain, flags: ['\\Seen'] }, { m: qp }, { m: b64, flags: ['\\Seen'] }, { m: latin1 }];
  const run = (name: string, fn: (search: Search) => Promise<void>) => searchTest(withCtx, name, appended, fn);
  const body = (value: string): SearchQuery => ({ kind: 'body', value });
  const text = (value: string): SearchQuery => ({ kind: 'text', value });
  const header = (field: string, value: string): SearchQuery => ({ kind: 'header', field, value });

  describe('search: substrings (indexed from 3 characters)', () => {
    run('terms of 1, 2, 3 and many characters; case', async (search) => {
      assert.deepEqual(await search(body('q')), [1, 3]);
      assert.deepEqual(await search(body('qu')), [1, 3]);
      assert.deepEqual(await search(body('qui')), [1, 3]);
      assert.deepEqual(await search(body('quick brown fox')), [1]);
      assert.deepEqual(await search(body('QUICK BROWN')), [1]);
      assert.deepEqual(await search(body('qUiCkSiLvEr')), [3]);
      assert.deepEqual(await search(body('xabyz')), [], 'every trigram is there, the substring is not');
      assert.deepEqual(await search(body('fox; 100% sure_thing "quoted" it\'s a\\b star*s and 50%_off. endofbody')), [1]);
      assert.deepEqual(await search(body('fox; 100% sure_thing "quoted" it\'s a\\b star*s and 50%_off. endofbodyX')), []);
    });

    run('non-ASCII after decoding transfer encodings and charsets', async (search) => {
      assert.deepEqual(await search(body('GRÜßE')), [2]);
      assert.deepEqual(await search(body('straße')), [2]);
      assert.deepEqual(await search(body('strasse')), [], 'no expansion of ß (i;unicode-casemap folds simply)');
      assert.deepEqual(await search(body('CAFÉ')), [2]);
      assert.deepEqual(await search(body('ışık')), [3]);
      assert.deepEqual(await search(body('İSTANBUL')), [3]);
      assert.deepEqual(await search(body('東京')), [3]);
      assert.deepEqual(await search(body('東京の会議')), [3]);
      assert.deepEqual(await search(body('会議が')), []);
      assert.deepEqual(await search(body('NAÏVE RÉSUMÉ')), [4], 'ISO-8859-1 body');
      assert.deepEqual(await search(body('surexthing')), [2], 'QP soft line break joined');
    });

    run('encoded-word headers', async (search) => {
      assert.deepEqual(await search(header('from', 'MÜLLER')), [2]);
      assert.deepEqual(await search(header('from', 'jürgen m')), [2]);
      assert.deepEqual(await search(header('subject', 'grüße aus zürich')), [2]);
      assert.deepEqual(await search(header('subject', 'TOPLANTI')), [3], 'ı titlecases to I (RFC 5051)');
      assert.deepEqual(await search(header('subject', 'toplantı')), [3]);
      assert.deepEqual(await search(text('ZÜRICH')), [2]);
      assert.deepEqual(await search(header('x-tag', '')), [4]);
      assert.deepEqual(await search(header('x-tag', 'star')), [4]);
      assert.deepEqual(await search(header('subject', 'star')), []);
    });

    run('LIKE, GLOB and FTS5 metacharacters are literal: % _ " \' \\ *', async (search) => {
      assert.deepEqual(await search(body('%')), [1]);
      assert.deepEqual(await search(body('100%')), [1]);
      assert.deepEqual(await search(body('100% s')), [1]);
      assert.deepEqual(await search(body('sure_thing')), [1], 'the _ is not a wildcard (sur=exthing is in 2)');
      assert.deepEqual(await search(body('sure%thing')), []);
      assert.deepEqual(await search(body('100_')), [], '100x in 2 is not 100_');
      assert.deepEqual(await search(body('_')), [1]);
      assert.deepEqual(await search(body('%_off')), [1]);
      assert.deepEqual(await search(body('"quoted"')), [1]);
      assert.deepEqual(await search(body('"quo')), [1]);
      assert.deepEqual(await search(body('"')), [1]);
      assert.deepEqual(await search(body("it's")), [1]);
      assert.deepEqual(await search(body('a\\b')), [1]);
      assert.deepEqual(await search(body('\\b ')), [1]);
      assert.deepEqual(await search(body('star*s')), [1]);
      assert.deepEqual(await search(body('star*')), [1]);
      assert.deepEqual(await search(body('sta*s')), [], 'the * is not a wildcard');
      assert.deepEqual(await search(body('*')), [1]);
      assert.deepEqual(await search(body('AND')), [1], 'an FTS5 keyword is just text');
      assert.deepEqual(await search(body('NEAR(')), []);
      assert.deepEqual(await search(body('{body_text} : x')), []);
    });

    run('a term never spans the header/body boundary', async (search) => {
      assert.deepEqual(await search(text('startbody')), [4]);
      assert.deepEqual(await search(text('firstword')), [4]);
      assert.deepEqual(await search(text('startbody\nfirstword')), []);
      assert.deepEqual(await search(text('startbodyfirstword')), []);
      assert.deepEqual(await search(text('bodyfirst')), []);
      assert.deepEqual(await search(text('body\nfir')), []);
      assert.deepEqual(await search(body('tag:start')), [], 'header text is not body text');
      assert.deepEqual(await search(text('tag:start')), [4]);
    });

    run('NOT, OR and AND with indexed and short terms and other keys', async (search) => {
      assert.deepEqual(await search({ kind: 'not', query: body('quick') }), [2, 4]);
      assert.deepEqual(await search({ kind: 'not', query: body('qu') }), [2, 4]);
      assert.deepEqual(await search({ kind: 'or', left: body('fox'), right: header('from', 'müller') }), [1, 2]);
      assert.deepEqual(await search({ kind: 'or', left: body('東'), right: { kind: 'not', query: text('e') } }), [3]);
      assert.deepEqual(
        await search({ kind: 'and', queries: [body('quick'), { kind: 'not', query: { kind: 'flag', flag: '\\Seen', present: true } }] }),
        [],
      );
      assert.deepEqual(
        await search({ kind: 'and', queries: [text('sure'), { kind: 'flag', flag: '\\Seen', present: false }] }),
        [2],
      );
      assert.deepEqual(
        await search({ kind: 'and', queries: [body('quick'), { kind: 'uid', set: [{ start: 3, end: 3 }] }] }),
        [3],
      );
      assert.deepEqual(
        await search({ kind: 'not', query: { kind: 'or', left: text('zürich'), right: text('istanbul') } }),
        [1, 3, 4],
        '"istanbul" is not a substring of "İstanbul" (İ folds to I + U+0307)',
      );
    });

    // PostgreSQL looks a term up by its whitespace-free chunks in the body's
    // distinct words (search-sql.ts bodyWordPatterns); the exact test decides.
    searchTest(
      withCtx,
      'phrases over words: chunks at word starts and ends, repeated and reordered words, tabs',
      [
        { m: mimeMessage(['Subject: first', 'Content-Type: text/plain; charset=utf-8'], 'alpha beta gamma\tdelta epsilon alpha beta') },
        { m: mimeMessage(['Subject: second', 'Content-Type: text/plain; charset=utf-8'], 'beta alpha gamma-delta zeta') },
      ],
      async (search) => {
        assert.deepEqual(await search(body('alpha beta')), [1]);
        assert.deepEqual(await search(body('beta alpha')), [2], 'the same words in the other order');
        assert.deepEqual(await search(body('alpha beta gamma')), [1]);
        assert.deepEqual(await search(body('ha bet')), [1], 'the end of one word, the start of the next');
        assert.deepEqual(await search(body('lpha be')), [1]);
        assert.deepEqual(await search(body('a gam')), [1, 2]);
        assert.deepEqual(await search(body('gamma delta')), [], 'a tab is not a space');
        assert.deepEqual(await search(body('gamma\tdelta')), [1]);
        assert.deepEqual(await search(body('mma\tdel')), [1]);
        assert.deepEqual(await search(body('gamma-delta')), [2]);
        assert.deepEqual(await search(body(' zeta')), [2]);
        assert.deepEqual(await search(body('eta zeta')), []);
        assert.deepEqual(await search(body('a b c')), [], 'short chunks');
        assert.deepEqual(await search(body('a  c')), [], 'only unbounded short chunks: no index');
        assert.deepEqual(await search(body('ta z')), [2], 'short chunks at word edges');
        assert.deepEqual(await search(body('a b')), [1]);
        assert.deepEqual(await search(text('a zeta')), [2]);
      },
    );

    test('property: the store answers as the plain scan on random texts and terms', () =>
      withCtx(async (c) => {
        // A small alphabet, so random terms often occur: letters in both cases,
        // separators and a no-break space (not one), non-ASCII with case and
        // folding quirks, and the metacharacters.
        const alphabet = ['a', 'b', 'c', 'A', 'B', ' ', ' ', '\t', '\u00a0', 'é', 'É', 'ß', 'ı', 'İ', '東', '%', '_', '"', "'", '\\', '*', '.'];
        const str = (min: number, max: number) =>
          fc.array(fc.constantFrom(...alphabet), { minLength: min, maxLength: max }).map((cs) => cs.join(''));
        const texts = fc.array(fc.record({ subject: str(0, 12), body: str(0, 40) }), { minLength: 1, maxLength: 6 });
        // Terms: random, or cut out of a message (then often present, in another case after folding).
        const term = fc.oneof(
          str(1, 5),
          fc.record({ i: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 8 }), field: fc.constantFrom('subject', 'body') }),
        );
        const leaf = fc.record({ kind: fc.constantFrom('body', 'text', 'subject'), term });
        let round = 0;
        await fc.assert(
          fc.asyncProperty(texts, fc.array(leaf, { minLength: 1, maxLength: 6 }), fc.boolean(), async (msgs, leaves, negate) => {
            round++;
            const messages = msgs.map(({ subject, body: b }, i) =>
              testMessage({ subject: subject.trim() === '' ? `s${i}` : subject, body: b, date: `Mon, 7 Feb 1994 21:52:${String(round % 60).padStart(2, '0')} -0800` }),
            );
            const mb = await c.store.createMailbox(c.accountId, `prop${round}`);
            await c.append(mb, messages.map((m) => ({ m })));
            for (const l of leaves) {
              let value: string;
              if (typeof l.term === 'string') value = l.term;
              else {
                const source = msgs[l.term.i % msgs.length]!;
                const chars = [...(l.term.field === 'subject' ? source.subject : source.body)];
                const from = chars.length === 0 ? 0 : l.term.from % chars.length;
                value = chars.slice(from, from + l.term.len).join('');
                if (value === '') value = 'a';
              }
              let q: SearchQuery =
                l.kind === 'subject' ? { kind: 'header', field: 'subject', value } : { kind: l.kind, value };
              if (negate) q = { kind: 'not', query: q };
              const expected = messages.flatMap((m, i) => (scanMatches(m, q) ? [i + 1] : []));
              assert.deepEqual(await c.store.search(mb.id, q), expected, JSON.stringify(q));
            }
          }),
          { numRuns: 40, seed: 20260322 },
        );
      }));
  });
}
