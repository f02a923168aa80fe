// pipeRange takes its two read buffers from a pool shared by all calls
// (pipeBuffers): the next FETCH reads into the same memory instead of
// faulting in fresh pages. A buffer goes back only when every sink promise
// has settled, on success and on failure, and the pool keeps at most a few.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fsDefault from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';
import { pipeBuffers } from '../../../src/blob/pipe-buffers.js';
import { pseudoRandom } from '../../support/pseudo-random.js';

function withStore(fn: (s: FsBlobStore) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fspipe-'));
  return fn(new FsBlobStore(dir, { fsync: false })).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

async function store(s: FsBlobStore, data: Buffer): Promise<string> {
  const w = s.beginWrite();
  await w.write(data);
  return (await w.commit()).blobId;
}

test('pipeRange: the next call reads into the buffers the previous one gave back', () =>
  withStore(async (s) => {
    const data = pseudoRandom(900_000, 1);
    const blobId = await store(s, data);
    const seen: Array<Set<ArrayBufferLike>> = [];
    for (let round = 0; round < 3; round++) {
      const buffers = new Set<ArrayBufferLike>();
      const got: Buffer[] = [];
      await s.pipeRange(blobId, { start: 0, end: data.length }, async (chunk) => {
        buffers.add(chunk.buffer);
        await new Promise<void>((resolve) => setImmediate(resolve));
        got.push(Buffer.from(chunk));
      });
      assert.ok(Buffer.concat(got).equals(data), `round ${round}: the bytes`);
      assert.equal(buffers.size, 2);
      seen.push(buffers);
    }
    assert.equal(pipeBuffers.inUse, 0, 'all given back');
    for (const b of seen[2]!) assert.ok(seen[1]!.has(b), 'the third call reused the second call\'s buffers');
  }));

test('pipeRange: a buffer is not handed to another call while a sink still holds it', () =>
  withStore(async (s) => {
    const a = pseudoRandom(700_000, 2);
    const b = pseudoRandom(700_000, 3);
    const [idA, idB] = [await store(s, a), await store(s, b)];
    // Two calls at once, each sink copying late: neither may see the other's bytes.
    const run = async (id: string, want: Buffer) => {
      const got: Buffer[] = [];
      await s.pipeRange(id, { start: 0, end: want.length }, async (chunk) => {
        for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
        got.push(Buffer.from(chunk));
      });
      assert.ok(Buffer.concat(got).equals(want));
    };
    await Promise.all([run(idA, a), run(idB, b), run(idA, a)]);
    assert.equal(pipeBuffers.inUse, 0);
  }));

test('pipeRange: the pool keeps at most a few buffers after many calls at once', () =>
  withStore(async (s) => {
    const data = pseudoRandom(600_000, 4);
    const blobId = await store(s, data);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls = Array.from({ length: 5 }, () =>
      s.pipeRange(blobId, { start: 0, end: data.length }, async () => {
        await gate;
      }),
    );
    // Every call holds its two buffers (one in its sink, one read ahead) until the gate opens.
    while (pipeBuffers.inUse < 10) await new Promise<void>((resolve) => setImmediate(resolve));
    release();
    await Promise.all(calls);
    assert.equal(pipeBuffers.inUse, 0);
    assert.ok(pipeBuffers.freeCount <= 4, `kept ${pipeBuffers.freeCount}`);
  }));

test('pipeRange: buffers go back when the sink fails or the read fails', () =>
  withStore(async (s) => {
    const data = pseudoRandom(800_000, 5);
    const blobId = await store(s, data);
    let calls = 0;
    await assert.rejects(
      s.pipeRange(blobId, { start: 0, end: data.length }, async () => {
        if (++calls === 2) throw new Error('sink failed');
        await new Promise<void>((resolve) => setImmediate(resolve));
      }),
      /sink failed/,
    );
    assert.equal(pipeBuffers.inUse, 0, 'after a sink failure');
    // A directory under a blob's address opens but cannot be read (EISDIR).
    const fake = 'ab'.repeat(32);
    fs.mkdirSync(s.pathOf(fake), { recursive: true });
    await assert.rejects(s.pipeRange(fake, { start: 0, end: 10 }, async () => {}), (err: NodeJS.ErrnoException) => err.code === 'EISDIR');
    assert.equal(pipeBuffers.inUse, 0, 'after a read failure');
    await assert.rejects(s.pipeRange('0'.repeat(64), { start: 0, end: 10 }, async () => {}), (err: Error & { code?: string }) => err.code === 'NOT_FOUND');
    assert.equal(pipeBuffers.inUse, 0, 'after NOT_FOUND');
    // Still works afterwards.
    const got: Buffer[] = [];
    await s.pipeRange(blobId, { start: 100, end: 500_000 }, async (chunk) => void got.push(Buffer.from(chunk)));
    assert.ok(Buffer.concat(got).equals(data.subarray(100, 500_000)));
  }));

test('pipeRange: a read that fails while the previous chunk\'s sink runs gives the buffers back only after that sink', () =>
  withStore(async (s) => {
    const data = pseudoRandom(900_000, 6);
    const blobId = await store(s, data);
    const original = fsDefault.read;
    let reads = 0;
    // The second read fails (EIO) while the sink still holds the first chunk.
    fsDefault.read = ((...args: unknown[]) => {
      if (++reads === 2) {
        const cb = args[args.length - 1] as (err: NodeJS.ErrnoException) => void;
        const err: NodeJS.ErrnoException = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
        setImmediate(() => cb(err));
        return;
      }
      return (original as (...a: unknown[]) => void)(...args);
    }) as typeof fs.read;
    syncBuiltinESMExports();
    try {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let settled = false;
      const piping = s.pipeRange(blobId, { start: 0, end: data.length }, async () => {
        await gate;
      });
      piping.then(
        () => (settled = true),
        () => (settled = true),
      );
      while (reads < 2) await new Promise<void>((resolve) => setImmediate(resolve));
      for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      assert.equal(settled, false, 'not settled while the sink holds its chunk');
      assert.equal(pipeBuffers.inUse, 2, 'both buffers still out');
      open();
      await assert.rejects(piping, (err: NodeJS.ErrnoException) => err.code === 'EIO');
      assert.equal(pipeBuffers.inUse, 0);
    } finally {
      fsDefault.read = original;
      syncBuiltinESMExports();
    }
  }));
