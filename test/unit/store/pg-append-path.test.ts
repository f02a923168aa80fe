// Which statements an append sends (src/store/postgres/mail-store.ts
// appendMessages): the usual append is one statement; an account with quota
// limits needs the transaction, and after its first append the store sends
// its appends straight there instead of first sending the whole message in
// a statement that matches nothing. Counted by pg_stat_statements.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresBlobStore } from '../../../src/blob/postgres/pg-blob-store.js';
import { openPostgresRepository, type PostgresRepository } from '../../../src/store/postgres/index.js';
import type { QuotaLimits } from '../../../src/mail/types.js';
import { putBlob, testMessage, uniqueName } from '../../conformance/fixtures.js';
import { queryOnce } from '../../support/replication.js';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
after(() => pg.stop());
const url = await pg.createDatabase();
let repo: PostgresRepository;
let blobs: PostgresBlobStore;
before(async () => {
  await queryOnce(url, 'CREATE EXTENSION pg_stat_statements');
  repo = await openPostgresRepository(url, { max: 2, bodiesInDatabase: true });
  blobs = await PostgresBlobStore.open(url, { max: 1 });
});
after(async () => {
  await blobs.close();
  await repo.close();
});

/** Calls so far of the one-statement append, and of the transaction's UPDATE of the mailbox row. */
async function calls(): Promise<{ oneStatement: number; transaction: number }> {
  const rows = await queryOnce<{ query: string; calls: string }>(url, 'SELECT query, calls FROM pg_stat_statements');
  const sum = (match: (q: string) => boolean) => rows.filter((r) => match(r.query)).reduce((n, r) => n + Number(r.calls), 0);
  return {
    oneStatement: sum((q) => q.startsWith('WITH') && q.includes('taken AS (')),
    transaction: sum((q) => /^UPDATE mailboxes\s+SET uidnext = uidnext \+/.test(q)),
  };
}

async function appendThree(limits: QuotaLimits | null): Promise<{ oneStatement: number; transaction: number }> {
  const name = uniqueName('path');
  const account = await repo.directory.createAccount(name, '{PLAIN}x');
  if (limits) await repo.directory.setQuota(name, limits);
  const inbox = await repo.store.createMailbox(account.id, 'INBOX');
  const before = await calls();
  for (let i = 0; i < 3; i++) {
    const m = testMessage({ subject: `${name} ${i}` });
    await putBlob(blobs, m);
    assert.deepEqual((await repo.store.appendMessages(inbox.id, [m.item()])).uids, [i + 1]);
  }
  const now = await calls();
  return { oneStatement: now.oneStatement - before.oneStatement, transaction: now.transaction - before.transaction };
}

test('an account without quota limits: every append is the one statement', async () => {
  assert.deepEqual(await appendThree(null), { oneStatement: 3, transaction: 0 });
});

test('an account with quota limits: the one statement is tried once, then the transaction directly', async () => {
  assert.deepEqual(await appendThree({ storage: null, messages: 1000 }), { oneStatement: 1, transaction: 3 });
});
