// Content-addressed blobs in PostgreSQL, for a cluster without shared disks.
//
// A writer streams its bytes as fixed-size chunks (default 1 MiB rows of
// blob_chunks) under a random upload id while hashing, so a message is never
// held whole in memory. Only commit() makes them a blob: one transaction
// inserts the blob_contents row (sha256 -> upload id). If the content is
// already stored, that row is "touched" instead and the new chunks are
// dropped. Readers fetch a slice of at most READ_SLICE bytes of one chunk per
// query, and only the slices a range needs (substring() on uncompressed,
// out-of-line storage reads just the needed part of a chunk). Chunk bytes go
// in and out by binary COPY (./pg-copy.ts), not as bytea parameters and
// results, which postgres.js turns into hex text (twice the bytes, copied
// several times: the garbage grew the server by 100 MB during a 200 MB
// APPEND). pipeRange reads into two pooled buffers, as the file store's.
// Most messages are small, though: a blob of at most WHOLE_READ bytes comes
// whole with its blob_contents row, as a bytea, in the one statement that
// finds it (a COPY would be a second round trip, on a reserved connection,
// of a statement parsed and planned every time).
//
// GC protocol (src/blob/gc.ts): touched_at is the "last written or
// deduplicated" time, on the database's clock (the same for every server).
// delete(id, { untouchedForSeconds }) is one DELETE ... WHERE touched_at <
// now() - grace: a committing writer that deduplicates updates the same row,
// so either its touch commits first (the DELETE, waiting on the row lock,
// re-checks the new touched_at and keeps the blob), or the DELETE commits
// first (the writer's upsert then inserts its own, complete copy).

import { createHash, randomUUID, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MailError } from '../../mail/errors.js';
import type { BlobDeleteOptions, BlobStore, BlobWriter, ByteRange, PendingBody } from '../../mail/ports.js';
import type { BlobId } from '../../mail/types.js';
import {
  closesConnection,
  connectPostgres,
  migrate,
  pgGuard,
  pgIdempotent,
  pgTransaction,
  runPrepared,
  type Migration,
  type PgGuardOptions,
  type Pg,
  type PgConnectOptions,
  type PgQuery,
} from '../../store/postgres/pg.js';
import type { ReadRouter } from '../../store/postgres/read-routing.js';
import { PIPE_CHUNK, pipeDoubleBuffered } from '../pipe-buffers.js';
import { copyChunkIn, copyChunkSliceOut, type ChunkSlice } from './pg-copy.js';

const BLOB_ID = /^[0-9a-f]{64}$/;
const DEFAULT_CHUNK = 1024 * 1024;
/** Bytes per read query at most: the size of pipeRange's pooled buffers. */
const READ_SLICE = PIPE_CHUNK;
/**
 * A blob's last chunk below this size goes into the commit's transaction as a
 * bytea parameter (hex: twice its size, briefly), one statement; bigger ones
 * by COPY, which costs a round trip more.
 */
const SMALL_CHUNK = 16 * 1024;
/** A blob of at most this many bytes (in one chunk) is read whole by the statement that locates it. */
const WHOLE_READ = 64 * 1024;

export const BLOBSTORE_COMPONENT = 'blobstore';

export const BLOBSTORE_MIGRATIONS: readonly Migration[] = [
  {
    description: 'chunked blobs',
    sql: `
  -- Uploads in progress: a row lives from the first chunk to commit/abort.
  CREATE TABLE blob_uploads (
    upload_id UUID PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
  CREATE INDEX blob_uploads_started ON blob_uploads (started_at);

  CREATE TABLE blob_chunks (
    upload_id UUID NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (upload_id, seq)
  );
  -- Out of line and uncompressed, so substring() reads only what a range needs.
  ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

  CREATE TABLE blob_contents (
    blob_id TEXT COLLATE "C" PRIMARY KEY,
    upload_id UUID NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    chunk_size INTEGER NOT NULL,
    touched_at TIMESTAMPTZ NOT NULL DEFAULT now()
  );
  CREATE INDEX blob_contents_touched ON blob_contents (touched_at);
  `,
  },
];

