import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailError } from '../../../src/mail/errors.js';
import { Ingest } from '../../../src/mail/ingest.js';
import type { BlobStore, BlobWriter } from '../../../src/mail/ports.js';
import type { MailEvent } from '../../../src/mail/types.js';
import { chunks, message, tempRepo, tmpEntries } from './helpers.js';

test('deliver: creates INBOX on first delivery, stores blob, metadata and index, publishes events', async () => {
  const t = await tempRepo();
  try {
    const events: MailEvent[] = [];
    t.events.subscribe((e) => events.push(e));
    const raw = message('first');
    const r = await t.ingest.deliver(t.accountId, 'inbox', chunks(raw, 7), { flags: ['\\Seen'] });
    assert.deepEqual(r.uids, [1]);
    assert.equal(r.mailbox.name, 'INBOX');
    assert.equal(r.mailbox.uidNext, 2);
    const [meta] = await t.repo.store.fetchMessages(r.mailbox.id, [{ start: 1, end: 1 }]);
    assert.deepEqual(meta!.flags, ['\\Seen']);
    assert.ok((await t.blobs.readBuffer(meta!.blobId)).equals(raw));
    assert.equal((await t.repo.store.getIndex(meta!.blobId)).envelope.subject, 'first');
    await Promise.resolve(); // events are delivered on a microtask
    assert.deepEqual(events, [
      { kind: 'mailboxes-changed', repository: 'default', accountId: t.accountId },
      { kind: 'mailbox-changed', repository: 'default', accountId: t.accountId, mailboxId: r.mailbox.id, modseq: r.highestModseq },
    ]);
    const again = await t.ingest.deliver(t.accountId, 'INBOX', chunks(message('second')));
    assert.deepEqual(again.uids, [2]);
  } finally {
    await t.cleanup();
  }
});

test('deliver to a missing mailbox other than INBOX: NOT_FOUND and nothing stored', async () => {
  const t = await tempRepo();
  try {
    await assert.rejects(t.ingest.deliver(t.accountId, 'Nope', chunks(message('x'))), (e) => isMailError(e, 'NOT_FOUND'));
    assert.deepEqual(tmpEntries(t.dir), []);
    assert.deepEqual(await t.repo.store.listMailboxes(t.accountId), []);
  } finally {
    await t.cleanup();
  }
});

test('stage: TOO_BIG discards the partial blob and reads the source to its end', async () => {
  const t = await tempRepo({}, 100);
  try {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield Buffer.alloc(30, 0x41);
      }
    }
    await assert.rejects(t.ingest.stage(source()), (e) => isMailError(e, 'TOO_BIG'));
    assert.equal(pulled, 10, 'drained');
    assert.deepEqual(tmpEntries(t.dir), []);
    // The explicit limit wins over the default.
    const staged = await t.ingest.stage(chunks(Buffer.alloc(150, 0x41)), 200);
    assert.equal(staged.size, 150);
  } finally {
    await t.cleanup();
  }
});

test('stage: a failing source aborts the blob write', async () => {
  const t = await tempRepo();
  try {
    async function* source() {
      yield Buffer.from('Subject: x\r\n');
      throw new Error('connection lost');
    }
    await assert.rejects(t.ingest.stage(source()), /connection lost/);
    assert.deepEqual(tmpEntries(t.dir), []);
  } finally {
    await t.cleanup();
  }
});

test('stage: the next chunk is pulled only after the blob writer accepted the previous one', async () => {
  const t = await tempRepo();
  try {
    const log: string[] = [];
    let release: (() => void) | null = null;
    const slowBlobs: BlobStore = Object.assign(Object.create(t.blobs) as BlobStore, {
      beginWrite(): BlobWriter {
        const inner = t.blobs.beginWrite();
        return {
          write: async (chunk: Buffer) => {
            log.push(`write ${chunk.toString()}`);
            await new Promise<void>((r) => (release = r));
            await inner.write(chunk);
            log.push(`written ${chunk.toString()}`);
          },
          commit: () => inner.commit(),
          abort: () => inner.abort(),
        };
      },
    });
    const ingest = new Ingest({ store: t.repo.store, blobs: slowBlobs, events: t.events, maxMessageSize: 1000 });
    async function* source() {
      for (const s of ['a', 'b', 'c']) {
        log.push(`pull ${s}`);
        yield Buffer.from(s);
      }
    }
    const staging = ingest.stage(source());
    for (let i = 0; i < 3; i++) {
      while (!release) await new Promise((r) => setImmediate(r));
      const r: () => void = release;
      release = null;
      r();
    }
    await staging;
    assert.deepEqual(log, ['pull a', 'write a', 'written a', 'pull b', 'write b', 'written b', 'pull c', 'write c', 'written c']);
  } finally {
    await t.cleanup();
  }
});

test('commit: several staged messages are appended atomically in order', async () => {
  const t = await tempRepo();
  try {
    const box = await t.repo.store.createMailbox(t.accountId, 'Drafts');
    const a = await t.ingest.stage(chunks(message('a')));
    const b = await t.ingest.stage(chunks(message('b')));
    const when = new Date('2021-01-01T00:00:00Z');
    const r = await t.ingest.commit(box, [
      { staged: a, flags: [], internalDate: when },
      { staged: b, flags: ['\\Draft'], internalDate: when },
    ]);
    assert.deepEqual(r.uids, [1, 2]);
    const metas = await t.repo.store.fetchMessages(box.id, [{ start: 1, end: 2 }]);
    assert.deepEqual(
      metas.map((m) => [m.blobId, m.flags, m.internalDate.getTime()]),
      [
        [a.blobId, [], when.getTime()],
        [b.blobId, ['\\Draft'], when.getTime()],
      ],
    );
  } finally {
    await t.cleanup();
  }
});
