// The `small_bodies` table of the embedded database: message bodies up to
// storage.inline_body_max_bytes, content-addressed, for the blob store of
// src/blob/small-bodies.ts. A body written here is durable with the next
// synced commit of the database (SqlDb.writeUnsynced), which for a delivery
// or an APPEND is the commit of the message that refers to it: one WAL flush
// instead of three (the blob file, its directory, the WAL).

import type { SmallBodyTable } from '../../blob/small-bodies.js';
import type { ByteRange } from '../../mail/ports.js';
import type { BlobId } from '../../mail/types.js';
import type { SqlDb } from './db.js';

/** Stores a body, or refreshes the touch of the copy already there: put(). */
const PUT = `INSERT INTO small_bodies (blob_id, touched_at, data) VALUES (?, ?, ?)
  ON CONFLICT (blob_id) DO UPDATE SET touched_at = excluded.touched_at`;

/** Ids listed per query by list() (the orphan sweep), so no statement holds the read snapshot long. */
const LIST_PAGE = 1000;

export class SqliteSmallBodies implements SmallBodyTable {
  constructor(private readonly sql: SqlDb) {}

  /**
   * Stores the body, or refreshes the touch of the copy already there (a
   * writer's dedup, which the garbage collector's grace period counts from:
   * src/blob/gc.ts). One statement, so a concurrent delete() either ran
   * before it (the body is stored again) or sees the new touch.
   */
  put(blobId: BlobId, data: Buffer): void {
    this.sql.writeUnsynced(() => this.sql.stmt(PUT).run(blobId, Date.now(), data));
  }

  /** put() of each, in one transaction whose WAL is fsynced before it returns (imports: durable before their metadata commits). */
  putDurably(bodies: ReadonlyArray<{ blobId: BlobId; bytes: Buffer }>): void {
    if (bodies.length === 0) return;
    const now = Date.now();
    this.sql.write(() => {
      const insert = this.sql.stmt(PUT);
      for (const b of bodies) insert.run(b.blobId, now, b.bytes);
    });
  }

  /** The body, or `range` of it (clamped to its size); null if it is not here. */
  get(blobId: BlobId, range?: ByteRange): Buffer | null {
    if (range) {
      const start = Math.max(0, range.start);
      const length = Math.max(0, Math.min(range.end, Number.MAX_SAFE_INTEGER) - start);
      // substr() on a BLOB counts bytes, from 1.
      const row = this.sql.stmt('SELECT substr(data, ?, ?) AS data FROM small_bodies WHERE blob_id = ?').get(start + 1, length, blobId) as
        | { data: Buffer | null }
        | undefined;
      if (!row) return null;
      return row.data ?? Buffer.alloc(0);
    }
    const row = this.sql.stmt('SELECT data FROM small_bodies WHERE blob_id = ?').get(blobId) as { data: Buffer } | undefined;
    return row ? row.data : null;
  }

  size(blobId: BlobId): number | null {
    const n = this.sql.stmt('SELECT length(data) FROM small_bodies WHERE blob_id = ?').pluck().get(blobId) as number | undefined;
    return n ?? null;
  }

  /**
   * Removes the body; with a grace period only if it was not touched within
   * it, checked and removed in one statement (atomic against put()). Not
   * fsynced: a removal a crash takes back is redone by the next orphan sweep.
   */
  delete(blobId: BlobId, untouchedForSeconds: number): void {
    const before = untouchedForSeconds > 0 ? Date.now() - untouchedForSeconds * 1000 : Number.MAX_SAFE_INTEGER;
    this.sql.writeUnsynced(() => this.sql.stmt('DELETE FROM small_bodies WHERE blob_id = ? AND touched_at < ?').run(blobId, before));
  }

  /** Ids of the bodies last touched before `touchedBefore`, in pages (by the touched_at index). */
  *list(touchedBefore: Date): Iterable<BlobId> {
    const limit = touchedBefore.getTime();
    const page = this.sql.stmt(
      `SELECT blob_id, touched_at FROM small_bodies WHERE touched_at < ? AND (touched_at > ? OR (touched_at = ? AND blob_id > ?))
       ORDER BY touched_at, blob_id LIMIT ${LIST_PAGE}`,
    );
    let after = { touched: -1, id: '' };
    for (;;) {
      const rows = page.all(limit, after.touched, after.touched, after.id) as Array<{ blob_id: string; touched_at: number }>;
      for (const r of rows) yield r.blob_id;
      if (rows.length < LIST_PAGE) return;
      const last = rows[rows.length - 1]!;
      after = { touched: last.touched_at, id: last.blob_id };
    }
  }
}