export interface PostgresBlobStoreOptions extends PgConnectOptions {
  /** Bytes per chunk row (default 1 MiB). Only new blobs use a changed value. */
  chunkSize?: number;
  /**
   * Set when every blob is referred to by metadata that commits later in the
   * same database (a repository whose bodies live in its own database): the
   * blob's commits then return before their WAL is flushed, and the
   * metadata's commit, which waits for the flush (and for the synchronous
   * standbys), makes the blob durable too: the WAL is one sequence, written
   * and streamed in order. A crash before it loses only a blob nothing refers
   * to yet. After a fail-over in between, the append finds the body missing
   * and answers UNAVAILABLE (store/postgres/messages.ts, bodiesFound).
   */
  asyncCommit?: boolean;
  /** Uploads neither committed nor aborted for this long (a crashed writer) are removed at open (default 1 day). */
  abandonedUploadSeconds?: number;
  /** Test seam: called for every read query (a slice of chunk `seq`). Never set in production. */
  hooks?: { chunkRead?: (blobId: BlobId, seq: number) => void };
}

interface Contents {
  upload_id: string;
  size: number;
  chunk_size: number;
}

/** $1 the blob id: its row, and its bytes when it is at most $2 bytes, in one chunk (null otherwise, or without its chunk). */
const LOCATE = `SELECT c.upload_id, c.size, c.chunk_size,
    CASE WHEN c.size <= $2 AND c.size <= c.chunk_size
      THEN (SELECT k.data FROM blob_chunks k WHERE k.upload_id = c.upload_id AND k.seq = 0) END AS data
  FROM blob_contents c WHERE c.blob_id = $1`;

type LocateRow = Contents & { data: Buffer | null };

/** A located blob: its row, and `whole` its bytes when they came with it (a small blob). */
interface Located extends Contents {
  whole: Buffer | null;
}

export class PostgresBlobStore implements BlobStore {
  readonly chunkSize: number;
  /** Read replicas of the same database: bodies are immutable, so any of them may serve a read. */
  private router: ReadRouter | null = null;
  /** pgGuard options of our reads: bounded by this pool's timeouts, run again after a lost connection. */
  private readonly reads: PgGuardOptions;

  private constructor(
    readonly sql: Pg,
    private readonly options: PostgresBlobStoreOptions,
  ) {
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
    this.reads = { sql, idempotent: true };
    if (!(this.chunkSize >= 1024 && this.chunkSize <= 64 * 1024 * 1024))
      throw new Error('PostgresBlobStore: chunkSize must be between 1 KiB and 64 MiB');
  }

  /** Connects (its own pool), migrates the blob tables and removes abandoned uploads. */
  static async open(url: string, options: PostgresBlobStoreOptions = {}): Promise<PostgresBlobStore> {
    // Nagle off: every chunk write ends with a small CopyDone (see noDelaySockets in pg.ts).
    const sql = connectPostgres(url, { max: 4, noDelay: true, ...options });
    try {
      await migrate(sql, BLOBSTORE_COMPONENT, BLOBSTORE_MIGRATIONS);
      const store = new PostgresBlobStore(sql, options);
      await store.removeAbandonedUploads(options.abandonedUploadSeconds ?? 24 * 3600);
      return store;
    } catch (err) {
      await sql.end({ timeout: 5 });
      throw err;
    }
  }

  /** The database's read replicas (set once, at open). */
  useReadRouter(router: ReadRouter): void {
    this.router = router;
  }

  beginWrite(): BlobWriter {
    return new PgBlobWriter(this);
  }

  /** The blob's row, with its bytes when it is at most `wholeUpTo` bytes (LOCATE); undefined if absent. */
  private async contents(blobId: BlobId, sql = this.sql, wholeUpTo = 0): Promise<LocateRow | undefined> {
    if (!BLOB_ID.test(blobId)) return undefined;
    return pgGuard(async () => (await runPrepared<LocateRow[]>(sql, LOCATE, [blobId, wholeUpTo]))[0], { sql, idempotent: true });
  }

