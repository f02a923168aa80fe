// The embedded blob store's two places (src/blob/small-bodies.ts): which
// bodies go into the SQLite table and which into files, a writer crossing the
// limit mid-stream, bodies left in files by an older Petrel, the garbage
// collector's grace on the table, and list() over many pages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { FsBlobStore } from '../../../src/blob/fs/fs-blob-store.js';
import { BlobGarbageCollector } from '../../../src/blob/gc.js';
import { SmallBodiesBlobStore } from '../../../src/blob/small-bodies.js';
import { InProcessEventBus } from '../../../src/mail/events.js';
import { Ingest } from '../../../src/mail/ingest.js';
import { openSqliteRepository, type SqliteRepository } from '../../../src/store/sqlite/index.js';
import { silentLogger } from '../../../src/util/log.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LIMIT = 4096;

interface Fixture {
  dir: string;
  repo: SqliteRepository;
  files: FsBlobStore;
  store: SmallBodiesBlobStore;
  /** Rows of small_bodies, read through a connection of their own. */
  tableIds(): string[];
  /** Blob files under blobs/. */
  fileIds(): string[];
  cleanup(): Promise<void>;
}

async function fixture(limit = LIMIT): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-smallbodies-'));
  const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
  const files = new FsBlobStore(dir, { fsync: false });
  const store = new SmallBodiesBlobStore(repo.smallBodies, files, limit);
  const list = (): string[] => {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (/^[0-9a-f]{64}$/.test(e.name)) out.push(e.name);
      }
    };
    walk(files.blobDir);
    return out.sort();
  };
  return {
    dir,
    repo,
    files,
    store,
    tableIds: () => {
      const db = new Database(path.join(dir, 'petrel.db'), { readonly: true });
      try {
        return (db.prepare('SELECT blob_id FROM small_bodies ORDER BY blob_id').pluck().all() as string[]).sort();
      } finally {
        db.close();
      }
    },
    fileIds: list,
    cleanup: async () => {
      await store.close();
      await repo.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function put(store: SmallBodiesBlobStore, data: Buffer, sizes: number[]): Promise<{ blobId: string; size: number }> {
  const w = store.beginWrite();
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    await w.write(data.subarray(off, off + n));
    off += n;
  }
  return w.commit();
}

test('bodies up to the limit go into the table, bigger ones into files; both read back', async () => {
  const f = await fixture();
  try {
    const small = randomBytes(LIMIT);
    const big = randomBytes(LIMIT + 1);
    const a = await put(f.store, small, [1000]);
    const b = await put(f.store, big, [1000]);
    assert.deepEqual(f.tableIds(), [sha(small)]);
    assert.deepEqual(f.fileIds(), [sha(big)]);
    assert.equal(a.blobId, sha(small));
    assert.equal(b.blobId, sha(big));
    assert.ok((await f.store.readBuffer(a.blobId)).equals(small));
    assert.ok((await f.store.readBuffer(b.blobId)).equals(big));
    assert.equal(await f.store.size(a.blobId), LIMIT);
    // No temp file is left by the small writer, none by the big one after its commit.
    assert.deepEqual(fs.readdirSync(f.files.tmpDir), []);
  } finally {
    await f.cleanup();
  }
});

test('a writer crossing the limit anywhere in any chunking stores the exact bytes in a file', async () => {
  const f = await fixture(300);
  try {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 900 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 6 }), async (n, sizes) => {
        const data = randomBytes(n);
        const { blobId, size } = await put(f.store, data, sizes);
        assert.equal(blobId, sha(data));
        assert.equal(size, n);
        assert.ok((await f.store.readBuffer(blobId)).equals(data));
        assert.equal(f.tableIds().includes(blobId), n <= 300, `${n} bytes in the table?`);
        assert.equal(f.fileIds().includes(blobId), n > 300, `${n} bytes in a file?`);
      }),
      { numRuns: 60 },
    );
  } finally {
    await f.cleanup();
  }
});

