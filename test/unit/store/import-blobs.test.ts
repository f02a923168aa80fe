// The batch blob path of `petrel import maildir` (FsBlobStore.storeBatch,
// src/blob/fs/batch-store.ts), and the in-memory staging beside it:
// blobs land whole under their content address, once per address, with no
// temp file left, by either flush (syncfs or an fsync per file and directory);
// an existing blob is touched (the GC's grace period starts again) and not rewritten.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';
import { Ingest, stageInMemory } from '../../../src/mail/ingest.js';
import { forEachBounded } from '../../../src/util/for-each-bounded.js';
import type { MailStore, EventBus } from '../../../src/mail/ports.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const message = (n: number) => Buffer.from(`Subject: m${n}\r\nMessage-ID: <m${n}@x>\r\n\r\nbody ${n}\r\n`);

for (const flush of ['syncfs', 'fsync'] as const) {
  test(`storeBatch (${flush}): every blob whole under its address, duplicates once, no temp files`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-import-blobs-'));
    try {
      const store = new FsBlobStore(dir, { fsync: true });
      const bytes = Array.from({ length: 40 }, (_, i) => message(i));
      const blobs = [...bytes, bytes[3]!].map((b) => ({ blobId: sha(b), bytes: b }));
      await store.storeBatch(blobs, { flush });
      for (const b of bytes) assert.deepEqual(fs.readFileSync(store.pathOf(sha(b))), b);
      assert.deepEqual(fs.readdirSync(store.tmpDir), []);
      // Stored again: the existing file is touched, not replaced.
      const file = store.pathOf(sha(bytes[0]!));
      const inode = fs.statSync(file).ino;
      const past = new Date(Date.now() - 86_400_000);
      fs.utimesSync(file, past, past);
      await store.storeBatch([blobs[0]!], { flush });
      assert.equal(fs.statSync(file).ino, inode);
      assert.ok(fs.statSync(file).mtimeMs > past.getTime() + 1000, 'touched');
      assert.deepEqual(fs.readdirSync(store.tmpDir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('storeBatch: a failure part-way leaves no temp file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-import-blobs-'));
  try {
    const store = new FsBlobStore(dir, { fsync: false });
    const good = message(1);
    const bad = message(2);
    // A file where the fan-out directory of `bad` must go: its rename cannot happen.
    const badDir = path.dirname(store.pathOf(sha(bad)));
    fs.mkdirSync(path.dirname(badDir), { recursive: true });
    fs.writeFileSync(badDir, 'not a directory');
    await assert.rejects(
      store.storeBatch([
        { blobId: sha(good), bytes: good },
        { blobId: sha(bad), bytes: bad },
      ]),
    );
    assert.deepEqual(fs.readdirSync(store.tmpDir), []);
    assert.equal(fs.existsSync(store.pathOf(sha(bad))), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('stageInMemory indexes and addresses a message as the ingest pipeline does', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-import-blobs-'));
  try {
    const blobs = new FsBlobStore(dir, { fsync: false });
    const ingest = new Ingest({ store: {} as MailStore, blobs, events: {} as EventBus, maxMessageSize: 1 << 20 });
    const bytes = Buffer.from('From: a@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?= \xe9\r\n\r\nhello\r\n', 'latin1');
    const viaPipeline = await ingest.stage((async function* () {
      yield bytes.subarray(0, 10);
      yield bytes.subarray(10);
    })());
    assert.deepEqual(stageInMemory(bytes), viaPipeline);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('forEachBounded: at most N at a time, every item, the first failure thrown after all stopped', async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachBounded([...Array(20).keys()], 3, async (x) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    seen.push(x);
    running--;
  });
  assert.equal(peak, 3);
  assert.deepEqual(seen.sort((a, b) => a - b), [...Array(20).keys()]);
  let started = 0;
  await assert.rejects(
    forEachBounded([...Array(20).keys()], 3, async (x) => {
      started++;
      await new Promise((r) => setImmediate(r));
      if (x === 1) throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(started < 20, 'stops taking items after a failure');
  assert.equal(running, 0);
});
