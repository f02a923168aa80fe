// The SQLite flag listing read in chunks of UIDs (src/store/sqlite/messages.ts
// listFlags): whatever the chunk size, over expunged stretches, a jump of
// UIDs, keywords and any uid range, it lists exactly the live messages with
// what fetchMessages says of them; the arrays have exactly one entry per
// message, also when the mailbox's message counter (which only sizes them)
// is wrong. And the builder the chunks are added to (shared/flag-listing.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { FlagListing, MailStore } from '../../../src/mail/ports.js';
import { FlagListingBuilder, listingFromPacked } from '../../../src/store/shared/flag-listing.js';
import { SqlDb } from '../../../src/store/sqlite/db.js';
import { openSqliteRepository, type SqliteRepository } from '../../../src/store/sqlite/index.js';
import { listFlags } from '../../../src/store/sqlite/messages.js';
import { testMessage } from '../../conformance/fixtures.js';

type Row = { uid: number; modseq: number; flags: string[] };

/** The listing as rows (flags sorted); also checks the three columns have one entry per message. */
function rows(l: FlagListing): Row[] {
  assert.equal(l.modseqs.length, l.uids.length);
  assert.equal(l.flagSet.length, l.uids.length);
  return Array.from(l.uids, (uid, i) => ({ uid, modseq: l.modseqs[i]!, flags: [...l.flagSets[l.flagSet[i]!]!].sort() }));
}

/** What fetchMessages says of the live messages in [start, end]. */
async function expected(store: MailStore, mailboxId: number, start: number, end: number): Promise<Row[]> {
  const metas = await store.fetchMessages(mailboxId, [{ start: 1, end: Infinity }]);
  return metas
    .filter((m) => m.expungedModseq === null && m.uid >= start && m.uid <= end)
    .map((m) => ({ uid: m.uid, modseq: m.modseq, flags: [...m.flags].sort() }));
}

describe('SQLite listFlags in chunks', () => {
  let dir: string;
  let file: string;
  let repo: SqliteRepository;
  let raw: Database.Database;
  let db: SqlDb;
  let mailboxId: number;
  const JUMP = 1_000_000;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-listing-chunks-'));
    file = path.join(dir, 'petrel.db');
    repo = openSqliteRepository(file, { fsync: false });
    const account = await repo.directory.createAccount('u@example.org', '{PLAIN}x');
    const mb = await repo.store.createMailbox(account.id, 'Big');
    mailboxId = mb.id;
    const flagsOf = (i: number): string[] => [[], ['\\Seen'], ['\\Seen', '$Work'], ['\\Flagged', 'a,b'], ['\\Seen']][i % 5]!;
    const items = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => testMessage({ subject: `m${from + i}`, body: `b${from + i}` }).item(flagsOf(from + i)));
    await repo.store.appendMessages(mailboxId, items(1, 40)); // uids 1..40
    await repo.store.storeFlags(mailboxId, [{ start: 10, end: 25 }], 'add', ['\\Deleted']);
    await repo.store.expunge(mailboxId, [{ start: 10, end: 25 }]); // an expunged stretch
    await repo.store.storeFlags(mailboxId, [{ start: 33, end: 33 }], 'add', ['\\Deleted']);
    await repo.store.expunge(mailboxId, [{ start: 33, end: 33 }]);
    await repo.store.storeFlags(mailboxId, [{ start: 2, end: 4 }], 'add', ['$Later']);
    // A jump of UIDs (as after a mailbox's messages were pruned long ago): the next ones start at JUMP.
    const writer = new Database(file);
    writer.prepare(`UPDATE mailboxes SET uidnext = ? WHERE id = ?`).run(JUMP, mailboxId);
    writer.close();
    await repo.store.appendMessages(mailboxId, items(41, 6)); // uids JUMP..JUMP+5
    raw = new Database(file, { readonly: true });
    db = new SqlDb(raw);
  });

  after(async () => {
    raw.close();
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const ranges: Array<{ start: number; end: number } | undefined> = [
    undefined,
    { start: 1, end: Infinity },
    { start: 5, end: 30 },
    { start: 10, end: 25 }, // only expunged UIDs
    { start: 26, end: JUMP - 1 },
    { start: 34, end: JUMP + 2 },
    { start: JUMP + 5, end: JUMP + 5 },
    { start: JUMP + 6, end: Infinity },
    { start: 50, end: 40 },
  ];

  test('every chunk size lists exactly the live messages of every range', async () => {
    const all = await expected(repo.store, mailboxId, 1, Infinity);
    assert.equal(all.length, 40 - 16 - 1 + 6);
    for (const chunkUids of [1, 2, 3, 5, 8, 64, 16_384]) {
      for (const range of ranges) {
        const want = await expected(repo.store, mailboxId, range?.start ?? 0, range?.end ?? Infinity);
        const got = rows(listFlags(db, mailboxId, range, chunkUids));
        assert.deepEqual(got, want, `chunk ${chunkUids}, range ${JSON.stringify(range)}`);
      }
    }
    // The store's own listing (default chunk) agrees too.
    assert.deepEqual(rows(await repo.store.listFlags(mailboxId)), all);
  });

  test('flag sets are listed once across chunks', () => {
    const listing = listFlags(db, mailboxId, undefined, 2);
    const keys = listing.flagSets.map((f) => [...f].sort().join(' '));
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(listing.flagSets.length <= 7, `${listing.flagSets.length} sets`);
  });

  test('a wrong message counter only sizes the arrays: the listing stays exact', async () => {
    const want = await expected(repo.store, mailboxId, 0, Infinity);
    const writer = new Database(file);
    try {
      for (const count of [0, 3, want.length + 100]) {
        writer.prepare(`UPDATE mailboxes SET message_count = ? WHERE id = ?`).run(count, mailboxId);
        for (const chunkUids of [3, 16_384]) assert.deepEqual(rows(listFlags(db, mailboxId, undefined, chunkUids)), want, `counter ${count}`);
      }
    } finally {
      writer.prepare(`UPDATE mailboxes SET message_count = ? WHERE id = ?`).run(want.length, mailboxId);
      writer.close();
    }
  });
});

describe('FlagListingBuilder', () => {
  test('chunks added one after the other give the listing of the whole', () => {
    const whole = listingFromPacked(5, '1,10,1,2,11,0,5,12,5,7,12,1,9,13,0', '7 $Work\n2 $Later');
    const b = new FlagListingBuilder(5);
    b.addPacked('1,10,1,2,11,0', '2 $Later');
    b.addPacked(null, null);
    b.addPacked('5,12,5,7,12,1', '7 $Work');
    b.addPacked('9,13,0', null);
    const chunked = b.finish();
    const asRows = (l: FlagListing) => Array.from(l.uids, (uid, i) => [uid, l.modseqs[i], l.flagSets[l.flagSet[i]!]]);
    assert.deepEqual(asRows(chunked), asRows(whole));
    assert.equal(chunked.flagSets.length, whole.flagSets.length);
  });

  test('the arrays are exactly as long as the rows, whatever was expected', () => {
    for (const expectedRows of [0, 1, 3, 4, 20, 1000]) {
      const b = new FlagListingBuilder(expectedRows);
      for (let uid = 1; uid <= 4; uid++) b.add(uid, uid * 10, uid % 2, '');
      const l = b.finish();
      assert.deepEqual([l.uids.length, l.modseqs.length, l.flagSet.length], [4, 4, 4], `expected ${expectedRows}`);
      assert.deepEqual([...l.uids], [1, 2, 3, 4]);
      assert.deepEqual([...l.modseqs], [10, 20, 30, 40]);
    }
  });
});