test('the caller may reuse a chunk once write() returned (writerCopiesChunks), below and above the limit', async () => {
  const f = await fixture(100);
  try {
    assert.equal(f.store.writerCopiesChunks, true);
    for (const total of [60, 250]) {
      const data = randomBytes(total);
      const scratch = Buffer.alloc(50);
      const w = f.store.beginWrite();
      for (let off = 0; off < total; off += 50) {
        data.copy(scratch, 0, off, off + 50);
        const wrote = w.write(scratch.subarray(0, Math.min(50, total - off)));
        scratch.fill(0xee); // reused at once, before the write's promise settled
        await wrote;
      }
      const { blobId } = await w.commit();
      assert.equal(blobId, sha(data));
      assert.ok((await f.store.readBuffer(blobId)).equals(data), `${total} bytes`);
    }
  } finally {
    await f.cleanup();
  }
});

test('pipelined writes past the limit (no await between them): each chunk is copied in write()', async () => {
  const f = await fixture(100);
  try {
    const data = randomBytes(450);
    const scratch = Buffer.alloc(150);
    const w = f.store.beginWrite();
    const pending: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += 150) {
      data.copy(scratch, 0, off, off + 150);
      pending.push(w.write(scratch));
      scratch.fill(0xee); // reused before the write's promise settled
    }
    await Promise.all(pending);
    const { blobId } = await w.commit();
    assert.equal(blobId, sha(data));
    assert.ok((await f.store.readBuffer(blobId)).equals(data));
  } finally {
    await f.cleanup();
  }
});

test('abort after the limit was crossed: the file writer is aborted too, no temp file is left', async () => {
  const f = await fixture(100);
  try {
    const w = f.store.beginWrite();
    await w.write(randomBytes(80));
    await w.write(randomBytes(80)); // crosses: now streaming into a temp file
    await w.abort();
    assert.deepEqual(fs.readdirSync(f.files.tmpDir), []);
    assert.deepEqual(f.fileIds(), []);
    assert.deepEqual(f.tableIds(), []);
  } finally {
    await f.cleanup();
  }
});

test('a body an older Petrel left in a file is read there; written again it is in both places; delete removes both', async () => {
  const f = await fixture();
  try {
    const data = Buffer.from('Subject: old\r\n\r\nstored before the table existed\r\n');
    const w = f.files.beginWrite();
    await w.write(data);
    const { blobId } = await w.commit();
    assert.deepEqual(f.tableIds(), []);
    assert.equal(await f.store.has(blobId), true);
    assert.ok((await f.store.readBuffer(blobId, { start: 9, end: 12 })).equals(Buffer.from('old')));
    await put(f.store, data, [7]);
    assert.deepEqual(f.tableIds(), [blobId]);
    assert.deepEqual(f.fileIds(), [blobId]);
    await f.store.delete(blobId, { untouchedForSeconds: 3600 });
    assert.equal(await f.store.has(blobId), true, 'touched just now in both places');
    await f.store.delete(blobId);
    assert.deepEqual(f.tableIds(), []);
    assert.deepEqual(f.fileIds(), []);
    assert.equal(await f.store.has(blobId), false);
  } finally {
    await f.cleanup();
  }
});

test('limit 0: every body in files, the table untouched', async () => {
  const f = await fixture(0);
  try {
    const { blobId } = await put(f.store, Buffer.from('tiny'), [4]);
    assert.deepEqual(f.tableIds(), []);
    assert.deepEqual(f.fileIds(), [blobId]);
  } finally {
    await f.cleanup();
  }
});

