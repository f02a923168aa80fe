// Runs the BlobStore conformance suite against the PostgreSQL backend (a
// private PostgreSQL for this file), with a small chunk size so that blobs
// span many chunks, plus the backend's own checks: ranges fetch only the
// chunks they need, and the GC's grace period against dedup touches.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PostgresBlobStore } from '../../src/blob/postgres/pg-blob-store.js';
import { startPostgres } from '../support/postgres.js';
import { queryOnce } from '../support/replication.js';
import { blobStoreConformance } from './blobstore-suite.js';

const pg = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
after(() => pg.stop());
const url = await pg.createDatabase();
await queryOnce(url, 'CREATE EXTENSION pg_stat_statements');

/** Calls so far of statements whose text includes `part` (pg_stat_statements). */
async function callsOf(part: string): Promise<number> {
  const rows = await queryOnce<{ query: string; calls: string }>(url, 'SELECT query, calls FROM pg_stat_statements');
  return rows.filter((r) => r.query.includes(part)).reduce((n, r) => n + Number(r.calls), 0);
}

blobStoreConformance('postgres', () => PostgresBlobStore.open(url, { chunkSize: 64 * 1024, max: 2 }));

describe('PostgresBlobStore', () => {
  const put = async (s: PostgresBlobStore, data: Buffer) => {
    const w = s.beginWrite();
    for (let i = 0; i < data.length; i += 10_000) await w.write(data.subarray(i, i + 10_000));
    return w.commit();
  };

  test('a range read fetches only the chunks it covers; the whole blob streams chunk by chunk', async () => {
    const seen: number[] = [];
    const s = await PostgresBlobStore.open(url, { chunkSize: 16 * 1024, hooks: { chunkRead: (_id, seq) => seen.push(seq) } });
    try {
      const data = randomBytes(200_000); // 13 chunks, the last one partial
      const { blobId, size } = await put(s, data);
      assert.equal(size, data.length);
      const range = { start: 16 * 1024 * 3 + 100, end: 16 * 1024 * 4 + 50 };
      assert.ok((await s.readBuffer(blobId, range)).equals(data.subarray(range.start, range.end)));
      assert.deepEqual(seen, [3, 4]);
      seen.length = 0;
      const parts: Buffer[] = [];
      for await (const part of s.read(blobId)) parts.push(part as Buffer);
      assert.ok(Buffer.concat(parts).equals(data));
      assert.deepEqual(seen, Array.from({ length: 13 }, (_, i) => i));
      assert.ok(parts.every((p) => p.length <= 16 * 1024), 'never more than a chunk at a time');
    } finally {
      await s.close();
    }
  });

  test('1 MiB chunks by COPY, read in slices of at most 256 KiB, one connection reused throughout', async () => {
    const seen: number[] = [];
    // One connection: a COPY that left it unusable (postgres.js's paused socket) would hang the next read.
    const s = await PostgresBlobStore.open(url, { max: 1, hooks: { chunkRead: (_id, seq) => seen.push(seq) } });
    try {
      const MiB = 1024 * 1024;
      const data = randomBytes(2 * MiB + 300_000); // two full chunks (COPY while writing), a last one by COPY in the commit
      const w = s.beginWrite();
      await w.write(data.subarray(0, MiB + 5)); // bigger than a chunk: split, never joined
      await w.write(data.subarray(MiB + 5));
      const { blobId, size } = await w.commit();
      assert.equal(size, data.length);
      const rows = await s.sql<Array<{ seq: number; n: number }>>`SELECT c.seq, octet_length(c.data) AS n
        FROM blob_chunks c JOIN blob_contents b USING (upload_id) WHERE b.blob_id = ${blobId} ORDER BY c.seq`;
      assert.deepEqual(rows.map((r) => [r.seq, r.n]), [[0, MiB], [1, MiB], [2, 300_000]]);

      const range = { start: MiB - 100, end: 2 * MiB + 200 }; // across both chunk boundaries
      const parts: Buffer[] = [];
      await s.pipeRange(blobId, range, async (chunk) => {
        assert.ok(chunk.length <= 256 * 1024);
        parts.push(Buffer.from(chunk));
      });
      assert.ok(Buffer.concat(parts).equals(data.subarray(range.start, range.end)));
      // 100 bytes of chunk 0, chunk 1 in four slices, 200 bytes of chunk 2.
      assert.deepEqual(seen, [0, 1, 1, 1, 1, 2]);
      assert.deepEqual(parts.map((p) => p.length), [100, 262_144, 262_144, 262_144, 262_144, 200]);

      const whole: Buffer[] = [];
      for await (const part of s.read(blobId)) whole.push(part as Buffer);
      assert.ok(Buffer.concat(whole).equals(data));
      assert.ok((await s.readBuffer(blobId, range)).equals(data.subarray(range.start, range.end)));

      // A small blob: its one chunk goes in the commit's INSERT.
      const small = await put(s, data.subarray(0, 5000));
      assert.ok((await s.readBuffer(small.blobId)).equals(data.subarray(0, 5000)));
    } finally {
      await s.close();
    }
  });

  test('a blob of at most 64 KiB is read with its row, in one statement and no COPY; a bigger one by COPY', async () => {
    const seen: number[] = [];
    const s = await PostgresBlobStore.open(url, { hooks: { chunkRead: (_id, seq) => seen.push(seq) } });
    try {
      const data = randomBytes(80 * 1024);
      const small = await put(s, data.subarray(0, 64 * 1024));
      const big = await put(s, data);
      const copies = await callsOf('COPY (SELECT substring(data');
      const located = await callsOf('FROM blob_contents c WHERE c.blob_id = $1');
      assert.ok((await s.readBuffer(small.blobId)).equals(data.subarray(0, 64 * 1024)));
      assert.ok((await s.readBuffer(small.blobId, { start: 10, end: 20 })).equals(data.subarray(10, 20)));
      const parts: Buffer[] = [];
      for await (const part of s.read(small.blobId, { start: 100, end: 64 * 1024 })) parts.push(part as Buffer);
      assert.ok(Buffer.concat(parts).equals(data.subarray(100, 64 * 1024)));
      const piped: Buffer[] = [];
      await s.pipeRange(small.blobId, { start: 0, end: 5 }, async (chunk) => void piped.push(Buffer.from(chunk)));
      assert.ok(Buffer.concat(piped).equals(data.subarray(0, 5)));
      assert.equal((await s.readBuffer(small.blobId, { start: 70_000, end: 80_000 })).length, 0, 'a range past the end');
      assert.equal(await callsOf('COPY (SELECT substring(data'), copies, 'no COPY for the small blob');
      assert.equal(await callsOf('FROM blob_contents c WHERE c.blob_id = $1'), located + 5);
      assert.deepEqual(seen, [0, 0, 0, 0, 0]);
      assert.ok((await s.readBuffer(big.blobId)).equals(data));
      assert.equal(await callsOf('COPY (SELECT substring(data'), copies + 1, 'the 80 KiB blob by COPY');
    } finally {
      await s.close();
    }
  });

  test('GC delete: a blob touched by a deduplicating commit within the grace period is kept', async () => {
    const s = await PostgresBlobStore.open(url);
    try {
      const data = randomBytes(3000);
      const { blobId } = await put(s, data);
      // Age it: as if written two hours ago.
      await s.sql`UPDATE blob_contents SET touched_at = now() - interval '2 hours' WHERE blob_id = ${blobId}`;
      assert.deepEqual(
        (await collectList(s.list(new Date(Date.now() - 3600_000)))).filter((id) => id === blobId),
        [blobId],
        'listed as untouched for an hour',
      );
      // A writer stores the same bytes: the commit touches the existing blob.
      const again = await put(s, data);
      assert.equal(again.blobId, blobId);
      await s.delete(blobId, { untouchedForSeconds: 3600 });
      assert.equal(await s.has(blobId), true, 'touched by the dedup, so kept');
      await s.sql`UPDATE blob_contents SET touched_at = now() - interval '2 hours' WHERE blob_id = ${blobId}`;
      await s.delete(blobId, { untouchedForSeconds: 3600 });
      assert.equal(await s.has(blobId), false);
      const [left] = await s.sql`SELECT count(*) AS n FROM blob_chunks c
        WHERE NOT EXISTS (SELECT 1 FROM blob_contents b WHERE b.upload_id = c.upload_id)
          AND NOT EXISTS (SELECT 1 FROM blob_uploads u WHERE u.upload_id = c.upload_id)`;
      assert.equal(left!.n, 0, 'no chunk belongs to nothing');
      assert.equal(createHash('sha256').update(data).digest('hex'), blobId);
    } finally {
      await s.close();
    }
  });

  test('a small blob commits in one statement, which may run twice (a retry after a lost connection) to the same end', async () => {
    const s = await PostgresBlobStore.open(url);
    try {
      const data = randomBytes(5000);
      const blobId = createHash('sha256').update(data).digest('hex');
      const w = s.beginWrite();
      await w.write(data);
      // What a retry of commit's statement does: run it again after it committed
      // (upsert(), the statement itself: store() runs it once per process).
      const { pending } = await w.commitPending!();
      assert.ok(pending, 'a body of one small chunk is left pending');
      assert.equal(await s.has(blobId), false, 'not stored by commitPending');
      const once = (pending as unknown as { upsert(): Promise<void> }).upsert.bind(pending);
      await once();
      await once();
      await pending.store();
      const rows = await s.sql<Array<{ seq: number; n: number }>>`SELECT c.seq, length(c.data) AS n FROM blob_chunks c
        JOIN blob_contents b ON b.upload_id = c.upload_id WHERE b.blob_id = ${blobId}`;
      assert.deepEqual(rows.map((r) => [r.seq, r.n]), [[0, 5000]], 'one chunk, stored once');
      assert.ok((await s.readBuffer(blobId)).equals(data));
      // Another writer of the same bytes touches the content row and stores no chunk of its own.
      const again = await put(s, data);
      assert.equal(again.blobId, blobId);
      const [{ n }] = await s.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM blob_chunks c
        WHERE NOT EXISTS (SELECT 1 FROM blob_contents b WHERE b.upload_id = c.upload_id)`;
      assert.equal(n, 0, 'no chunk belongs to nothing');
    } finally {
      await s.close();
    }
  });

  test('abandoned uploads are removed, committed blobs are not', async () => {
    const s = await PostgresBlobStore.open(url, { chunkSize: 4096 });
    try {
      const w = s.beginWrite();
      await w.write(randomBytes(10_000)); // two chunks stored, then the writer "crashes"
      const kept = await put(s, randomBytes(9000));
      await s.sql`UPDATE blob_uploads SET started_at = now() - interval '2 days'`;
      assert.ok((await s.removeAbandonedUploads(24 * 3600)) >= 1);
      const [n] = await s.sql`SELECT count(*) AS n FROM blob_chunks c
        WHERE NOT EXISTS (SELECT 1 FROM blob_contents b WHERE b.upload_id = c.upload_id)`;
      assert.equal(n!.n, 0);
      assert.equal((await s.readBuffer(kept.blobId)).length, 9000);
      await w.abort();
    } finally {
      await s.close();
    }
  });
});

async function collectList(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of it) out.push(id);
  return out;
}

/**
 * A TCP proxy to PostgreSQL that, once armed, cuts the connection that next
 * sends a binary COPY's output (the "PGCOPY" signature) before passing it on.
 */
class CopyOutCutter {
  private armed = false;
  cuts = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.relay(client));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  arm(): void {
    this.armed = true;
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (this.armed && d.includes(PGCOPY)) {
        this.armed = false;
        this.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const PGCOPY = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

test('a connection lost while a chunk is read by COPY is read again on a new one', async () => {
  const target = new URL(url);
  const proxy = new CopyOutCutter({ host: target.hostname, port: Number(target.port) });
  const proxied = new URL(url);
  proxied.port = String(await proxy.listen());
  const s = await PostgresBlobStore.open(proxied.toString(), { chunkSize: 64 * 1024, max: 2 });
  try {
    const data = randomBytes(150_000);
    const w = s.beginWrite();
    await w.write(data);
    const { blobId } = await w.commit();
    proxy.arm();
    assert.ok((await s.readBuffer(blobId)).equals(data));
    assert.equal(proxy.cuts, 1, 'the first COPY out was cut');
  } finally {
    await s.close();
    await proxy.close();
  }
});
