// Blob chunk bytes in and out of PostgreSQL as binary COPY, so they are never
// hex text in memory. postgres.js 3.4.9 sends every parameter and receives
// every column as text: a bytea parameter becomes a hex string twice its size
// (then copied into the message several times), a bytea column arrives as
// hex, is decoded to a string and then to a Buffer. COPY ... (FORMAT binary)
// moves the raw bytes: in, each buffer we write is one CopyData message; out,
// postgres.js hands over each CopyData message as it arrives.
//
// A COPY must run on a connection of its own (sql.reserve() or a
// transaction): postgres.js pipelines other queries onto a busy pooled
// connection, and those would either arrive inside the copy or fail with
// COPY_IN_PROGRESS.
//
// Format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
// Format"): an 11-byte signature, int32 flags, int32 header extension length,
// then per row an int16 field count and per field an int32 length (-1: NULL)
// and the bytes, then an int16 -1; all integers big-endian.

import type { Writable } from 'node:stream';
import { MailError } from '../../mail/errors.js';
import type { PgQuery } from '../../store/postgres/pg.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (0) and header extension length (0). */
const HEADER_SIZE = SIGNATURE.length + 8;
const TRAILER = Buffer.from([0xff, 0xff]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The most bytes one CopyData message carries in: postgres.js copies each written buffer once into its message. */
const MAX_COPY_MESSAGE = 256 * 1024;

function checkUuid(uploadId: string): void {
  if (!UUID.test(uploadId)) throw new Error(`not a UUID: ${uploadId}`);
}

/** The file header and the head of the one row (upload_id, seq, data of `size` bytes): everything before the data. */
function rowHead(uploadId: string, seq: number, size: number): Buffer {
  const head = Buffer.alloc(HEADER_SIZE + 2 + 4 + 16 + 4 + 4 + 4);
  let at = SIGNATURE.copy(head, 0) + 8; // flags and extension length: 0
  at = head.writeInt16BE(3, at);
  at = head.writeInt32BE(16, at);
  at += Buffer.from(uploadId.replaceAll('-', ''), 'hex').copy(head, at);
  at = head.writeInt32BE(4, at);
  at = head.writeInt32BE(seq, at);
  head.writeInt32BE(size, at);
  return head;
}

/** Writes one CopyData message and waits until postgres.js has handed it to the socket (backpressure). */
function writeCopyData(stream: Writable, data: Buffer, failure: () => unknown): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    stream.write(data, (err) => {
      // The server's error (shutdown, timeout, disk full) says more than the local write's.
      const failed = failure() ?? err;
      if (failed) reject(failed);
      else resolve();
    }),
  );
}

/**
 * Inserts the blob_chunks row (uploadId, seq, the bytes of `parts` in order)
 * by COPY FROM STDIN on `conn`, which must be one connection: reserved, or a
 * transaction. The parts are written as they are (each at most
 * MAX_COPY_MESSAGE at a time), never joined.
 */
export async function copyChunkIn(conn: PgQuery, uploadId: string, seq: number, parts: readonly Buffer[]): Promise<void> {
  checkUuid(uploadId);
  const size = parts.reduce((n, p) => n + p.length, 0);
  const stream = await conn`COPY blob_chunks (upload_id, seq, data) FROM STDIN (FORMAT binary)`.writable();
  let failed: unknown = null;
  // Kept for the stream's life: postgres.js destroys it with the server's error, which must not go unhandled.
  stream.on('error', (err: unknown) => (failed ??= err));
  const failure = () => failed;
  await writeCopyData(stream, rowHead(uploadId, seq, size), failure);
  for (const part of parts) {
    for (let at = 0; at < part.length; at += MAX_COPY_MESSAGE)
      await writeCopyData(stream, part.subarray(at, at + MAX_COPY_MESSAGE), failure);
  }
  await writeCopyData(stream, TRAILER, failure);
  // Every write has completed, so end() runs postgres.js's final at once: it
  // sends CopyDone and leaves copy mode. postgres.js 3.4.9 reports an error
  // the server sends after CopyDone to no one (the stream never finishes), so
  // the outcome is asked for instead: this query runs after the COPY on the
  // same connection, and a COPY is all or nothing. In a transaction a failed
  // COPY makes it fail (25P02) too.
  stream.end();
  const [row] = await conn<Array<{ n: number }>>`SELECT octet_length(data) AS n FROM blob_chunks
    WHERE upload_id = ${uploadId}::uuid AND seq = ${seq}`;
  if (row?.n !== size) throw new MailError('UNAVAILABLE', `storing blob chunk ${seq} failed`, { cause: failed ?? undefined });
}

