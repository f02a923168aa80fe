// SELECT's flag listing on PostgreSQL aggregates the rows in the order they
// are scanned (no ORDER BY inside the aggregate: that sort took a third of a
// 1,000,000-message SELECT) and the parse puts them in UID order. Here the
// heap holds them out of order (a flag change writes a new row version after
// the others) and the listing must still be ascending, as must changesSince.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresRepository } from '../../../src/store/postgres/index.js';
import { testMessage } from '../../conformance/fixtures.js';
import { queryOnce } from '../../support/replication.js';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres();
after(() => pg.stop());

test('a mailbox whose rows are out of UID order in the heap lists in UID order', async () => {
  const url = await pg.createDatabase();
  const repo = await openPostgresRepository(url, { max: 2 });
  try {
    const account = await repo.directory.createAccount('order@example.test', '{PLAIN}x');
    const inbox = await repo.store.createMailbox(account.id, 'INBOX');
    await repo.store.appendMessages(inbox.id, Array.from({ length: 40 }, (_, i) => testMessage({ subject: `m${i}` }).item()));
    const since = (await repo.store.counts(inbox.id)).highestModseq;
    // UID 10 first: its new row version lies before those of 1-3, so changesSince's rows are out of order too.
    await repo.store.storeFlags(inbox.id, [{ start: 10, end: 10 }], 'add', ['$Label']);
    await repo.store.storeFlags(inbox.id, [{ start: 1, end: 3 }], 'add', ['\\Seen']);

    const heap = await queryOnce<{ uid: string }>(url, `SELECT uid FROM messages WHERE mailbox_id = ${inbox.id} ORDER BY ctid`);
    const heapOrder = heap.map((r) => Number(r.uid));
    assert.notDeepEqual(heapOrder, [...heapOrder].sort((a, b) => a - b), 'the heap holds the rows out of UID order');
    assert.deepEqual(heapOrder.filter((uid) => uid <= 3 || uid === 10), [10, 1, 2, 3], 'the changed rows, 10 before 1-3');
    // With statistics, a one-page table is read by a sequential scan: the rows come in heap order.
    await queryOnce(url, 'ANALYZE messages');

    const listing = await repo.store.listFlags(inbox.id);
    assert.deepEqual([...listing.uids], Array.from({ length: 40 }, (_, i) => i + 1));
    const flagsOf = (uid: number) => listing.flagSets[listing.flagSet[uid - 1]!]!;
    assert.deepEqual(flagsOf(1), ['\\Seen']);
    assert.deepEqual(flagsOf(4), []);
    assert.deepEqual(flagsOf(10), ['$Label']);
    assert.ok(listing.modseqs[0]! > since && listing.modseqs[3]! <= since);

    const changes = await repo.store.changesSince(inbox.id, since);
    assert.deepEqual(changes.changed.map((c) => c.uid), [1, 2, 3, 10]);
  } finally {
    await repo.close();
  }
});
