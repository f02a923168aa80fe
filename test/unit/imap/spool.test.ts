// LiteralStager: an APPEND literal streamed into ingest.stage() as it arrives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';
import { InProcessEventBus } from '../../../src/mail/events.js';
import { Ingest } from '../../../src/mail/ingest.js';
import type { IngestPipeline, StagedMessage } from '../../../src/mail/ports.js';
import { LiteralStager, stagedOf } from '../../../src/imap/spool.js';
import { openSqliteRepository } from '../../../src/store/sqlite/index.js';

const MSG = Buffer.from('From: a@example.org\r\nSubject: staged\r\n\r\nhello\r\nworld\r\n');

async function withIngest(fn: (ingest: Ingest, blobs: FsBlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-spool-'));
  const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false });
  const events = new InProcessEventBus();
  try {
    await fn(new Ingest({ store: repo.store, blobs, events, maxMessageSize: 1_000_000 }), blobs, dir);
  } finally {
    await events.close();
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('chunks are staged as they arrive; the finished literal carries the staged blob', async () => {
  await withIngest(async (ingest, blobs) => {
    const stager = new LiteralStager(ingest, blobs, 1_000_000, false);
    for (let i = 0; i < MSG.length; i += 5) await stager.write(MSG.subarray(i, i + 5));
    const literal = await stager.finish();
    assert.equal(literal.size, MSG.length);
    const info = stagedOf(literal);
    assert.ok(info?.staged, 'staged');
    assert.equal(info.nul, false);
    assert.equal(info.staged.size, MSG.length);
    assert.equal(info.staged.index.envelope.subject, 'staged');
    assert.ok((await blobs.readBuffer(info.staged.blobId)).equals(MSG));
    // open() reads the staged blob back.
    const back: Buffer[] = [];
    for await (const c of literal.open()) back.push(c as Buffer);
    assert.ok(Buffer.concat(back).equals(MSG));
  });
});

test('a NUL in a plain literal is noted (literal8 may carry one)', async () => {
  await withIngest(async (ingest, blobs) => {
    const plain = new LiteralStager(ingest, blobs, 1_000_000, false);
    await plain.write(Buffer.from('Subject: x\r\n\r\na\0b\r\n'));
    assert.equal(stagedOf(await plain.finish())?.nul, true);
    const binary = new LiteralStager(ingest, blobs, 1_000_000, true);
    await binary.write(Buffer.from('Subject: x\r\n\r\na\0b\r\n'));
    assert.equal(stagedOf(await binary.finish())?.nul, false);
  });
});

test('backpressure: write() waits while the pipeline has not taken the previous chunk', async () => {
  const pulled: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slowIngest = {
    async stage(source: AsyncIterable<Buffer>): Promise<StagedMessage> {
      for await (const c of source) {
        pulled.push(c.toString());
        if (pulled.length === 1) await gate; // the "disk" is slow for the first chunk
      }
      return { blobId: 'x'.repeat(64), size: pulled.join('').length, index: {} as StagedMessage['index'] };
    },
  } as unknown as IngestPipeline;
  const stager = new LiteralStager(slowIngest, {} as FsBlobStore, 100, false);
  await stager.write(Buffer.from('a')); // taken at once
  await stager.write(Buffer.from('b')); // waits in the slot
  let thirdDone = false;
  const third = stager.write(Buffer.from('c')).then(() => (thirdDone = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(thirdDone, false, 'the third chunk waits for the slot');
  assert.deepEqual(pulled, ['a']);
  release();
  await third;
  const literal = await stager.finish();
  assert.deepEqual(pulled, ['a', 'b', 'c']);
  assert.equal(stagedOf(literal)?.staged?.size, 3);
});

test('abort (client gone mid-literal): the pipeline fails and leaves no temp file', async () => {
  await withIngest(async (ingest, blobs, dir) => {
    const stager = new LiteralStager(ingest, blobs, 1_000_000, false);
    await stager.write(MSG.subarray(0, 10));
    await stager.abort();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
  });
});

test('a pipeline failure drops the rest of the literal and reports the error at finish', async () => {
  const failing = {
    async stage(source: AsyncIterable<Buffer>): Promise<StagedMessage> {
      const it = source[Symbol.asyncIterator]();
      await it.next();
      await it.return?.();
      throw new Error('disk full');
    },
  } as unknown as IngestPipeline;
  const stager = new LiteralStager(failing, {} as FsBlobStore, 100, false);
  for (const c of ['a', 'b', 'c', 'd']) await stager.write(Buffer.from(c));
  const info = stagedOf(await stager.finish());
  assert.equal(info?.staged, null);
  assert.match(String(info?.error), /disk full/);
});
