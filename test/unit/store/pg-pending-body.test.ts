// A small body left pending by the PostgreSQL blob store (BlobWriter.commitPending)
// and stored by the append that refers to it: the one-statement append carries
// the body's two inserts; every other path stores the body first. Counted by
// pg_stat_statements where the number of statements is the point.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PostgresBlobStore } from '../../../src/blob/postgres/pg-blob-store.js';
import { InProcessEventBus } from '../../../src/mail/events.js';
import { Ingest } from '../../../src/mail/ingest.js';
import { copyStaged } from '../../../src/mail/transfer.js';
import type { Repository } from '../../../src/mail/repository.js';
import { openPostgresRepository, type PostgresRepository } from '../../../src/store/postgres/index.js';
import { rawMessage, uniqueName } from '../../conformance/fixtures.js';
import { queryOnce } from '../../support/replication.js';
import { startPostgres, waitFor } from '../../support/postgres.js';
import type { MailStore } from '../../../src/mail/ports.js';
import postgres from 'postgres';

const pg = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
after(() => pg.stop());
const url = await pg.createDatabase();
let repo: PostgresRepository;
let blobs: PostgresBlobStore;
let ingest: Ingest;
before(async () => {
  await queryOnce(url, 'CREATE EXTENSION pg_stat_statements');
  repo = await openPostgresRepository(url, { max: 2, bodiesInDatabase: true });
  blobs = await PostgresBlobStore.open(url, { max: 2, asyncCommit: true });
  ingest = new Ingest({ store: repo.store, blobs, events: new InProcessEventBus(), maxMessageSize: 10 * 1024 * 1024 });
});
after(async () => {
  await blobs.close();
  await repo.close();
});

async function* once(bytes: Buffer): AsyncIterable<Buffer> {
  yield bytes;
}

const readAll = (id: string): Promise<Buffer> => blobs.readBuffer(id);

async function inbox(quota?: { storage: number | null; messages: number | null }) {
  const name = uniqueName('pend');
  const account = await repo.directory.createAccount(name, '{PLAIN}x');
  if (quota) await repo.directory.setQuota(name, quota);
  return repo.store.createMailbox(account.id, 'INBOX');
}

/** Calls so far of the blob store's own commit statements (PgPendingBody.store) and of the append statement that stores a body. */
async function calls(): Promise<{ blobCommits: number; appendsStoringBody: number }> {
  const rows = await queryOnce<{ query: string; calls: string }>(url, 'SELECT query, calls FROM pg_stat_statements');
  const sum = (match: (q: string) => boolean) => rows.filter((r) => match(r.query)).reduce((n, r) => n + Number(r.calls), 0);
  return {
    blobCommits: sum((q) => q.startsWith('INSERT INTO blob_contents') || q.startsWith('WITH content AS (INSERT INTO blob_contents')),
    appendsStoringBody: sum((q) => q.includes('taken AS (') && q.includes('body_content AS (')),
  };
}

async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; blobCommits: number; appendsStoringBody: number }> {
  const before = await calls();
  const value = await fn();
  const now = await calls();
  return { value, blobCommits: now.blobCommits - before.blobCommits, appendsStoringBody: now.appendsStoringBody - before.appendsStoringBody };
}

const message = (subject: string, bodyBytes = 200) =>
  rawMessage({ subject, body: randomBytes(bodyBytes).toString('base64') });

test('a pending body is not stored by stage(); the append stores it in its one statement', async () => {
  const mb = await inbox();
  const bytes = message(uniqueName('s'));
  const staged = await ingest.stage(once(bytes), undefined, { pendingBody: true });
  assert.ok(staged.pendingBody, 'a small body is left pending');
  assert.equal(await blobs.has(staged.blobId), false);
  const run = await counted(() => ingest.commit(mb, [{ staged, flags: [], internalDate: new Date() }]));
  assert.deepEqual(run.value.uids, [1]);
  assert.deepEqual({ blobCommits: run.blobCommits, appendsStoringBody: run.appendsStoringBody }, { blobCommits: 0, appendsStoringBody: 1 });
  assert.deepEqual(await readAll(staged.blobId), bytes);
  const [meta] = await repo.store.fetchMessages(mb.id, [{ start: 1, end: 1 }]);
  assert.equal(meta!.blobId, staged.blobId);
});

test('deliver() (petrel deliver) leaves a small body to its append', async () => {
  const name = uniqueName('lda');
  const account = await repo.directory.createAccount(name, '{PLAIN}x');
  const bytes = message(uniqueName('l'));
  const run = await counted(() => ingest.deliver(account.id, 'INBOX', once(bytes)));
  assert.deepEqual(run.value.uids, [1]);
  assert.deepEqual({ blobCommits: run.blobCommits, appendsStoringBody: run.appendsStoringBody }, { blobCommits: 0, appendsStoringBody: 1 });
  assert.deepEqual(await readAll(createHash('sha256').update(bytes).digest('hex')), bytes);
});

