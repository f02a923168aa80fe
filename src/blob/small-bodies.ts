// The embedded server's blob store: bodies up to `maxBytes` in a table of the
// metadata's own database (SmallBodyTable: src/store/sqlite/small-bodies.ts),
// bigger ones in another store (the files of ./fs). A small body is kept in
// memory while it arrives and stored at commit without a flush of its own:
// the commit of the message that refers to it, in the same database, makes
// it durable (BlobWriter.commit's second case). A delivery then waits for
// one flush, the database's WAL, instead of three (the blob file, its
// directory, the WAL). A writer that passes `maxBytes` hands what it has to
// the other store's writer and streams on there.
//
// Both places are content-addressed with the same ids. A body stored in the
// files before (an older Petrel, or a bigger limit earlier) stays there and
// is read there; one written again is stored where its size now puts it, so
// the same id may be in both places for a while: reads try the table first,
// delete() removes both, has() and list() look at both.

import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobDeleteOptions, BlobStore, BlobWriter, ByteRange } from '../mail/ports.js';
import type { BlobId } from '../mail/types.js';

const RESOLVED = Promise.resolve();

/** Where small bodies live: synchronous (an embedded database on this thread). */
export interface SmallBodyTable {
  /** Stores the body, or refreshes the last touch of the same one already there; durable with the database's next synced commit. */
  put(blobId: BlobId, data: Buffer): void;
  /** put() of each, durable when it returns. */
  putDurably(bodies: ReadonlyArray<{ blobId: BlobId; bytes: Buffer }>): void;
  /** The body, or `range` of it (clamped to its size); null if absent. */
  get(blobId: BlobId, range?: ByteRange): Buffer | null;
  size(blobId: BlobId): number | null;
  /** Removes it if untouched for that many seconds (0: in any case), atomically against put(). */
  delete(blobId: BlobId, untouchedForSeconds: number): void;
  /** Ids last touched before `touchedBefore`. */
  list(touchedBefore: Date): Iterable<BlobId>;
}

/** The other place: a store with the optional BlobStore methods this one passes on (the file store). */
export type LargeBodyStore = BlobStore & Required<Pick<BlobStore, 'pipeRange' | 'storeBatch' | 'list'>>;

export class SmallBodiesBlobStore implements BlobStore {
  /** Small bodies are copied on arrival; big ones go to a store that must copy too. */
  readonly writerCopiesChunks: boolean;

  /**
   * @param maxBytes bodies of at most this many bytes go to `table` (0: none)
   */
  constructor(
    readonly table: SmallBodyTable,
    readonly large: LargeBodyStore,
    readonly maxBytes: number,
  ) {
    this.writerCopiesChunks = large.writerCopiesChunks === true;
  }

  beginWrite(): BlobWriter {
    if (this.maxBytes <= 0) return this.large.beginWrite();
    return new SmallFirstWriter(this);
  }

  // An id that is not a content address is simply not in the table: the
  // large store decides what such an id gets (false, NOT_FOUND).
  async has(blobId: BlobId): Promise<boolean> {
    return this.table.size(blobId) !== null || this.large.has(blobId);
  }

  async size(blobId: BlobId): Promise<number> {
    return this.table.size(blobId) ?? this.large.size(blobId);
  }

  read(blobId: BlobId, range?: ByteRange): Readable {
    const small = this.table.get(blobId, range);
    if (small === null) return this.large.read(blobId, range);
    return new Readable({
      read() {
        if (small.length > 0) this.push(small);
        this.push(null);
      },
    });
  }

  async readBuffer(blobId: BlobId, range?: ByteRange): Promise<Buffer> {
    return this.table.get(blobId, range) ?? this.large.readBuffer(blobId, range);
  }

  async pipeRange(blobId: BlobId, range: ByteRange, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    const small = this.table.get(blobId, range);
    if (small !== null) {
      if (small.length > 0) await sink(small);
      return;
    }
    return this.large.pipeRange(blobId, range, sink);
  }

  async delete(blobId: BlobId, options: BlobDeleteOptions = {}): Promise<void> {
    this.table.delete(blobId, options.untouchedForSeconds ?? 0);
    await this.large.delete(blobId, options);
  }

  async storeBatch(blobs: ReadonlyArray<{ blobId: BlobId; bytes: Buffer }>): Promise<void> {
    const small = this.maxBytes > 0 ? blobs.filter((b) => b.bytes.length <= this.maxBytes) : [];
    const large = small.length === 0 ? blobs : blobs.filter((b) => b.bytes.length > this.maxBytes);
    this.table.putDurably(small);
    if (large.length > 0) await this.large.storeBatch(large);
  }

  async *list(touchedBefore: Date): AsyncIterable<BlobId> {
    yield* this.table.list(touchedBefore);
    yield* this.large.list(touchedBefore);
  }

  close(): Promise<void> {
    return this.large.close();
  }

}

/** Keeps the body in memory up to the limit, then streams on into the large store's writer. */
class SmallFirstWriter implements BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private chunks: Buffer[] = [];
  private bytes = 0;
  private large: BlobWriter | null = null;
  /** While the large writer is being handed the buffered chunks: later chunks wait for it (copied). */
  private feeding: Promise<void> | null = null;
  private state: 'open' | 'committing' | 'done' = 'open';

  constructor(private readonly store: SmallBodiesBlobStore) {}

  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error('blob writer is closed'));
    const large = this.large;
    if (large) {
      if (this.feeding === null) return large.write(chunk);
      // Copied now, not when the feeding reaches it: the caller may reuse
      // its buffer as soon as write() returns (writerCopiesChunks).
      const copy = Buffer.from(chunk);
      return this.afterFeeding(() => large.write(copy));
    }
    this.chunks.push(Buffer.from(chunk));
    this.bytes += chunk.length;
    if (this.bytes <= this.store.maxBytes) {
      this.hash.update(chunk);
      return RESOLVED;
    }
    // Past the limit: the large store's writer gets every chunk so far, one
    // write at a time (its backpressure), and each chunk from now on.
    const buffered = this.chunks;
    this.chunks = [];
    const writer = (this.large = this.store.large.beginWrite());
    return this.afterFeeding(async () => {
      for (const c of buffered) await writer.write(c);
    });
  }

  /** Runs `next` once what is being fed has been written; later writes wait for it in turn. */
  private afterFeeding(next: () => Promise<void>): Promise<void> {
    const p = (this.feeding ?? RESOLVED).then(next);
    this.feeding = p;
    p.then(
      () => {
        if (this.feeding === p) this.feeding = null;
      },
      () => {},
    );
    return p;
  }

  async commit(): Promise<{ blobId: BlobId; size: number }> {
    if (this.state !== 'open') throw new Error('blob writer is closed');
    this.state = 'committing';
    if (this.large) {
      try {
        await this.feeding;
        return await this.large.commit();
      } catch (err) {
        await this.large.abort();
        throw err;
      } finally {
        this.state = 'done';
      }
    }
    try {
      const blobId = this.hash.digest('hex');
      const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
      this.store.table.put(blobId, data); // the database's errors come mapped (UNAVAILABLE: busy, full, I/O)
      return { blobId, size: this.bytes };
    } finally {
      this.chunks = [];
      this.state = 'done';
    }
  }

  async abort(): Promise<void> {
    this.state = 'done';
    this.chunks = [];
    if (!this.large) return;
    await this.feeding?.catch(() => {});
    await this.large.abort();
  }
}