test('storeBatch: small bodies into the table, big ones into files, all readable', async () => {
  const f = await fixture(100);
  try {
    const bodies = [randomBytes(10), randomBytes(100), randomBytes(101), randomBytes(5000)].map((bytes) => ({ blobId: sha(bytes), bytes }));
    await f.store.storeBatch([...bodies, bodies[0]!]);
    assert.deepEqual(f.tableIds(), [bodies[0]!.blobId, bodies[1]!.blobId].sort());
    assert.deepEqual(f.fileIds(), [bodies[2]!.blobId, bodies[3]!.blobId].sort());
    for (const b of bodies) assert.ok((await f.store.readBuffer(b.blobId)).equals(b.bytes));
  } finally {
    await f.cleanup();
  }
});

test('list(): every body of both places last touched before the date, once per place, over several pages', async () => {
  const f = await fixture(100);
  try {
    const bodies = Array.from({ length: 2500 }, (_, i) => Buffer.from(`body ${i}`)).map((bytes) => ({ blobId: sha(bytes), bytes }));
    f.repo.smallBodies.putDurably(bodies);
    const big = randomBytes(1000);
    const { blobId: bigId } = await put(f.store, big, [1000]);
    const listed: string[] = [];
    for await (const id of f.store.list(new Date(Date.now() + 60_000))) listed.push(id);
    assert.deepEqual(listed.sort(), [...bodies.map((b) => b.blobId), bigId].sort());
    const none: string[] = [];
    for await (const id of f.store.list(new Date(Date.now() - 3_600_000))) none.push(id);
    assert.deepEqual(none, []);
  } finally {
    await f.cleanup();
  }
});

test('garbage collection: an unreferenced small body is deleted after the grace period, not one deduplicated within it', async () => {
  const f = await fixture();
  const events = new InProcessEventBus();
  try {
    const ingest = new Ingest({ store: f.repo.store, blobs: f.store, events, maxMessageSize: 1 << 20 });
    const account = await f.repo.directory.createAccount('user', '{PLAIN}x');
    const raw = (s: string) => Buffer.from(`From: a@example.org\r\nSubject: ${s}\r\n\r\nbody\r\n`);
    async function* source(s: string): AsyncIterable<Buffer> {
      yield raw(s);
    }
    const gc = () =>
      new BlobGarbageCollector(f.repo.store, f.store, { graceSeconds: 600, expungedRetentionSeconds: -60, logger: silentLogger }).runOnce({
        orphans: true,
      });
    const age = (blobId: string) => {
      const db = new Database(path.join(f.dir, 'petrel.db'));
      try {
        db.prepare('UPDATE small_bodies SET touched_at = ? WHERE blob_id = ?').run(Date.now() - 3_600_000, blobId);
      } finally {
        db.close();
      }
    };
    const gone = await ingest.deliver(account.id, 'INBOX', source('gone'), { flags: ['\\Deleted'] });
    const kept = await ingest.deliver(account.id, 'INBOX', source('kept'), { flags: ['\\Deleted'] });
    await f.repo.store.expunge(gone.mailbox.id);
    const [goneId, keptId] = [sha(raw('gone')), sha(raw('kept'))];
    assert.deepEqual(f.tableIds(), [goneId, keptId].sort());
    age(goneId);
    age(keptId);
    // A delivery of the same bytes as `kept` has stored (touched) its body but not committed yet.
    const staged = await ingest.stage(source('kept'));
    assert.equal(staged.blobId, keptId);
    await gc();
    assert.deepEqual(f.tableIds(), [keptId], 'the untouched one is gone, the touched one kept');
    const inbox = (await f.repo.store.getMailbox(account.id, 'INBOX'))!;
    await ingest.commit(inbox, [{ staged, flags: [], internalDate: new Date() }]);
    age(keptId);
    await gc();
    assert.deepEqual(f.tableIds(), [keptId], 'referenced again: kept');
    // An orphan (a body whose message never committed) goes with the sweep once old.
    const orphan = await put(f.store, Buffer.from('never referenced'), [100]);
    age(orphan.blobId);
    await gc();
    assert.deepEqual(f.tableIds(), [keptId]);
    assert.deepEqual(await f.repo.store.integrityCheck(), []);
  } finally {
    await events.close();
    await f.cleanup();
  }
});
