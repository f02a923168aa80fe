// Content-addressed blobs in PostgreSQL, for a cluster without shared disks.
//
// A writer streams its bytes as fixed-size chunks (default 1 MiB rows of
// blob_chunks) under a random upload id while hashing, so a message is never
// held whole in memory. Only commit() makes them a blob: one transaction
// inserts the blob_contents row (sha256 -> upload id). If the content is
// already stored, that row is "touched" instead and the new chunks are
// dropped. Readers fetch one chunk per query, and only the chunks a range
// needs (substring() on uncompressed, out-of-line storage reads just the
// needed part of a chunk).
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
import type { BlobDeleteOptions, BlobStore, BlobWriter, ByteRange } from '../../mail/ports.js';
import type { BlobId } from '../../mail/types.js';
import {
  connectPostgres,
  migrate,
  pgGuard,
  pgTransaction,
  type Migration,
  type PgGuardOptions,
  type Pg,
  type PgConnectOptions,
} from '../../store/postgres/pg.js';
import type { ReadRouter } from '../../store/postgres/read-routing.js';

const BLOB_ID = /^[0-9a-f]{64}$/;
const DEFAULT_CHUNK = 1024 * 1024;

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
  /** Uploads neither committed nor aborted for this long (a crashed writer) are removed at open (default 1 day). */
  abandonedUploadSeconds?: number;
  /** Test seam: called for every chunk a reader fetches. Never set in production. */
  hooks?: { chunkRead?: (blobId: BlobId, seq: number) => void };
}

interface Contents {
  upload_id: string;
  size: number;
  chunk_size: number;
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
    const sql = connectPostgres(url, { max: 4, ...options });
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

  private async contents(blobId: BlobId, sql = this.sql): Promise<Contents | undefined> {
    if (!BLOB_ID.test(blobId)) return undefined;
    const [row] = await pgGuard(
      () => sql<Contents[]>`SELECT upload_id, size, chunk_size FROM blob_contents WHERE blob_id = ${blobId}`,
      { sql, idempotent: true },
    );
    return row;
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

  read(blobId: BlobId, range?: ByteRange): Readable {
    return Readable.from(this.chunks(blobId, range), { objectMode: false, highWaterMark: 64 * 1024 });
  }

  /**
   * The bytes of `range`, one chunk query at a time (pulled: the consumer's
   * pace). Each query may go to another replica: physical replication gives
   * every node the same upload ids.
   */
  private async *chunks(blobId: BlobId, range?: ByteRange): AsyncGenerator<Buffer> {
    const c = await this.readImmutable((sql) => this.contents(blobId, sql), (row) => row === undefined);
    if (!c) throw new MailError('NOT_FOUND', `blob ${blobId} not found`);
    const start = Math.min(Math.max(0, range?.start ?? 0), c.size);
    const end = Math.max(start, Math.min(range?.end ?? c.size, c.size));
    if (end === start) return;
    for (let seq = Math.floor(start / c.chunk_size); seq * c.chunk_size < end; seq++) {
      const base = seq * c.chunk_size;
      const from = Math.max(start - base, 0);
      const length = Math.min(end - base, c.chunk_size) - from;
      this.options.hooks?.chunkRead?.(blobId, seq);
      const [row] = await this.readImmutable(
        (sql) =>
          pgGuard(
            () => sql<Array<{ data: Buffer }>>`SELECT substring(data FROM ${from + 1}::int FOR ${length}::int) AS data
              FROM blob_chunks WHERE upload_id = ${c.upload_id} AND seq = ${seq}`,
            { sql, idempotent: true },
          ),
        (rows) => rows[0]?.data.length !== length,
      );
      if (!row || row.data.length !== length)
        throw new MailError('NOT_FOUND', `blob ${blobId} was deleted while being read (chunk ${seq})`);
      yield row.data;
    }
  }

  async readBuffer(blobId: BlobId, range?: ByteRange): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.chunks(blobId, range)) parts.push(part);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
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

  /** Takes `n` buffered bytes off the front. */
  private take(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }

  private async flushFull(): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.pendingBytes >= this.store.chunkSize) await this.insertChunk(this.take(this.store.chunkSize));
  }

  private async insertChunk(data: Buffer): Promise<void> {
    const seq = this.nextSeq++;
    const sql = this.store.sql;
    await pgGuard(async () => {
      if (seq === 0) await sql`INSERT INTO blob_uploads (upload_id) VALUES (${this.uploadId}::uuid)`;
      await sql`INSERT INTO blob_chunks (upload_id, seq, data) VALUES (${this.uploadId}::uuid, ${seq}, ${data})`;
    }, { sql }); // not repeated after a lost connection (the insert may have happened): the delivery fails, 4xx
  }

  async commit(): Promise<{ blobId: BlobId; size: number }> {
    if (this.state !== 'open') throw new Error('blob writer is closed');
    this.state = 'committing';
    try {
      await this.queue;
      if (this.failure) throw this.failure;
      await this.flushFull();
      const blobId = this.hash.digest('hex');
      const last = this.pendingBytes > 0 ? this.take(this.pendingBytes) : null;
      const { sql, chunkSize } = this.store;
      await pgTransaction(sql, async (tx) => {
        const [row] = await tx<Array<{ upload_id: string }>>`INSERT INTO blob_contents (blob_id, upload_id, size, chunk_size)
          VALUES (${blobId}, ${this.uploadId}::uuid, ${this.size}, ${chunkSize})
          ON CONFLICT (blob_id) DO UPDATE SET touched_at = now()
          RETURNING upload_id`;
        const mine = row!.upload_id === this.uploadId;
        if (mine && last)
          await tx`INSERT INTO blob_chunks (upload_id, seq, data) VALUES (${this.uploadId}::uuid, ${this.nextSeq}, ${last})`;
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
