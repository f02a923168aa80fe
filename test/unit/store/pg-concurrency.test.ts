// Many servers appending to one mailbox: 4 connection pools (as 4 servers
// would have) each append 200 messages, one at a time, concurrently. UIDs
// must be unique and allocated in commit order (checked against PostgreSQL's
// own commit timestamps), the count exact and HIGHESTMODSEQ consistent.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresRepository, type PostgresRepository } from '../../../src/store/postgres/index.js';
import { connectPostgres } from '../../../src/store/postgres/pg.js';
import { testMessage } from '../../conformance/fixtures.js';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres({ settings: { track_commit_timestamp: 'on' } });
after(() => pg.stop());
const url = await pg.createDatabase();

const WRITERS = 4;
const PER_WRITER = 200;

test('4 connections x 200 concurrent appends into one mailbox', async () => {
  const repos: PostgresRepository[] = [];
  for (let i = 0; i < WRITERS; i++) repos.push(await openPostgresRepository(url, { max: 2 }));
  try {
    const account = await repos[0]!.directory.createAccount('concurrent', '{PLAIN}x');
    const mailbox = await repos[0]!.store.createMailbox(account.id, 'INBOX');
    const start = await repos[0]!.store.counts(mailbox.id);

    const results = await Promise.all(
      repos.map(async (repo, w) => {
        const got: Array<{ uid: number; modseq: number }> = [];
        for (let i = 0; i < PER_WRITER; i++) {
          const m = testMessage({ subject: `writer ${w} message ${i}`, body: `w${w} i${i}` });
          const r = await repo.store.appendMessages(mailbox.id, [m.item()]);
          assert.equal(r.uids.length, 1);
          got.push({ uid: r.uids[0]!, modseq: r.highestModseq });
        }
        return got;
      }),
    );

    const all = results.flat();
    const uids = all.map((r) => r.uid);
    assert.equal(new Set(uids).size, WRITERS * PER_WRITER, 'every UID unique');
    for (const mine of results) {
      for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.uid > mine[i - 1]!.uid, 'each writer sees its UIDs increase');
    }
    assert.deepEqual(
      [...uids].sort((a, b) => a - b),
      Array.from({ length: WRITERS * PER_WRITER }, (_, i) => i + 1),
      'no UID lost',
    );

    const store = repos[1]!.store;
    const end = await store.counts(mailbox.id);
    assert.equal(end.messages, WRITERS * PER_WRITER);
    assert.equal(end.uidNext, WRITERS * PER_WRITER + 1);
    assert.equal(end.highestModseq, start.highestModseq + WRITERS * PER_WRITER, 'one modseq per append');
    assert.deepEqual(await store.listUids(mailbox.id), Array.from({ length: WRITERS * PER_WRITER }, (_, i) => i + 1));

    // Commit order = UID order: ordered by PostgreSQL's commit timestamps,
    // the UIDs (and the modseqs) strictly increase.
    const sql = connectPostgres(url, { max: 1 });
    try {
      const rows = await sql<Array<{ uid: number; modseq: number }>>`
        SELECT uid, modseq FROM messages WHERE mailbox_id = ${mailbox.id}
        ORDER BY pg_xact_commit_timestamp(xmin), uid`;
      assert.equal(rows.length, WRITERS * PER_WRITER);
      for (let i = 1; i < rows.length; i++) {
        assert.ok(rows[i]!.uid > rows[i - 1]!.uid, `commit order broke UID order at ${rows[i]!.uid}`);
        assert.ok(rows[i]!.modseq > rows[i - 1]!.modseq, `commit order broke modseq order at ${rows[i]!.uid}`);
      }
      assert.equal(rows[rows.length - 1]!.modseq, end.highestModseq);
    } finally {
      await sql.end();
    }
    const metas = await store.fetchMessages(mailbox.id, [{ start: 1, end: Infinity }]);
    for (const r of all) assert.equal(metas[r.uid - 1]!.modseq, r.modseq, 'the modseq an append returned is its own');
    assert.deepEqual(await store.integrityCheck(), []);
  } finally {
    await Promise.all(repos.map((r) => r.close()));
  }
});
