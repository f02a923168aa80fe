// LiteralStager.write(chunk, onRelease): the chunk may be memory the
// connection reuses (pooled socket reads). onRelease must run only once the
// pipeline no longer refers to the chunk, and must run for every chunk
// (stored, failed or abandoned literal), or the pool would leak or hand out
// memory still in use.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';
import { InProcessEventBus } from '../../../src/mail/events.js';
import { Ingest } from '../../../src/mail/ingest.js';
import type { BlobStore } from '../../../src/mail/ports.js';
import { LiteralStager, stagedOf } from '../../../src/imap/spool.js';
import { openSqliteRepository } from '../../../src/store/sqlite/index.js';

async function withIngest(fn: (ingest: Ingest, blobs: FsBlobStore) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-spool-release-'));
  const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false });
  const events = new InProcessEventBus();
  try {
    await fn(new Ingest({ store: repo.store, blobs, events, maxMessageSize: 10_000_000 }), blobs);
  } finally {
    await events.close();
    await repo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function message(size: number): Buffer {
  const head = Buffer.from('Subject: release\r\n\r\n');
  const body = Buffer.alloc(size - head.length);
  for (let i = 0; i < body.length; i++) body[i] = i % 78 === 77 ? 0x0a : 0x41 + (i % 26);
  return Buffer.concat([head, body]);
}

/**
 * Writes `data` through scratch buffers that are overwritten with garbage
 * the moment onRelease runs (as a reused pool block would be): the blob is
 * intact only if no chunk was released while still needed.
 */
async function stageReusing(stager: LiteralStager, data: Buffer, chunk: number): Promise<{ released: number; written: number }> {
  let released = 0;
  let written = 0;
  for (let off = 0; off < data.length; off += chunk) {
    const scratch = Buffer.from(data.subarray(off, off + chunk));
    written++;
    await stager.write(scratch, () => {
      scratch.fill(0x7e);
      released++;
    });
  }
  return { released, written };
}

test('with the file store, chunks are passed as they are and released once the pipeline is done with them', async () => {
  await withIngest(async (ingest, blobs) => {
    const data = message(1_000_000);
    const stager = new LiteralStager(ingest, blobs, 10_000_000, false);
    const counts = await stageReusing(stager, data, 65_536);
    assert.ok(counts.released < counts.written, 'the last chunks are still in the pipeline before finish()');
    const info = stagedOf(await stager.finish());
    assert.ok(info?.staged);
    assert.equal(info.staged.blobId, createHash('sha256').update(data).digest('hex'));
    assert.ok((await blobs.readBuffer(info.staged.blobId)).equals(data));
  });
});

test('every chunk is released: after finish, and after an abort mid-literal', async () => {
  await withIngest(async (ingest, blobs) => {
    let released = 0;
    const stager = new LiteralStager(ingest, blobs, 10_000_000, false);
    const data = message(300_000);
    let written = 0;
    for (let off = 0; off < data.length; off += 50_000) {
      written++;
      await stager.write(Buffer.from(data.subarray(off, off + 50_000)), () => released++);
    }
    await stager.finish();
    assert.equal(released, written);

    let releasedAborted = 0;
    const aborted = new LiteralStager(ingest, blobs, 10_000_000, false);
    await aborted.write(Buffer.from(data.subarray(0, 50_000)), () => releasedAborted++);
    await aborted.write(Buffer.from(data.subarray(50_000, 100_000)), () => releasedAborted++);
    await aborted.abort();
    assert.equal(releasedAborted, 2);
  });
});

test('a store whose writers keep chunks: the stager copies and releases at once', async () => {
  await withIngest(async (ingest, fsBlobs) => {
    // Same files, but without the writerCopiesChunks promise.
    const blobs = { read: fsBlobs.read.bind(fsBlobs) } as unknown as BlobStore;
    const data = message(400_000);
    const stager = new LiteralStager(ingest, blobs, 10_000_000, false);
    let pendingRelease = 0;
    for (let off = 0; off < data.length; off += 65_536) {
      const scratch = Buffer.from(data.subarray(off, off + 65_536));
      let released = false;
      const p = stager.write(scratch, () => {
        released = true;
        scratch.fill(0x7e);
      });
      if (!released) pendingRelease++;
      await p;
    }
    assert.equal(pendingRelease, 0, 'released within write() itself');
    const info = stagedOf(await stager.finish());
    assert.ok((await fsBlobs.readBuffer(info!.staged!.blobId)).equals(data));
  });
});
