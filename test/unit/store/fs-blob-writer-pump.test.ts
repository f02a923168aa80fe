// The file blob writer writes its full buffers one after the other with
// fs.write's callback (no promise per buffer): short writes go on with the
// rest, a failed write fails commit() and skips the buffers after it, and
// the writer's temp file is removed either way. fs.write is wrapped for the
// test through node:fs's default export (syncBuiltinESMExports updates the
// named export the store calls).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import fsDefault from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';
import { pseudoRandom } from '../../support/pseudo-random.js';

type WriteFn = typeof fs.write;

/** Runs `fn` with fs.write replaced by `wrap(original)`. */
async function withWrite(wrap: (original: WriteFn) => WriteFn, fn: () => Promise<void>): Promise<void> {
  const original = fsDefault.write;
  fsDefault.write = wrap(original);
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    fsDefault.write = original;
    syncBuiltinESMExports();
  }
}

function withStore(fn: (s: FsBlobStore, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fsblob-pump-'));
  return fn(new FsBlobStore(dir, { fsync: false }), dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test('short writes: the writer writes the rest of each buffer, the blob is whole', () =>
  withStore(async (s) => {
    const data = pseudoRandom(1_500_000, 1);
    let calls = 0;
    await withWrite(
      (original) =>
        ((fd: number, buf: Buffer, off: number, len: number, pos: null, cb: (err: Error | null, n: number) => void) => {
          calls++;
          // At most 10,000 bytes per call, as a file system may do.
          original(fd, buf, off, Math.min(len, 10_000), pos, cb);
        }) as unknown as WriteFn,
      async () => {
        const w = s.beginWrite();
        for (let off = 0; off < data.length; off += 100_000) await w.write(data.subarray(off, off + 100_000));
        const { blobId, size } = await w.commit();
        assert.equal(size, data.length);
        assert.equal(blobId, createHash('sha256').update(data).digest('hex'));
        assert.ok((await s.readBuffer(blobId)).equals(data));
      },
    );
    assert.ok(calls >= 150, `${calls} fs.write calls`);
  }));

test('a failed write fails commit (and later writes), skips the buffers after it, and removes the temp file', () =>
  withStore(async (s, dir) => {
    const data = pseudoRandom(2_000_000, 2);
    let calls = 0;
    await withWrite(
      (original) =>
        ((fd: number, buf: Buffer, off: number, len: number, pos: null, cb: (err: Error | null, n: number) => void) => {
          if (++calls === 2) {
            const err = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
            setImmediate(() => cb(err, 0));
            return;
          }
          original(fd, buf, off, len, pos, cb);
        }) as unknown as WriteFn,
      async () => {
        const w = s.beginWrite();
        let refused: unknown = null;
        for (let off = 0; off < data.length && !refused; off += 64 * 1024) {
          await w.write(data.subarray(off, off + 64 * 1024)).catch((err: unknown) => (refused = err));
        }
        await assert.rejects(w.commit(), (err: Error & { code?: string }) => err.code === 'EIO');
        assert.ok(refused === null || (refused as { code?: string }).code === 'EIO');
        // Only the first buffer and the failed one reached fs.write: the rest were skipped.
        assert.equal(calls, 2);
      },
    );
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
    // The pooled buffers came back intact: the next blob is right.
    const next = pseudoRandom(900_000, 3);
    const w = s.beginWrite();
    await w.write(next);
    const { blobId } = await w.commit();
    assert.ok((await s.readBuffer(blobId)).equals(next));
  }));

test('a temp file that cannot be opened fails commit(), and nothing is left in use', () =>
  withStore(async (s, dir) => {
    fs.rmSync(path.join(dir, 'tmp'), { recursive: true, force: true });
    const w = s.beginWrite();
    await w.write(pseudoRandom(600_000, 3)).catch(() => {});
    await assert.rejects(w.commit(), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    // The store works again once its temp directory is back.
    fs.mkdirSync(path.join(dir, 'tmp'));
    const again = s.beginWrite();
    await again.write(pseudoRandom(300_000, 4));
    assert.equal((await again.commit()).size, 300_000);
  }));