  private async requireContents(blobId: BlobId): Promise<Contents> {
    const row = await this.contents(blobId);
    if (!row) throw new MailError('NOT_FOUND', `blob ${blobId} not found`);
    return row;
  }

  async has(blobId: BlobId): Promise<boolean> {
    return (await this.contents(blobId)) !== undefined;
  }

  async size(blobId: BlobId): Promise<number> {
    return (await this.requireContents(blobId)).size;
  }

  /** A read of immutable rows: through the read replicas when there are any (the primary when one lacks them). */
  private readImmutable<T>(fn: (sql: Pg) => Promise<T>, missing: (value: T) => boolean): Promise<T> {
    return this.router ? this.router.readImmutable(fn, missing) : fn(this.sql);
  }

  /**
   * The blob's row, through the replicas, with its bytes when it is small;
   * NOT_FOUND if absent. A replica without the row, or without a small
   * blob's chunk, sends the read to the primary.
   */
  private async locate(blobId: BlobId): Promise<Located> {
    const wholeOf = (row: LocateRow): Buffer | null =>
      row.size === 0 ? Buffer.alloc(0) : row.data !== null && row.data.length === row.size ? row.data : null;
    const row = await this.readImmutable(
      (sql) => this.contents(blobId, sql, WHOLE_READ),
      (r) => r === undefined || (r.size <= WHOLE_READ && r.size <= r.chunk_size && wholeOf(r) === null),
    );
    if (!row) throw new MailError('NOT_FOUND', `blob ${blobId} not found`);
    const whole = wholeOf(row);
    if (whole) this.options.hooks?.chunkRead?.(blobId, 0);
    return { upload_id: row.upload_id, size: row.size, chunk_size: row.chunk_size, whole };
  }

  /** `range` within the blob (clamped to its size). */
  private static clamp(c: Contents, range?: ByteRange): { start: number; end: number } {
    const start = Math.min(Math.max(0, range?.start ?? 0), c.size);
    return { start, end: Math.max(start, Math.min(range?.end ?? c.size, c.size)) };
  }

  /** The slices [start, end) maps to, in order: each within one chunk, at most READ_SLICE bytes. */
  private static *slices(c: Contents, start: number, end: number): Generator<ChunkSlice> {
    for (let pos = start; pos < end; ) {
      const seq = Math.floor(pos / c.chunk_size);
      const from = pos - seq * c.chunk_size;
      const length = Math.min(end - pos, c.chunk_size - from, READ_SLICE);
      yield { uploadId: c.upload_id, seq, from, length };
      pos += length;
    }
  }

  /**
   * Copies `slice` into `target` (slice.length bytes). Each query may go to
   * another replica: physical replication gives every node the same upload
   * ids. The COPY needs a connection of its own, reserved for that query.
   */
  private async readSlice(blobId: BlobId, slice: ChunkSlice, target: Buffer): Promise<void> {
    this.options.hooks?.chunkRead?.(blobId, slice.seq);
    const copied = await this.readImmutable(
      (sql) => pgGuard(() => withReserved(sql, (conn) => copyChunkSliceOut(conn, slice, target)), { sql, idempotent: true }),
      (n) => n !== slice.length,
    );
    if (copied !== slice.length)
      throw new MailError('NOT_FOUND', `blob ${blobId} was deleted while being read (chunk ${slice.seq})`);
  }

  read(blobId: BlobId, range?: ByteRange): Readable {
    return Readable.from(this.slicesOf(blobId, range), { objectMode: false, highWaterMark: 64 * 1024 });
  }

  /** The bytes of `range`, one slice query at a time (pulled: the consumer's pace), each in a buffer of its own. */
  private async *slicesOf(blobId: BlobId, range?: ByteRange): AsyncGenerator<Buffer> {
    const c = await this.locate(blobId);
    const { start, end } = PostgresBlobStore.clamp(c, range);
    if (c.whole) {
      if (end > start) yield c.whole.subarray(start, end);
      return;
    }
    for (const slice of PostgresBlobStore.slices(c, start, end)) {
      const data = Buffer.allocUnsafe(slice.length);
      await this.readSlice(blobId, slice, data);
      yield data;
    }
  }