test('a mail store that does not store pending bodies gets them stored first', async () => {
  const store = Object.create(repo.store, { storesPendingBodies: { value: false } }) as MailStore;
  const plain = new Ingest({ store, blobs, events: new InProcessEventBus(), maxMessageSize: 1024 * 1024 });
  const mb = await inbox();
  const bytes = message(uniqueName('f'));
  const staged = await plain.stage(once(bytes), undefined, { pendingBody: true });
  assert.ok(staged.pendingBody);
  const run = await counted(() => plain.commit(mb, [{ staged, flags: [], internalDate: new Date() }]));
  assert.deepEqual({ blobCommits: run.blobCommits, appendsStoringBody: run.appendsStoringBody }, { blobCommits: 1, appendsStoringBody: 0 });
  assert.deepEqual(await readAll(staged.blobId), bytes);
});

test('a connection lost while the one statement waits (outcome unknown): the body is stored, then the transaction appends once', async () => {
  const mb = await inbox();
  const bytes = message(uniqueName('u'));
  const staged = await ingest.stage(once(bytes), undefined, { pendingBody: true });
  const admin = postgres(url, { max: 2, onnotice: () => {} });
  const holder = await admin.reserve();
  try {
    // Hold the mailbox row so that the append's statement waits on it, then cut that statement's connection.
    await holder`BEGIN`;
    await holder`SELECT 1 FROM mailboxes WHERE id = ${mb.id} FOR UPDATE`;
    const committing = ingest.commit(mb, [{ staged, flags: [], internalDate: new Date() }]);
    const waiting = (like: string) => admin<Array<{ pid: number }>>`SELECT pid FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND query LIKE ${like} AND pid <> pg_backend_pid()`;
    let pid = 0;
    await waitFor(async () => ((pid = (await waiting('%WITH taken AS (%'))[0]?.pid ?? 0) > 0), 15_000, 'the append to wait for the mailbox row');
    await admin`SELECT pg_terminate_backend(${pid})`;
    // The transaction's look for the append's token waits on the same row.
    await waitFor(async () => (await waiting('%FOR UPDATE%')).length > 0, 15_000, 'the transaction to wait for the mailbox row');
    await holder`COMMIT`;
    assert.deepEqual((await committing).uids, [1]);
  } finally {
    holder.release();
    await admin.end();
  }
  assert.deepEqual(await readAll(staged.blobId), bytes);
  const [row] = await queryOnce<{ n: string }>(url, `SELECT count(*) AS n FROM messages WHERE mailbox_id = ${mb.id}`);
  assert.equal(Number(row!.n), 1);
});

test('without the option, or for a body of more than one small chunk, stage() stores the body', async () => {
  const plain = await ingest.stage(once(message(uniqueName('p'))));
  assert.equal(plain.pendingBody, undefined);
  assert.equal(await blobs.has(plain.blobId), true);
  const big = await ingest.stage(once(message(uniqueName('b'), 40 * 1024)), undefined, { pendingBody: true });
  assert.equal(big.pendingBody, undefined);
  assert.equal(await blobs.has(big.blobId), true);
});

test('the same staged body delivered to several mailboxes is stored once and read by all', async () => {
  const boxes = [await inbox(), await inbox(), await inbox()];
  const bytes = message(uniqueName('m'));
  const staged = await ingest.stage(once(bytes), undefined, { pendingBody: true });
  for (const mb of boxes) assert.deepEqual((await ingest.commit(mb, [{ staged, flags: [], internalDate: new Date() }])).uids, [1]);
  const [row] = await queryOnce<{ n: string; chunks: string }>(
    url,
    `SELECT count(*) AS n, (SELECT count(*) FROM blob_chunks k JOIN blob_contents c USING (upload_id) WHERE c.blob_id = '${staged.blobId}') AS chunks
     FROM blob_contents WHERE blob_id = '${staged.blobId}'`,
  );
  assert.deepEqual({ n: Number(row!.n), chunks: Number(row!.chunks) }, { n: 1, chunks: 1 });
  assert.deepEqual(await readAll(staged.blobId), bytes);
});

test('a body stored already (another upload) is deduplicated: the pending copy is dropped, the old one touched', async () => {
  const mb = await inbox();
  const bytes = message(uniqueName('d'));
  const first = await ingest.stage(once(bytes));
  const [before] = await queryOnce<{ upload_id: string; touched: string }>(
    url,
    `SELECT upload_id, touched_at::text AS touched FROM blob_contents WHERE blob_id = '${first.blobId}'`,
  );
  const staged = await ingest.stage(once(bytes), undefined, { pendingBody: true });
  assert.equal(staged.blobId, first.blobId);
  await ingest.commit(mb, [{ staged, flags: [], internalDate: new Date() }]);
  const rows = await queryOnce<{ upload_id: string; later: boolean }>(
    url,
    `SELECT upload_id, touched_at > '${before!.touched}'::timestamptz AS later FROM blob_contents WHERE blob_id = '${first.blobId}'`,
  );
  assert.deepEqual(rows.map((r) => [r.upload_id, r.later]), [[before!.upload_id, true]]);
  assert.deepEqual(await readAll(staged.blobId), bytes);
});

