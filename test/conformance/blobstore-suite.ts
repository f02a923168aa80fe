// The BlobStore conformance suite, run unchanged against every blob backend.
// `open()` returns a NEW handle on the SAME store each call.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isMailError } from '../../src/mail/errors.js';
import type { BlobStore } from '../../src/mail/ports.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function put(store: BlobStore, data: Buffer, chunk = 7919): Promise<{ blobId: string; size: number }> {
  const w = store.beginWrite();
  for (let i = 0; i < data.length; i += chunk) await w.write(data.subarray(i, i + chunk));
  return w.commit();
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function blobStoreConformance(name: string, open: () => Promise<BlobStore>): void {
  const withStore = async (fn: (s: BlobStore) => Promise<void>) => {
    const s = await open();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };
  const notFound = (err: unknown) => {
    assert.ok(isMailError(err, 'NOT_FOUND'), `expected NOT_FOUND, got ${String(err)}`);
    return true;
  };

  describe(`BlobStore conformance: ${name}`, () => {
    test('streamed write: the id is the SHA-256 of the bytes; read back whole and by ranges', () =>
      withStore(async (s) => {
        const data = randomBytes(300_000);
        const { blobId, size } = await put(s, data);
        assert.equal(blobId, sha(data));
        assert.equal(size, data.length);
        assert.equal(await s.has(blobId), true);
        assert.equal(await s.size(blobId), data.length);
        assert.ok((await collect(s.read(blobId))).equals(data));
        assert.ok((await collect(s.read(blobId, { start: 10, end: 20 }))).equals(data.subarray(10, 20)), 'end is exclusive');
        assert.ok((await collect(s.read(blobId, { start: 0, end: 1 }))).equals(data.subarray(0, 1)));
        assert.equal((await collect(s.read(blobId, { start: 5, end: 5 }))).length, 0);
        assert.ok((await collect(s.read(blobId, { start: 299_990, end: 400_000 }))).equals(data.subarray(299_990)));
        assert.ok((await s.readBuffer(blobId)).equals(data));
        assert.ok((await s.readBuffer(blobId, { start: 100, end: 70_000 })).equals(data.subarray(100, 70_000)));
      }));

    test('empty blob', () =>
      withStore(async (s) => {
        const { blobId, size } = await put(s, Buffer.alloc(0));
        assert.equal(blobId, sha(Buffer.alloc(0)));
        assert.equal(size, 0);
        assert.equal((await s.readBuffer(blobId)).length, 0);
      }));

    test('dedup: the same bytes give the same id, visible from another handle', () =>
      withStore(async (s) => {
        const data = randomBytes(5000);
        const a = await put(s, data, 100);
        const b = await put(s, data, 3000);
        assert.equal(a.blobId, b.blobId);
        const other = await open();
        try {
          assert.ok((await other.readBuffer(a.blobId)).equals(data));
        } finally {
          await other.close();
        }
      }));

    test('concurrent writers of the same content', () =>
      withStore(async (s) => {
        const data = randomBytes(100_000);
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => put(s, data, 1000 + i * 977)));
        for (const r of results) assert.equal(r.blobId, sha(data));
        assert.ok((await s.readBuffer(sha(data))).equals(data));
      }));

    test('abort leaves nothing; nothing is visible before commit', () =>
      withStore(async (s) => {
        const data = randomBytes(2000);
        const w = s.beginWrite();
        await w.write(data);
        assert.equal(await s.has(sha(data)), false);
        await w.abort();
        await w.abort();
        assert.equal(await s.has(sha(data)), false);
      }));

    test('pipeRange: the range in order, each buffer unchanged until its sink promise resolved; NOT_FOUND; sink errors', () =>
      withStore(async (s) => {
        assert.ok(s.pipeRange, `${name} has pipeRange (FETCH streams big bodies through it)`);
        const data = randomBytes(700_000);
        const { blobId } = await put(s, data);
        const ranges = [
          { start: 0, end: data.length },
          { start: 1, end: 600_001 },
          { start: 65_535, end: 65_537 },
          { start: 10, end: 10 },
          { start: 690_000, end: 900_000 },
        ];
        for (const range of ranges) {
          const got: Buffer[] = [];
          await s.pipeRange!(blobId, range, async (chunk) => {
            const copy = Buffer.from(chunk);
            // Yield: a store reading ahead must use its other buffer meanwhile.
            await new Promise((resolve) => setImmediate(resolve));
            assert.ok(chunk.equals(copy), 'chunk changed before its sink promise resolved');
            got.push(copy);
          });
          assert.ok(Buffer.concat(got).equals(data.subarray(range.start, range.end)), `range ${range.start}-${range.end}`);
        }
        await assert.rejects(s.pipeRange!('0'.repeat(64), { start: 0, end: 10 }, async () => {}), notFound);
        await assert.rejects(
          s.pipeRange!(blobId, { start: 0, end: data.length }, async () => {
            throw new Error('sink failed');
          }),
          /sink failed/,
        );
        assert.ok((await s.readBuffer(blobId)).equals(data), 'the store still reads after a failed pipe');
      }));

    test('missing blobs: NOT_FOUND from size, read, readBuffer; has() false; delete is idempotent', () =>
      withStore(async (s) => {
        const missing = sha(randomBytes(16));
        assert.equal(await s.has(missing), false);
        await assert.rejects(s.size(missing), notFound);
        await assert.rejects(s.readBuffer(missing), notFound);
        await assert.rejects(collect(s.read(missing)), notFound);
        await assert.rejects(collect(s.read(missing, { start: 0, end: 10 })), notFound);
        await assert.rejects(collect(s.read(missing, { start: 3, end: 3 })), notFound);
        await s.delete(missing);
      }));

    test('delete removes; delete with a grace period keeps a recently touched blob', () =>
      withStore(async (s) => {
        const data = randomBytes(1234);
        const { blobId } = await put(s, data);
        await s.delete(blobId, { untouchedForSeconds: 3600 });
        assert.equal(await s.has(blobId), true, 'just written, so kept');
        await s.delete(blobId);
        assert.equal(await s.has(blobId), false);
        await assert.rejects(s.readBuffer(blobId), notFound);
      }));
  });
}