  async readBuffer(blobId: BlobId, range?: ByteRange): Promise<Buffer> {
    const c = await this.locate(blobId);
    const { start, end } = PostgresBlobStore.clamp(c, range);
    if (c.whole) return c.whole.subarray(start, end);
    const out = Buffer.allocUnsafe(end - start);
    for (const slice of PostgresBlobStore.slices(c, start, end)) {
      const at = slice.seq * c.chunk_size + slice.from - start;
      await this.readSlice(blobId, slice, out.subarray(at, at + slice.length));
    }
    return out;
  }

  /** Slice by slice through two pooled buffers (../pipe-buffers.ts; READ_SLICE is their size). */
  async pipeRange(blobId: BlobId, range: ByteRange, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    const c = await this.locate(blobId);
    const { start, end } = PostgresBlobStore.clamp(c, range);
    if (c.whole) {
      if (end > start) await sink(c.whole.subarray(start, end));
      return;
    }
    function* reads(store: PostgresBlobStore): Iterable<(buf: Buffer) => Promise<number>> {
      for (const slice of PostgresBlobStore.slices(c, start, end)) {
        yield async (buf) => {
          await store.readSlice(blobId, slice, buf.subarray(0, slice.length));
          return slice.length;
        };
      }
    }
    await pipeDoubleBuffered(reads(this), sink);
  }

  async delete(blobId: BlobId, options: BlobDeleteOptions = {}): Promise<void> {
    if (!BLOB_ID.test(blobId)) return;
    const grace = Math.max(0, options.untouchedForSeconds ?? 0);
    await pgTransaction(this.sql, async (tx) => {
      const gone = await tx<Array<{ upload_id: string }>>`DELETE FROM blob_contents
        WHERE blob_id = ${blobId} AND touched_at < now() - make_interval(secs => ${grace}::double precision)
        RETURNING upload_id`;
      if (gone[0]) await tx`DELETE FROM blob_chunks WHERE upload_id = ${gone[0].upload_id}::uuid`;
    });
  }

  async *list(touchedBefore: Date): AsyncIterable<BlobId> {
    // Keyset pages: no cursor holds a connection while the caller works.
    let after = '';
    for (;;) {
      const rows = await pgGuard(
        () => this.sql<Array<{ blob_id: string }>>`SELECT blob_id FROM blob_contents
          WHERE touched_at < ${touchedBefore} AND blob_id > ${after} ORDER BY blob_id LIMIT 500`,
        this.reads,
      );
      for (const r of rows) yield r.blob_id;
      if (rows.length < 500) return;
      after = rows[rows.length - 1]!.blob_id;
    }
  }

