// An append must find its bodies in the database when the bodies live there
// (the PostgreSQL blob store, as in a cluster; messages.bodiesPresent). The
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
