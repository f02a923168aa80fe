// SEARCH part of the MailStore conformance suite: every SearchQuery key.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SearchQuery } from '../../src/mail/types.js';
import { testMessage } from './fixtures.js';
import type { Ctx } from './mailstore-suite.js';

/** Local noon of a day: its server-zone day is that day whatever the zone. */
const localNoon = (y: number, m: number, d: number) => new Date(y, m - 1, d, 12, 0, 0);

export function mailStoreSearchConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>): void {
  const m1 = testMessage({
    from: 'Alice Smith <alice@example.org>',
    subject: 'Quarterly Report',
    date: 'Mon, 7 Feb 1994 21:52:25 -0800', // own zone: Feb 7 (UTC: Feb 8)
    body: 'The numbers are GOOD.',
  });
  const m2 = testMessage({
    from: 'Bob <bob@example.net>',
    cc: 'Carol <carol@example.com>',
    subject: 'Ünïcode Größe',
    date: 'Tue, 8 Feb 1994 00:30:00 +0100', // own zone: Feb 8 (UTC: Feb 7)
    body: 'lorem ipsum dolor sit amet '.repeat(40),
    extraHeaders: ['X-Priority: 1 (Highest)'],
  });
  const m3 = testMessage({
    subject: '=?utf-8?q?caf=C3=A9_menu?=',
    date: '',
    body: 'nothing to see',
  });

  const run = (name: string, fn: (search: (q: SearchQuery) => Promise<number[]>, c: Ctx) => Promise<void>) =>
    test(name, () =>
      withCtx(async (c) => {
        const mb = await c.store.createMailbox(c.accountId, 'search');
        await c.append(mb, [
          { m: m1, flags: ['\\Seen'], date: localNoon(2024, 3, 10) },
          { m: m2, flags: ['\\Flagged', '$Work'], date: localNoon(2024, 3, 11) },
          { m: m3, date: localNoon(2024, 3, 12) },
        ]);
        await fn((q) => c.store.search(mb.id, q), c);
      }),
    );

  describe('search', () => {
    run('all, uid sets (short and long)', async (search) => {
      assert.deepEqual(await search({ kind: 'all' }), [1, 2, 3]);
      assert.deepEqual(await search({ kind: 'uid', set: [{ start: 2, end: Infinity }] }), [2, 3]);
      assert.deepEqual(await search({ kind: 'uid', set: [] }), []);
      const long = Array.from({ length: 100 }, (_, i) => ({ start: 1 + 2 * i, end: 1 + 2 * i }));
      assert.deepEqual(await search({ kind: 'uid', set: long }), [1, 3]);
    });

    run('flags and keywords', async (search) => {
      assert.deepEqual(await search({ kind: 'flag', flag: '\\Seen', present: true }), [1]);
      assert.deepEqual(await search({ kind: 'flag', flag: '\\seen', present: false }), [2, 3]);
      assert.deepEqual(await search({ kind: 'flag', flag: '$work', present: true }), [2]);
      assert.deepEqual(await search({ kind: 'flag', flag: '$Work', present: false }), [1, 3]);
      assert.deepEqual(await search({ kind: 'flag', flag: '\\Draft', present: true }), []);
    });

    run('header fields, FROM/CC/SUBJECT on decoded text, HEADER with empty value', async (search) => {
      const h = (field: string, value: string) => search({ kind: 'header', field, value });
      assert.deepEqual(await h('subject', 'report'), [1]);
      assert.deepEqual(await h('FROM', 'SMITH'), [1]);
      assert.deepEqual(await h('from', 'ALICE'), [1, 3]);
      assert.deepEqual(await h('from', 'example.net'), [2]);
      assert.deepEqual(await h('cc', ''), [2]);
      assert.deepEqual(await h('X-Priority', ''), [2]);
      assert.deepEqual(await h('x-priority', 'highest'), [2]);
      assert.deepEqual(await h('subject', 'GRÖSSE'.replace('SS', 'ß')), [2]);
      assert.deepEqual(await h('subject', 'CAFÉ'), [3]);
      assert.deepEqual(await h('subject', 'menu'), [3]);
      assert.deepEqual(await h('to', 'bob'), [1, 2, 3]);
      assert.deepEqual(await h('bcc', ''), []);
      assert.deepEqual(await h('subject', 'alice'), [], 'the value of another field does not match');
    });

    run('body and text', async (search) => {
      assert.deepEqual(await search({ kind: 'body', value: 'good' }), [1]);
      assert.deepEqual(await search({ kind: 'body', value: 'report' }), []);
      assert.deepEqual(await search({ kind: 'text', value: 'REPORT' }), [1]);
      assert.deepEqual(await search({ kind: 'text', value: 'to see' }), [3]);
      assert.deepEqual(await search({ kind: 'body', value: 'IPSUM DOLOR' }), [2]);
    });

    run('sent dates use the Date: header day in its own zone; no Date: header matches none', async (search) => {
      const d = (op: 'before' | 'on' | 'since', day: string) => search({ kind: 'date', field: 'sent', op, day });
      assert.deepEqual(await d('on', '1994-02-07'), [1]);
      assert.deepEqual(await d('on', '1994-02-08'), [2]);
      assert.deepEqual(await d('before', '1994-02-08'), [1]);
      assert.deepEqual(await d('since', '1994-02-08'), [2]);
      assert.deepEqual(await search({ kind: 'not', query: { kind: 'date', field: 'sent', op: 'before', day: '1994-02-08' } }), [2, 3]);
    });

    run('internal and save dates use the server zone day', async (search) => {
      const d = (op: 'before' | 'on' | 'since', day: string) => search({ kind: 'date', field: 'internal', op, day });
      assert.deepEqual(await d('on', '2024-03-11'), [2]);
      assert.deepEqual(await d('before', '2024-03-11'), [1]);
      assert.deepEqual(await d('since', '2024-03-11'), [2, 3]);
      const today = new Date();
      const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
      assert.deepEqual(await search({ kind: 'date', field: 'save', op: 'since', day }), [1, 2, 3]);
      assert.deepEqual(await search({ kind: 'date', field: 'save', op: 'before', day: '2000-01-01' }), []);
    });

    run('size, modseq, age', async (search, c) => {
      const sizes = [m1, m2, m3].map((m) => m.raw.length);
      assert.deepEqual(await search({ kind: 'size', op: 'larger', octets: 1000 }), [2]);
      assert.deepEqual(await search({ kind: 'size', op: 'smaller', octets: sizes[2]! }), sizes[0]! < sizes[2]! ? [1] : []);
      assert.deepEqual(await search({ kind: 'size', op: 'larger', octets: sizes[2]! - 1 }), sizes[0]! >= sizes[2]! ? [1, 2, 3] : [2, 3]);
      const mb = (await c.store.getMailbox(c.accountId, 'search'))!;
      const r = await c.store.storeFlags(mb.id, [{ start: 3, end: 3 }], 'add', ['\\Answered']);
      assert.deepEqual(await search({ kind: 'modseq', op: 'ge', modseq: r.highestModseq }), [3]);
      assert.deepEqual(await search({ kind: 'modseq', op: 'ge', modseq: 0 }), [1, 2, 3]);
      assert.deepEqual(await search({ kind: 'age', op: 'older', seconds: 3600 }), [1, 2, 3]);
      assert.deepEqual(await search({ kind: 'age', op: 'younger', seconds: 3600 }), []);
    });

    run('blob (EMAILID): the messages of this mailbox with that content, live only', async (search, c) => {
      const blob = (m: { blobId: string }): SearchQuery => ({ kind: 'blob', blobId: m.blobId });
      assert.deepEqual(await search(blob(m2)), [2]);
      assert.deepEqual(await search({ kind: 'blob', blobId: 'f'.repeat(64) }), []);
      assert.deepEqual(await search({ kind: 'not', query: blob(m2) }), [1, 3]);
      assert.deepEqual(await search({ kind: 'or', left: blob(m1), right: blob(m3) }), [1, 3]);
      const mb = (await c.store.getMailbox(c.accountId, 'search'))!;
      // The same content appended again, and copied here from another mailbox: they share the id.
      assert.deepEqual(await c.append(mb, [{ m: m2 }]), [4]);
      const other = await c.store.createMailbox(c.accountId, 'search-other');
      await c.append(other, [{ m: m1 }]);
      await c.store.copyMessages(other.id, [{ start: 1, end: 1 }], mb.id);
      assert.deepEqual(await search(blob(m2)), [2, 4]);
      assert.deepEqual(await search(blob(m1)), [1, 5]);
      assert.deepEqual(await c.store.search(other.id, blob(m2)), [], 'another mailbox holding none');
      await c.store.storeFlags(mb.id, [{ start: 2, end: 2 }], 'add', ['\\Deleted']);
      await c.store.expunge(mb.id);
      assert.deepEqual(await search(blob(m2)), [4]);
    });

    run('not, or, and; expunged messages never match', async (search, c) => {
      assert.deepEqual(await search({ kind: 'not', query: { kind: 'flag', flag: '\\Seen', present: true } }), [2, 3]);
      assert.deepEqual(
        await search({
          kind: 'or',
          left: { kind: 'header', field: 'subject', value: 'report' },
          right: { kind: 'body', value: 'nothing' },
        }),
        [1, 3],
      );
      assert.deepEqual(
        await search({
          kind: 'and',
          queries: [
            { kind: 'flag', flag: '\\Seen', present: false },
            { kind: 'not', query: { kind: 'uid', set: [{ start: 3, end: 3 }] } },
          ],
        }),
        [2],
      );
      assert.deepEqual(await search({ kind: 'and', queries: [] }), [1, 2, 3]);
      const mb = (await c.store.getMailbox(c.accountId, 'search'))!;
      await c.store.storeFlags(mb.id, [{ start: 1, end: 1 }], 'add', ['\\Deleted']);
      await c.store.expunge(mb.id);
      assert.deepEqual(await search({ kind: 'all' }), [2, 3]);
      assert.deepEqual(await search({ kind: 'body', value: 'good' }), []);
    });
  });
}
