import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobGarbageCollector } from '../../../src/blob/gc.js';
import { silentLogger } from '../../../src/util/log.js';
import { age, chunks, message, tempRepo, type TempRepo } from './helpers.js';

const GRACE = 600;
const ALL = [{ start: 1, end: Infinity }];

/** Retention -60 s: every row expunged so far counts as old enough, without sleeping. */
const PRUNE_ALL = -60;

function gcOf(t: TempRepo, retention = PRUNE_ALL): BlobGarbageCollector {
  return new BlobGarbageCollector(t.repo.store, t.blobs, {
    graceSeconds: GRACE,
    expungedRetentionSeconds: retention,
    logger: silentLogger,
  });
}

/** Delivers `raw`, expunges it and makes its blob look untouched for longer than the grace period. */
async function unreferencedBlob(t: TempRepo, raw: Buffer): Promise<{ blobId: string; mailboxId: number }> {
  const r = await t.ingest.deliver(t.accountId, 'INBOX', chunks(raw), { flags: ['\\Deleted'] });
  const [meta] = await t.repo.store.fetchMessages(r.mailbox.id, ALL);
  await t.repo.store.expunge(r.mailbox.id);
  age(t.blobs, meta!.blobId, GRACE * 2);
  return { blobId: meta!.blobId, mailboxId: r.mailbox.id };
}

test('an expunged message blob is deleted only after pruning; retention is honoured', async () => {
  const t = await tempRepo();
  try {
    const { blobId, mailboxId } = await unreferencedBlob(t, message('old'));
    const keep = await gcOf(t, 3600).runOnce();
    assert.equal(keep.prunedRows, 0);
    assert.equal(await t.blobs.has(blobId), true, 'retention not over: the row and the blob stay');
    assert.equal((await t.repo.store.fetchMessages(mailboxId, ALL)).length, 1);
    const report = await gcOf(t, PRUNE_ALL).runOnce();
    assert.equal(report.prunedRows, 1);
    assert.equal(report.unreferenced, 1);
    assert.equal(await t.blobs.has(blobId), false);
    assert.deepEqual(await t.repo.store.unreferencedBlobs(10), []);
    assert.deepEqual((await t.repo.store.changesSince(mailboxId, 0)).expunged, [1]);
    assert.deepEqual(await t.repo.store.integrityCheck(), []);
  } finally {
    await t.cleanup();
  }
});

test('race: content re-delivered (deduplicated) before the GC runs is not deleted', async () => {
  const t = await tempRepo();
  try {
    const raw = message('again');
    const { blobId } = await unreferencedBlob(t, raw);
    await t.repo.store.pruneExpunged(new Date(Date.now() + 1000));
    // A concurrent delivery has staged the same bytes (its copy replaced the blob, with a fresh mtime)
    // but not yet committed its metadata when the GC runs.
    const staged = await t.ingest.stage(chunks(raw));
    assert.equal(staged.blobId, blobId);
    const report = await gcOf(t).runOnce();
    assert.equal(report.unreferenced, 1, 'the store did offer it as a candidate');
    assert.equal(await t.blobs.has(blobId), true);
    const inbox = (await t.repo.store.getMailbox(t.accountId, 'INBOX'))!;
    const r = await t.ingest.commit(inbox, [{ staged, flags: [], internalDate: new Date() }]);
    const [meta] = await t.repo.store.fetchMessages(inbox.id, [{ start: r.uids[0]!, end: r.uids[0]! }]);
    assert.ok((await t.blobs.readBuffer(meta!.blobId)).equals(raw));
    assert.equal((await t.repo.store.getIndex(blobId)).envelope.subject, 'again');
    // Later passes leave the now referenced blob alone.
    age(t.blobs, blobId, GRACE * 2);
    await gcOf(t).runOnce({ orphans: true });
    assert.equal(await t.blobs.has(blobId), true);
    assert.deepEqual(await t.repo.store.integrityCheck(), []);
  } finally {
    await t.cleanup();
  }
});

test('race: the GC deletes the blob after the writer hashed the same bytes, before its rename -> the writer stores its own copy', async () => {
  let gcDuringCommit: (() => Promise<unknown>) | null = null;
  const t = await tempRepo({
    hooks: {
      beforePublish: async () => {
        const run = gcDuringCommit;
        gcDuringCommit = null;
        if (run) await run();
      },
    },
  });
  try {
    const raw = message('window');
    const { blobId } = await unreferencedBlob(t, raw);
    await t.repo.store.pruneExpunged(new Date(Date.now() + 1000));
    let deletedByGc = false;
    gcDuringCommit = async () => {
      await gcOf(t).runOnce();
      deletedByGc = !(await t.blobs.has(blobId));
    };
    const staged = await t.ingest.stage(chunks(raw));
    assert.equal(deletedByGc, true, 'the GC really ran inside the window and deleted the old copy');
    assert.equal(await t.blobs.has(blobId), true, 'the writer stored its copy');
    const inbox = (await t.repo.store.getMailbox(t.accountId, 'INBOX'))!;
    await t.ingest.commit(inbox, [{ staged, flags: [], internalDate: new Date() }]);
    assert.ok((await t.blobs.readBuffer(blobId)).equals(raw));
    assert.equal((await t.repo.store.getIndex(blobId)).size, raw.length, 'metadata re-registered the forgotten blob');
    assert.deepEqual(await t.repo.store.integrityCheck(), []);
  } finally {
    await t.cleanup();
  }
});

test('orphan sweep: a blob stored without metadata (crash before commit) is removed after the grace period', async () => {
  const t = await tempRepo();
  try {
    const old = await t.ingest.stage(chunks(message('orphan old')));
    const fresh = await t.ingest.stage(chunks(message('orphan fresh')));
    const kept = await t.ingest.deliver(t.accountId, 'INBOX', chunks(message('kept')));
    const [keptMeta] = await t.repo.store.fetchMessages(kept.mailbox.id, ALL);
    age(t.blobs, old.blobId, GRACE * 2);
    age(t.blobs, keptMeta!.blobId, GRACE * 2);
    const report = await gcOf(t).runOnce({ orphans: true });
    assert.equal(report.orphansChecked, 1);
    assert.equal(await t.blobs.has(old.blobId), false);
    assert.equal(await t.blobs.has(fresh.blobId), true, 'within the grace period');
    assert.equal(await t.blobs.has(keptMeta!.blobId), true, 'referenced');
  } finally {
    await t.cleanup();
  }
});

test('concurrent runOnce calls share one pass', async () => {
  const t = await tempRepo();
  try {
    await unreferencedBlob(t, message('shared'));
    const gc = gcOf(t);
    const [a, b] = await Promise.all([gc.runOnce(), gc.runOnce()]);
    assert.equal(a, b);
    assert.equal(a.unreferenced, 1);
  } finally {
    await t.cleanup();
  }
});
