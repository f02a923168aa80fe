import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fsblob-'));
}

test('layout: a new store keeps blobs/ab/<sha256> and says so in blobs/LAYOUT; the same bytes again replace the file (fresh mtime)', async () => {
  const dir = tempDir();
  try {
    const s = new FsBlobStore(dir, { fsync: true });
    assert.equal(fs.readFileSync(path.join(dir, 'blobs', 'LAYOUT'), 'utf8'), 'one-level\n');
    const w = s.beginWrite();
    await w.write(Buffer.from('hello'));
    const { blobId } = await w.commit();
    const file = path.join(dir, 'blobs', blobId.slice(0, 2), blobId);
    assert.equal(s.pathOf(blobId), file);
    assert.equal(fs.readFileSync(file, 'utf8'), 'hello');
    const past = new Date(Date.now() - 86_400_000);
    fs.utimesSync(file, past, past);
    const w2 = s.beginWrite();
    await w2.write(Buffer.from('hello'));
    await w2.commit();
    assert.ok(fs.statSync(file).mtimeMs > past.getTime() + 1000, 'touched');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
    await assert.rejects(s.readBuffer('../../etc/passwd'));
    assert.equal(await s.has('../x'), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a store made before layouts were named keeps blobs/ab/cd/<sha256>: reads, writes, GC listing', async () => {
  const dir = tempDir();
  try {
    // As an older Petrel left it: a blob two levels down, no LAYOUT file.
    const old = Buffer.from('stored by an older version');
    const oldId = createHash('sha256').update(old).digest('hex');
    const oldFile = path.join(dir, 'blobs', oldId.slice(0, 2), oldId.slice(2, 4), oldId);
    fs.mkdirSync(path.dirname(oldFile), { recursive: true });
    fs.writeFileSync(oldFile, old);
    const s = new FsBlobStore(dir, { fsync: false });
    assert.equal(s.layout, 'two-level');
    assert.equal(fs.existsSync(path.join(dir, 'blobs', 'LAYOUT')), false);
    assert.deepEqual(await s.readBuffer(oldId), old);
    const w = s.beginWrite();
    await w.write(Buffer.from('new'));
    const { blobId } = await w.commit();
    assert.equal(s.pathOf(blobId), path.join(dir, 'blobs', blobId.slice(0, 2), blobId.slice(2, 4), blobId));
    const listed: string[] = [];
    for await (const id of s.list(new Date(Date.now() + 60_000))) listed.push(id);
    assert.deepEqual(listed.sort(), [oldId, blobId].sort());
    // A new store lists its blobs too (and not its LAYOUT file).
    const fresh = tempDir();
    try {
      const n = new FsBlobStore(fresh, { fsync: false });
      const nw = n.beginWrite();
      await nw.write(Buffer.from('one level'));
      const one = await nw.commit();
      const found: string[] = [];
      for await (const id of n.list(new Date(Date.now() + 60_000))) found.push(id);
      assert.deepEqual(found, [one.blobId]);
      assert.equal(new FsBlobStore(fresh, { fsync: false }).layout, 'one-level', 'named, so it stays so');
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown layout name is an error, not a guess', () => {
  const dir = tempDir();
  try {
    fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'blobs', 'LAYOUT'), 'three-level\n');
    assert.throws(() => new FsBlobStore(dir), /unknown blob layout "three-level"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without fsync, the same bytes again keep the stored file (touched), never replace it by an unsynced copy', async () => {
  const dir = tempDir();
  try {
    const s = new FsBlobStore(dir, { fsync: false });
    const w = s.beginWrite();
    await w.write(Buffer.from('kept'));
    const { blobId } = await w.commit();
    const file = s.pathOf(blobId);
    const past = new Date(Date.now() - 86_400_000);
    fs.utimesSync(file, past, past);
    const inode = fs.statSync(file).ino;
    const w2 = s.beginWrite();
    await w2.write(Buffer.from('kept'));
    assert.equal((await w2.commit()).blobId, blobId);
    assert.equal(fs.statSync(file).ino, inode, 'the same file');
    assert.ok(fs.statSync(file).mtimeMs > past.getTime() + 1000, 'touched');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a GC claim its dead process left in tmp/ goes back to its address at open (a message may reference it)', async () => {
  const dir = tempDir();
  try {
    const first = new FsBlobStore(dir);
    const w = first.beginWrite();
    await w.write(Buffer.from('claimed'));
    const { blobId } = await w.commit();
    const w2 = first.beginWrite();
    await w2.write(Buffer.from('claimed too'));
    const other = await w2.commit();
    // As delete() leaves them when its process dies between the claim and the decision.
    const claim = path.join(dir, 'tmp', `2147483646-gc.${blobId}-x`);
    fs.renameSync(first.pathOf(blobId), claim);
    const duplicate = path.join(dir, 'tmp', `2147483646-gc.${other.blobId}-y`);
    fs.copyFileSync(first.pathOf(other.blobId), duplicate);
    const reopened = new FsBlobStore(dir);
    assert.equal((await reopened.readBuffer(blobId)).toString(), 'claimed');
    assert.equal((await reopened.readBuffer(other.blobId)).toString(), 'claimed too');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), [], 'the claim restored, the copy of a present blob removed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('delete with a grace period deletes a blob untouched for longer', async () => {
  const dir = tempDir();
  try {
    const s = new FsBlobStore(dir, { fsync: false });
    const w = s.beginWrite();
    await w.write(Buffer.from('old'));
    const { blobId } = await w.commit();
    const past = new Date(Date.now() - 7200_000);
    fs.utimesSync(s.pathOf(blobId), past, past);
    await s.delete(blobId, { untouchedForSeconds: 3600 });
    assert.equal(await s.has(blobId), false);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('open removes temp files of dead processes but not of live ones', async () => {
  const dir = tempDir();
  try {
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    const dead = path.join(dir, 'tmp', '2147483646-w-stale');
    const mine = path.join(dir, 'tmp', `${process.pid}-w-live`);
    const junk = path.join(dir, 'tmp', 'junk');
    for (const f of [dead, mine, junk]) fs.writeFileSync(f, 'x');
    new FsBlobStore(dir);
    assert.equal(fs.existsSync(dead), false);
    assert.equal(fs.existsSync(junk), false);
    assert.equal(fs.existsSync(mine), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('list yields blobs last touched before the given time', async () => {
  const dir = tempDir();
  try {
    const s = new FsBlobStore(dir, { fsync: false });
    const ids: string[] = [];
    for (const text of ['a', 'b']) {
      const w = s.beginWrite();
      await w.write(Buffer.from(text));
      ids.push((await w.commit()).blobId);
    }
    const past = new Date(Date.now() - 7200_000);
    fs.utimesSync(s.pathOf(ids[0]!), past, past);
    const listed: string[] = [];
    for await (const id of s.list(new Date(Date.now() - 3600_000))) listed.push(id);
    assert.deepEqual(listed, [ids[0]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pipeRange: the range in reused buffers, each kept until its sink promise resolves', async () => {
  const dir = tempDir();
  try {
    const s = new FsBlobStore(dir, { fsync: false });
    const data = Buffer.alloc(700_001);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 10)) & 0xff;
    const w = s.beginWrite();
    await w.write(data);
    const { blobId } = await w.commit();
    for (const range of [
      { start: 0, end: data.length },
      { start: 12_345, end: 600_000 },
      { start: 5, end: 6 },
      { start: 650_000, end: 800_000 }, // past the end: stops at the end of the file
    ]) {
      const got: Buffer[] = [];
      const buffers = new Set<ArrayBufferLike>();
      await s.pipeRange(blobId, range, async (chunk) => {
        buffers.add(chunk.buffer);
        // Copied only after a delay: the store must not overwrite the chunk meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
        got.push(Buffer.from(chunk));
      });
      assert.deepEqual(Buffer.concat(got), data.subarray(range.start, Math.min(range.end, data.length)), JSON.stringify(range));
      assert.ok(buffers.size <= 2, `at most two buffers, got ${buffers.size}`);
    }
    await assert.rejects(
      s.pipeRange('0'.repeat(64), { start: 0, end: 10 }, async () => {}),
      (err: Error & { code?: string }) => err.code === 'NOT_FOUND',
    );
    const failing = s.pipeRange(blobId, { start: 0, end: data.length }, async () => {
      throw new Error('sink failed');
    });
    await assert.rejects(failing, /sink failed/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('abort after several batches leaves no temp file; the writer refuses more', async () => {
  const dir = tempDir();
  try {
    const s = new FsBlobStore(dir, { fsync: false });
    const w = s.beginWrite();
    for (let i = 0; i < 10; i++) await w.write(Buffer.alloc(100_000, i));
    await w.abort();
    await assert.rejects(w.write(Buffer.from('x')));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'tmp')), []);
    // The store (and its pooled buffers) still work.
    const w2 = s.beginWrite();
    await w2.write(Buffer.alloc(300_000, 1));
    const { blobId } = await w2.commit();
    assert.ok((await s.readBuffer(blobId)).equals(Buffer.alloc(300_000, 1)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