  /** Drops uploads a crashed writer left behind (older than `olderThanSeconds`). Returns how many. */
  async removeAbandonedUploads(olderThanSeconds: number): Promise<number> {
    return pgTransaction(this.sql, async (tx) => {
      const old = await tx<Array<{ upload_id: string }>>`DELETE FROM blob_uploads
        WHERE started_at < now() - make_interval(secs => ${olderThanSeconds}::double precision) RETURNING upload_id`;
      if (old.length === 0) return 0;
      const ids = old.map((r) => r.upload_id);
      await tx`DELETE FROM blob_chunks c WHERE c.upload_id = ANY(${ids}::uuid[])
        AND NOT EXISTS (SELECT 1 FROM blob_contents b WHERE b.upload_id = c.upload_id)`;
      return old.length;
    });
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

// A blob's commit runs one of these (every delivery): constant texts
// (runPrepared), not rebuilt from fragments at each execution.

/**
 * The content row's upsert: $1 blob id, $2 upload id, $3 size, $4 chunk
 * size. When the row is not this upload's (the content was stored already,
 * and the upsert touched it), the transaction commits synchronously even on
 * an asyncCommit pool (`durable`). The blob GC keeps a body touched within
 * its grace period (src/blob/gc.ts); a touch of a body stored long ago, lost
 * at a fail-over while the body survives, would let the GC delete it under
 * the message about to refer to it. A new body needs no such care: one lost
 * with its commit is found missing by the append.
 */
const UPSERT_CONTENT = `INSERT INTO blob_contents (blob_id, upload_id, size, chunk_size)
  VALUES ($1, $2::uuid, $3, $4)
  ON CONFLICT (blob_id) DO UPDATE SET touched_at = now()
  RETURNING upload_id, CASE WHEN upload_id <> $2::uuid THEN set_config('synchronous_commit', 'on', true) END AS durable`;

/** UPSERT_CONTENT and the blob's only chunk, $5 (bytea), if the row is this upload's: commitInOneStatement. */
const UPSERT_CONTENT_WITH_CHUNK = `WITH content AS (${UPSERT_CONTENT})
  INSERT INTO blob_chunks (upload_id, seq, data)
  SELECT upload_id, 0, $5::bytea FROM content WHERE upload_id = $2::uuid
  ON CONFLICT (upload_id, seq) DO NOTHING`;

class PgBlobWriter implements BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private readonly uploadId = randomUUID();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private size = 0;
  private nextSeq = 0;
  private queue: Promise<void> = Promise.resolve();
  private state: 'open' | 'committing' | 'done' = 'open';
  /** A failed chunk insert: the blob can no longer be committed. */
  private failure: unknown = null;

  constructor(private readonly store: PostgresBlobStore) {}

  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error('blob writer is closed'));
    if (this.failure) return Promise.reject(this.failure);
    this.hash.update(chunk);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.store.chunkSize) return this.queue;
    // Full chunks go out now; the caller's next write waits for them (backpressure).
    const next = this.queue.then(() => this.flushFull());
    this.queue = next.catch((err: unknown) => {
      this.failure ??= err;
    });
    return next;
  }

  /** Takes `n` buffered bytes off the front, as the buffers (or parts of them) they are in: nothing is copied. */
  private take(n: number): Buffer[] {
    const out: Buffer[] = [];
    for (let need = n; need > 0; ) {
      const head = this.pending[0]!;
      if (head.length <= need) {
        out.push(head);
        this.pending.shift();
        need -= head.length;
      } else {
        out.push(head.subarray(0, need));
        this.pending[0] = head.subarray(need);
        need = 0;
      }
    }
    this.pendingBytes -= n;
    return out;
  }

  private async flushFull(): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.pendingBytes >= this.store.chunkSize) await this.insertChunk(this.take(this.store.chunkSize));
  }

  private async insertChunk(parts: Buffer[]): Promise<void> {
    const seq = this.nextSeq++;
    const sql = this.store.sql;
    await pgGuard(
      () =>
        withReserved(sql, async (conn) => {
          if (seq === 0) await conn`INSERT INTO blob_uploads (upload_id) VALUES (${this.uploadId}::uuid)`;
          await copyChunkIn(conn, this.uploadId, seq, parts);
        }),
      { sql },
    ); // not repeated after a lost connection (the insert may have happened): the delivery fails, 4xx
  }

  commit(): Promise<{ blobId: BlobId; size: number }> {
    return this.finish(false);
  }

  /** A body in one small chunk (or none) is left to the append: see PgPendingBody. */
  commitPending(): Promise<{ blobId: BlobId; size: number; pending?: PendingBody }> {
    return this.finish(true);
  }

  private async finish(leavePending: boolean): Promise<{ blobId: BlobId; size: number; pending?: PgPendingBody }> {
    if (this.state !== 'open') throw new Error('blob writer is closed');
    this.state = 'committing';
    try {
      await this.queue;
      if (this.failure) throw this.failure;
      await this.flushFull();
      const blobId = this.hash.digest('hex');
      const lastBytes = this.pendingBytes;
      const last = lastBytes > 0 ? this.take(lastBytes) : null;
      const { sql, chunkSize } = this.store;
      if (this.nextSeq === 0 && (!last || lastBytes < SMALL_CHUNK)) {
        const body = new PgPendingBody(this.store, blobId, this.uploadId, this.size, last ? Buffer.concat(last) : null);
        if (!leavePending) await body.store();
        this.state = 'done';
        return leavePending ? { blobId, size: this.size, pending: body } : { blobId, size: this.size };
      }
      await pgTransaction(sql, async (tx) => {
        const [row] = await runPrepared<Array<{ upload_id: string }>>(tx, UPSERT_CONTENT, [blobId, this.uploadId, this.size, chunkSize]);
        const mine = row!.upload_id === this.uploadId;
        if (mine && last && lastBytes < SMALL_CHUNK)
          await tx`INSERT INTO blob_chunks (upload_id, seq, data) VALUES (${this.uploadId}::uuid, ${this.nextSeq}, ${Buffer.concat(last)})`;
        else if (mine && last) await copyChunkIn(tx, this.uploadId, this.nextSeq, last);
        if (!mine && this.nextSeq > 0) await tx`DELETE FROM blob_chunks WHERE upload_id = ${this.uploadId}::uuid`;
        if (this.nextSeq > 0) await tx`DELETE FROM blob_uploads WHERE upload_id = ${this.uploadId}::uuid`;
      });
      this.state = 'done';
      return { blobId, size: this.size };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    this.state = 'done';
    this.pending = [];
    this.pendingBytes = 0;
    await this.queue.catch(() => {});
    if (this.nextSeq === 0) return;
    // If a commit's outcome is unknown (connection lost), its chunks may now
    // be a blob: delete them only if no blob uses them.
    const id = this.uploadId;
    await pgTransaction(this.store.sql, async (tx) => {
      await tx`DELETE FROM blob_chunks WHERE upload_id = ${id}::uuid
        AND NOT EXISTS (SELECT 1 FROM blob_contents WHERE upload_id = ${id}::uuid)`;
      await tx`DELETE FROM blob_uploads WHERE upload_id = ${id}::uuid`;
    }).catch(() => {
      // Unreachable database: removeAbandonedUploads() cleans up later.
    });
  }
}