test('an append that cannot be the one statement (quota limits) stores the body first, then runs the transaction', async () => {
  const mb = await inbox({ storage: null, messages: 1000 });
  const bytes = message(uniqueName('q'));
  const staged = await ingest.stage(once(bytes), undefined, { pendingBody: true });
  const run = await counted(() => ingest.commit(mb, [{ staged, flags: [], internalDate: new Date() }]));
  assert.deepEqual(run.value.uids, [1]);
  assert.equal(run.blobCommits, 1);
  assert.deepEqual(await readAll(staged.blobId), bytes);
  // The store now sends this mailbox's appends to the transaction directly: the body still goes first.
  const again = await ingest.stage(once(message(uniqueName('q2'))), undefined, { pendingBody: true });
  const second = await counted(() => ingest.commit(mb, [{ staged: again, flags: [], internalDate: new Date() }]));
  assert.deepEqual(second.value.uids, [2]);
  assert.deepEqual({ blobCommits: second.blobCommits, appendsStoringBody: second.appendsStoringBody }, { blobCommits: 1, appendsStoringBody: 0 });
  assert.equal(await blobs.has(again.blobId), true);
});

test('several messages in one append (MULTIAPPEND): each pending body is stored first', async () => {
  const mb = await inbox();
  const bodies = [message(uniqueName('x')), message(uniqueName('y'))];
  const staged = await Promise.all(bodies.map((b) => ingest.stage(once(b), undefined, { pendingBody: true })));
  const result = await ingest.commit(mb, staged.map((s) => ({ staged: s, flags: [], internalDate: new Date() })));
  assert.deepEqual(result.uids, [1, 2]);
  for (const [i, s] of staged.entries()) assert.deepEqual(await readAll(s.blobId), bodies[i]);
});

test('an empty body left pending is stored by the append', async () => {
  const mb = await inbox();
  const staged = await ingest.stage(once(Buffer.alloc(0)), undefined, { pendingBody: true });
  assert.ok(staged.pendingBody);
  await ingest.commit(mb, [{ staged, flags: [], internalDate: new Date() }]);
  assert.equal(await blobs.has(staged.blobId), true);
  assert.deepEqual(await readAll(staged.blobId), Buffer.alloc(0));
});

test('a staged body committed through an ingest of another blob store, or copied to another repository, is stored first', async () => {
  const otherStore = await PostgresBlobStore.open(url, { max: 1 });
  try {
    const other = new Ingest({ store: repo.store, blobs: otherStore, events: new InProcessEventBus(), maxMessageSize: 1024 * 1024 });
    const mb = await inbox();
    const bytes = message(uniqueName('o'));
    const staged = await ingest.stage(once(bytes), undefined, { pendingBody: true });
    const run = await counted(() => other.commit(mb, [{ staged, flags: [], internalDate: new Date() }]));
    assert.deepEqual({ blobCommits: run.blobCommits, appendsStoringBody: run.appendsStoringBody }, { blobCommits: 1, appendsStoringBody: 0 });
    assert.deepEqual(await readAll(staged.blobId), bytes);
  } finally {
    await otherStore.close();
  }

  // copyStaged reads the body from the first repository's blob store.
  const otherUrl = await pg.createDatabase();
  const otherRepo = await openPostgresRepository(otherUrl, { max: 1, bodiesInDatabase: true });
  const otherBlobs = await PostgresBlobStore.open(otherUrl, { max: 1 });
  try {
    const target = { blobs: otherBlobs, ingest: new Ingest({ store: otherRepo.store, blobs: otherBlobs, events: new InProcessEventBus(), maxMessageSize: 1024 * 1024 }) };
    const copyBytes = message(uniqueName('c'));
    const pending = await ingest.stage(once(copyBytes), undefined, { pendingBody: true });
    const copied = await copyStaged({ blobs } as unknown as Repository, pending, target as unknown as Repository);
    assert.equal(await blobs.has(pending.blobId), true);
    assert.equal(copied.blobId, pending.blobId);
    assert.deepEqual(await otherBlobs.readBuffer(copied.blobId), copyBytes);
  } finally {
    await otherBlobs.close();
    await otherRepo.close();
  }
});

test('a pending body that no append takes leaves nothing behind', async () => {
  const staged = await ingest.stage(once(message(uniqueName('n'))), undefined, { pendingBody: true });
  assert.ok(staged.pendingBody);
  const [row] = await queryOnce<{ n: string }>(url, `SELECT count(*) AS n FROM blob_contents WHERE blob_id = '${staged.blobId}'`);
  assert.equal(Number(row!.n), 0);
  assert.equal(await blobs.has(staged.blobId), false);
});