/** Part of one chunk: bytes [from, from + length) of row (uploadId, seq). */
export interface ChunkSlice {
  uploadId: string;
  seq: number;
  from: number;
  length: number;
}

/**
 * Copies `slice` into `target` (at offset 0, at most target.length bytes)
 * by COPY (SELECT substring(...)) TO STDOUT on `conn`, which must be one
 * connection (reserved). Returns the number of bytes copied, or -1 when the
 * row does not exist. COPY takes no parameters, so the values are checked
 * and written into the statement.
 */
export async function copyChunkSliceOut(conn: PgQuery, slice: ChunkSlice, target: Buffer): Promise<number> {
  checkUuid(slice.uploadId);
  for (const n of [slice.seq, slice.from, slice.length]) {
    if (!Number.isSafeInteger(n) || n < 0 || n > 0x7fffffff) throw new Error(`bad chunk slice ${JSON.stringify(slice)}`);
  }
  const stream = await conn.unsafe(
    `COPY (SELECT substring(data FROM ${slice.from + 1} FOR ${slice.length}) FROM blob_chunks
      WHERE upload_id = '${slice.uploadId}' AND seq = ${slice.seq}) TO STDOUT (FORMAT binary)`,
  ).readable();
  const parser = new SingleValueParser(target);
  // Read to the end whatever comes: a stream left unread would leave postgres.js's socket paused.
  for await (const data of stream) parser.push(data as Buffer);
  // postgres.js 3.4.9 pauses its socket when a CopyData overfills the
  // stream's buffer and resumes it only from the stream's read(). When
  // CopyDone came in the same network read, the stream ends without another
  // read() and the connection's next query would wait forever
  // (porsager/postgres#499, fix proposed in #1016). Its read() only resumes
  // the socket: harmless when it flows. Only after a normal end: on a lost
  // connection postgres.js has dropped the socket, and the loop above has
  // thrown its CONNECTION_CLOSED (which fail-over handling needs to see).
  stream._read(0);
  return parser.finish();
}

/** What precedes the value of a one-column row: the file header, the field count and the value's length. */
const ROW_PREFIX = HEADER_SIZE + 2 + 4;

/** Parses binary COPY output of at most one row of one non-null column, copying the value into `target`. */
class SingleValueParser {
  private readonly prefix = Buffer.alloc(ROW_PREFIX);
  private prefixBytes = 0;
  /** Bytes of prefix needed before the next decision: the header and field count, then the value's length. */
  private need = HEADER_SIZE + 2;
  private state: 'prefix' | 'value' | 'rest' = 'prefix';
  /** -1: no row. */
  private valueLength = -1;
  private copied = 0;
  private error: Error | null = null;

  constructor(private readonly target: Buffer) {}

  push(data: Buffer): void {
    let at = 0;
    while (at < data.length && this.state !== 'rest') {
      if (this.state === 'prefix') {
        const n = Math.min(this.need - this.prefixBytes, data.length - at);
        data.copy(this.prefix, this.prefixBytes, at, at + n);
        this.prefixBytes += n;
        at += n;
        if (this.prefixBytes === this.need) this.decide();
      } else {
        const n = Math.min(this.valueLength - this.copied, data.length - at);
        data.copy(this.target, this.copied, at, at + n);
        this.copied += n;
        at += n;
        if (this.copied === this.valueLength) this.state = 'rest'; // the trailer
      }
    }
  }

  private decide(): void {
    const p = this.prefix;
    if (this.need === HEADER_SIZE + 2) {
      if (!p.subarray(0, SIGNATURE.length).equals(SIGNATURE) || p.readInt32BE(SIGNATURE.length + 4) !== 0)
        return this.fail('unexpected binary COPY header');
      const fields = p.readInt16BE(HEADER_SIZE);
      if (fields === -1) return void (this.state = 'rest'); // no row
      if (fields !== 1) return this.fail(`binary COPY row of ${fields} fields, expected 1`);
      this.need = ROW_PREFIX;
      return;
    }
    const length = p.readInt32BE(HEADER_SIZE + 2);
    if (length < 0 || length > this.target.length) return this.fail(`binary COPY value of ${length} bytes, expected at most ${this.target.length}`);
    this.valueLength = length;
    this.state = length === 0 ? 'rest' : 'value';
  }

  private fail(message: string): void {
    this.error ??= new Error(message);
    this.state = 'rest';
  }

  /** Bytes copied, or -1 without a row; throws if the output was not as expected. */
  finish(): number {
    if (this.error) throw this.error;
    if (this.prefixBytes < this.need || this.copied !== Math.max(0, this.valueLength)) throw new Error('binary COPY output ended early');
    return this.valueLength === -1 ? -1 : this.copied;
  }
}