/**
 * A blob with no chunk stored yet and at most one small one to store (most
 * messages). store() writes the content row and that chunk in one
 * statement, its own transaction, instead of BEGIN, two statements and
 * COMMIT (a round trip each). Running it twice changes nothing (the content
 * row is touched again, the chunk is already there), so it is retried after
 * a lost connection. If the content exists already, the chunk is not
 * stored. Left pending (commitPending), the same two inserts go into the
 * append's statement in the metadata's database, which is this one
 * (messages.ts, appendInOneStatement): the body and its message commit
 * together, one statement and one commit less per delivery.
 */
export class PgPendingBody implements PendingBody {
  private stored: Promise<void> | null = null;

  constructor(
    /** The store whose writer left it (its pool and chunk size). */
    readonly owner: PostgresBlobStore,
    readonly blobId: BlobId,
    readonly uploadId: string,
    readonly size: number,
    /** The only chunk; null for an empty body. */
    readonly data: Buffer | null,
  ) {}

  get chunkSize(): number {
    return this.owner.chunkSize;
  }

  store(): Promise<void> {
    // A failed store may be tried again; a stored body is not written twice by this process.
    this.stored ??= this.upsert().catch((err: unknown) => {
      this.stored = null;
      throw err;
    });
    return this.stored;
  }

  private async upsert(): Promise<void> {
    const { sql } = this.owner;
    const content = [this.blobId, this.uploadId, this.size, this.chunkSize];
    if (this.data === null) await pgIdempotent(sql, (q) => runPrepared(q, UPSERT_CONTENT, content));
    else await pgIdempotent(sql, (q) => runPrepared(q, UPSERT_CONTENT_WITH_CHUNK, [...content, this.data]));
  }
}

/** Runs `fn` on one connection of the pool, reserved for it (a COPY must not share its connection). */
async function withReserved<T>(sql: Pg, fn: (conn: PgQuery) => Promise<T>): Promise<T> {
  const conn = await sql.reserve();
  let result: T;
  try {
    result = await fn(conn);
  } catch (err) {
    // A connection that closed is already back in postgres.js's closed
    // queue: release() would put it among the open ones, and the next query
    // given to it would write to a null socket inside a setImmediate, an
    // uncaught TypeError that ends the process (postgres.js 3.4.9).
    if (!closesConnection(err)) conn.release();
    throw err;
  }
  conn.release();
  return result;
}
