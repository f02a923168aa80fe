// The file blob writer copies chunks into pooled write buffers (a 64 KiB
// one first, then 256 KiB ones; reused by every writer of the process): the caller may reuse a chunk as
// soon as write() returns, and no writer's file ever holds bytes another
// writer left in a buffer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';

function withStore(fn: (s: FsBlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fsblob-buf-'));
  return fn(new FsBlobStore(dir, { fsync: false }), dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

function bytes(size: number, fill: (i: number) => number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = fill(i);
  return b;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Writes `data` in chunks of `chunk` bytes through ONE reused scratch buffer, overwritten after each write(). */
async function writeReusing(store: FsBlobStore, data: Buffer, chunk: number): Promise<string> {
  const w = store.beginWrite();
  const scratch = Buffer.alloc(chunk);
  for (let off = 0; off < data.length; off += chunk) {
    const n = data.copy(scratch, 0, off, off + chunk);
    const accepted = w.write(scratch.subarray(0, n));
    scratch.fill(0xee); // the writer must have copied already
    await accepted;
  }
  const { blobId, size } = await w.commit();
  assert.equal(size, data.length);
  return blobId;
}

test('a chunk may be overwritten as soon as write() returns; sizes around the buffer boundaries', async () => {
  await withStore(async (store) => {
    const K = 1024;
    for (const size of [0, 1, 64 * K - 1, 64 * K, 64 * K + 1, 320 * K - 1, 320 * K, 320 * K + 1, 1_000_003]) {
      const data = bytes(size, (i) => (i * 7 + size) & 0xff);
      for (const chunk of [1000, 65_536, 300_000]) {
        const id = await writeReusing(store, data, chunk);
        assert.equal(id, sha256(data));
        assert.ok((await store.readBuffer(id)).equals(data), `size ${size}, chunk ${chunk}`);
      }
    }
  });
});

test('a big blob, then a short one and writers interleaved: none holds bytes of another', async () => {
  await withStore(async (store) => {
    // Fills the pooled buffers with 0xAA.
    const big = Buffer.alloc(2 * 1024 * 1024 + 12_345, 0xaa);
    assert.equal(await writeReusing(store, big, 65_536), sha256(big));
    const short = Buffer.from('short message, far less than one write buffer\r\n');
    const id = await writeReusing(store, short, 10);
    assert.equal((await store.readBuffer(id)).toString(), short.toString());
    // Two writers at once, chunk by chunk, each through the shared pool.
    const a = bytes(900_001, (i) => i & 0xff);
    const b = bytes(700_003, (i) => (255 - i) & 0xff);
    const wa = store.beginWrite();
    const wb = store.beginWrite();
    for (let off = 0; off < a.length; off += 40_000) {
      await wa.write(a.subarray(off, off + 40_000));
      if (off < b.length) await wb.write(b.subarray(off, off + 40_000));
    }
    const [ra, rb] = await Promise.all([wa.commit(), wb.commit()]);
    assert.ok((await store.readBuffer(ra.blobId)).equals(a));
    assert.ok((await store.readBuffer(rb.blobId)).equals(b));
  });
});

test('an aborted writer gives its buffers back only after its writes settled; the next blob is intact', async () => {
  await withStore(async (store, dir) => {
    const w = store.beginWrite();
    const junk = Buffer.alloc(600_000, 0x4a);
    void w.write(junk.subarray(0, 300_000)).catch(() => {});
    void w.write(junk.subarray(300_000)).catch(() => {});
    const aborted = w.abort();
    const data = bytes(800_000, (i) => (i * 13) & 0xff);
    const id = await writeReusing(store, data, 65_536);
    await aborted;
    assert.ok((await store.readBuffer(id)).equals(data));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
    await assert.rejects(w.write(Buffer.from('x')), /closed/);
  });
});
