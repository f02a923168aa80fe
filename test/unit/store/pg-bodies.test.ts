// An append must find its bodies in the database when the bodies live there
// (the PostgreSQL blob store, as in a cluster; messages.bodiesFound). The
// body's commit and the append's are two transactions: after a fail-over
// between them the append runs on a new primary that may lack the body (an
// asynchronous standby had not received it). Here the body is simply never
// written, or its row removed, as that loss would leave it; the append must
// write nothing and answer UNAVAILABLE (LMTP 451: the MTA sends it again).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresBlobStore } from '../../../src/blob/postgres/pg-blob-store.js';
import { isMailError } from '../../../src/mail/errors.js';
import type { QuotaLimits } from '../../../src/mail/types.js';
import { openPostgresRepository, type PostgresRepository } from '../../../src/store/postgres/index.js';
import { putBlob, testMessage, uniqueName } from '../../conformance/fixtures.js';
import { queryOnce } from '../../support/replication.js';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres();
after(() => pg.stop());
const url = await pg.createDatabase();
let repo: PostgresRepository;
let blobs: PostgresBlobStore;
before(async () => {
  repo = await openPostgresRepository(url, { max: 2, bodiesInDatabase: true });
  blobs = await PostgresBlobStore.open(url, { max: 1 });
});
after(async () => {
  await blobs.close();
  await repo.close();
});

const unavailable = (err: unknown) => isMailError(err, 'UNAVAILABLE');

async function inbox(limits?: QuotaLimits) {
  const name = uniqueName('bodies');
  const account = await repo.directory.createAccount(name, '{PLAIN}x');
  if (limits) await repo.directory.setQuota(name, limits);
  return repo.store.createMailbox(account.id, 'INBOX');
}

/** What the append left behind: the mailbox's counters, and whether the body's metadata row exists. */
async function state(mailboxId: number, blobId: string) {
  const counts = await repo.store.counts(mailboxId);
  const rows = await queryOnce<{ n: string }>(url, `SELECT count(*) AS n FROM blobs WHERE blob_id = '${blobId}'`);
  return { messages: counts.messages, uidNext: counts.uidNext, highestModseq: counts.highestModseq, blobRows: Number(rows[0]!.n) };
}

for (const [label, limits] of [
  ['an account without quota limits (the one-statement append)', undefined],
  ['an account with quota limits (the transaction)', { storage: null, messages: 1000 }],
] as const) {
  test(`${label}: an append whose body is not in the database writes nothing, UNAVAILABLE`, async () => {
    const mailbox = await inbox(limits);
    const stored = testMessage({ subject: `stored ${label}` });
    await putBlob(blobs, stored);
    const first = await repo.store.appendMessages(mailbox.id, [stored.item()]);
    assert.deepEqual(first.uids, [1], 'a body that is there: appended');

    const never = testMessage({ subject: `never written ${label}` });
    const before = await state(mailbox.id, never.blobId);
    await assert.rejects(repo.store.appendMessages(mailbox.id, [never.item()]), unavailable);
    // Also when one body of several is missing (a multi-message APPEND).
    await assert.rejects(repo.store.appendMessages(mailbox.id, [stored.item(), never.item()]), unavailable);
    assert.deepEqual(await state(mailbox.id, never.blobId), before, 'no message, no UID or MODSEQ taken, no blob row');

    // The body's row gone, as a fail-over that lost its commit leaves it.
    const lost = testMessage({ subject: `lost ${label}` });
    await putBlob(blobs, lost);
    await queryOnce(url, `DELETE FROM blob_contents WHERE blob_id = '${lost.blobId}'`);
    await assert.rejects(repo.store.appendMessages(mailbox.id, [lost.item()]), unavailable);
    assert.equal((await state(mailbox.id, lost.blobId)).messages, 1);

    // Written again (the MTA's next attempt stages it again): appended.
    await putBlob(blobs, lost);
    const again = await repo.store.appendMessages(mailbox.id, [lost.item()]);
    assert.deepEqual(again.uids, [2]);
  });
}

test('REPLACE whose new body is not in the database: UNAVAILABLE, the original stays', async () => {
  const mailbox = await inbox();
  const original = testMessage({ subject: 'original' });
  await putBlob(blobs, original);
  await repo.store.appendMessages(mailbox.id, [original.item()]);
  const never = testMessage({ subject: 'replacement never written' });
  await assert.rejects(repo.store.replaceMessage(mailbox.id, 1, mailbox.id, never.item()), unavailable);
  const counts = await repo.store.counts(mailbox.id);
  assert.equal(counts.messages, 1, 'the original is not expunged');
  assert.equal(counts.uidNext, 2, 'no UID taken');
});

test("asyncCommit: a deduplicated body's touch commits synchronously, a new body's does not", async () => {
  // The blob GC keeps bodies touched within its grace period; a dedup's touch lost at a fail-over would not protect it.
  // A deferred trigger runs just before COMMIT and records the setting the commit will use.
  await queryOnce(url, `CREATE TABLE commit_settings (blob_id TEXT, sync TEXT);
    CREATE FUNCTION note_commit_setting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO commit_settings VALUES (NEW.blob_id, current_setting('synchronous_commit')); RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER note_commit_setting AFTER INSERT OR UPDATE ON blob_contents
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION note_commit_setting()`);
  const store = await PostgresBlobStore.open(url, { max: 1, asyncCommit: true });
  try {
    // A small body (the one-statement commit) and one of 40 KiB (chunks: the commit's transaction).
    for (const body of ['short', 'x'.repeat(40 * 1024)]) {
      const m = testMessage({ subject: `stored twice, ${body.length}`, body });
      const settings = async () =>
        (await queryOnce<{ sync: string }>(url, `SELECT sync FROM commit_settings WHERE blob_id = '${m.blobId}'`)).map((r) => r.sync);
      await putBlob(store, m);
      assert.deepEqual(await settings(), ['off'], 'a new body: its commit may be asynchronous');
      await putBlob(store, m);
      assert.deepEqual(await settings(), ['off', 'on'], 'the same bytes again: the touch is committed synchronously');
      const [row] = await queryOnce<{ fresh: boolean }>(url, `SELECT touched_at > now() - interval '1 minute' AS fresh FROM blob_contents WHERE blob_id = '${m.blobId}'`);
      assert.equal(row!.fresh, true);
    }
  } finally {
    await store.close();
    await queryOnce(url, 'DROP TRIGGER note_commit_setting ON blob_contents; DROP FUNCTION note_commit_setting(); DROP TABLE commit_settings');
  }
});

test('asyncCommit: the blob store commits asynchronously, the metadata synchronously', async () => {
  // The test clusters turn synchronous_commit off for speed (test/support/postgres.ts); a database can turn it on.
  const database = new URL(url).pathname.slice(1);
  await queryOnce(url, `ALTER DATABASE "${database}" SET synchronous_commit = on`);
  const metadata = await openPostgresRepository(url, { max: 1, bodiesInDatabase: true });
  const bodies = await PostgresBlobStore.open(url, { max: 1, asyncCommit: true });
  try {
    const setting = async (sql: PostgresRepository['sql']) => (await sql<Array<{ v: string }>>`SELECT current_setting('synchronous_commit') AS v`)[0]!.v;
    assert.equal(await setting(metadata.sql), 'on');
    assert.equal(await setting(bodies.sql), 'off');
  } finally {
    await bodies.close();
    await metadata.close();
    await queryOnce(url, `ALTER DATABASE "${database}" RESET synchronous_commit`);
  }
});
