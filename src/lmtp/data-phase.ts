// The DATA phase of smtp-server (3.21.6), linear. Its SMTPStream looks at
// every byte of the message in JavaScript for "<LF>." and copies every
// socket chunk once more to join it to the last 4 bytes of the previous one:
// a 50 MB delivery cost about 120 ms of CPU there, as much as hashing,
// indexing and writing the message together.
//
// feedDataStream() gives the same bytes, the same end of the message and the
// same remainder (what follows the final "."), found with Buffer.indexOf (at
// memchr speed), and joins nothing: the kept bytes of the previous chunk are
// written on their own before the chunk. A chunk with neither CR nor LF in
// its last 4 bytes keeps nothing back (no "\r\n.\r\n" or "\n.." can begin
// there), so most chunks of a message are written whole, in one piece (one
// chunk less for the ingest per socket read); the one case the library would
// then miss, a stuffed dot right after an LF that starts the next chunk, is
// handled here. The library's own code still runs where the two chunks meet
// on a "<LF>." (and for a message that starts with a dot and small chunks),
// so every case this does not handle itself is the library's.
// test/unit/lmtp/data-phase.test.ts and data-phase-whole.test.ts compare both
// on random messages and chunkings.
//
// It replaces the method on SMTPStream's prototype (the class is exported as
// smtp-server/lib/smtp-stream.js), and only for the version it was checked
// against: another version keeps its own code.
//
// chunksOf() reads the resulting data stream for the ingest, chunk by chunk
// as written (stream.iterator() would join the kept bytes and the chunk
// again).

import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

type Callback = (err?: Error | null) => void;

/** The smtp-server version whose SMTPStream internals (_lastBytes, _atDataStart, ...) this follows. */
const CHECKED_VERSION = '3.21.6';
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.');
/** Bytes held back at the end of a chunk (the library's: a "\r\n.\r\n" may straddle chunks). */
const KEPT = 4;
/** Smaller chunks take the library's path (its bounds then need no second thought). */
const MIN_FAST_CHUNK = 16;

const libraryFeed = SMTPStream.prototype._feedDataStream;

/**
 * Set on the parser when the last chunk was written whole: every byte before
 * the next chunk (and before the kept bytes, if any) is written, and the
 * last of them is neither CR nor LF.
 */
const WRITTEN_WHOLE = Symbol('writtenWhole');
type Parser = SMTPStream & { [WRITTEN_WHOLE]?: boolean };

/** Whether chunk[from, to) holds a CR or an LF. */
function hasCrOrLf(chunk: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (chunk[i] === CR || chunk[i] === LF) return true;
  return false;
}

/**
 * Whether the message so far (kept ++ chunk, as the library sees it) has a
 * dot after an LF at an offset i in [2, kept.length + 2]: the offsets that
 * touch the kept bytes or the first 3 of the chunk, which the library handles.
 */
function dotNearSeam(kept: Buffer | null, chunk: Buffer): boolean {
  // Every "\n." in kept ++ chunk[0..3) from offset 1 on has its dot at i <= kept.length + 2.
  const seam = kept ? Buffer.concat([kept, chunk.subarray(0, 3)]) : chunk.subarray(0, 3);
  return seam.indexOf(LF_DOT, 1) >= 0;
}

/** SMTPStream#_feedDataStream with the library's results (see the header); `this` is the parser. */
export function feedDataStream(this: Parser, chunk: Buffer, done: Callback): void {
  const kept = this._lastBytes && this._lastBytes.length > 0 ? this._lastBytes : null;
  const len = chunk.length;
  if (this[WRITTEN_WHOLE]) {
    // The scans below start at offset 2 of kept ++ chunk; a dot at offset 1
    // after an LF at offset 0 is seen here. No CR before that LF: not the
    // end of the message, a stuffed dot if a dot follows.
    const k = kept ? kept.length : 0;
    const at = (i: number): number | undefined => (i < k ? kept![i] : chunk[i - k]);
    if (at(0) === LF && !this._atDataStart) {
      if (k + len < 3) {
        // Too short to tell: kept (a copy: the chunk's memory may be reused) until the next chunk.
        this._lastBytes = kept ? Buffer.concat([kept, chunk]) : Buffer.from(chunk);
        done();
        return;
      }
      if (at(1) === DOT && at(2) === DOT) {
        this[WRITTEN_WHOLE] = false;
        this._lastBytes = false;
        this._countDataBytes(1);
        const dataStream = this._dataStream!;
        if (dataStream.writable) dataStream.write(Buffer.from([LF]));
        // The rest starts at the dot after the dropped one (the library yields to the event loop here too).
        const rest = chunk.subarray(2 - k);
        setImmediate(() => this._feedDataStream(rest, done));
        return;
      }
    }
    this[WRITTEN_WHOLE] = false;
  }
  // At the start of the message only a leading dot is special (the library
  // checks for ".\r\n" and ".." there): a message's first chunk, often the
  // whole message, does not start with one. Bytes kept at the start (a first
  // chunk shorter than 4) are the library's to join.
  if ((this._atDataStart && (kept || chunk[0] === DOT)) || len < MIN_FAST_CHUNK || dotNearSeam(kept, chunk)) {
    libraryFeed.call(this, chunk, (err) => {
      // The library keeps a view of the chunk's last bytes, and the chunk's
      // memory is reused once done (pooled reads, pooled-feed.ts): a copy.
      const lastBytes = this._lastBytes;
      if (lastBytes && lastBytes.buffer === chunk.buffer) this._lastBytes = Buffer.from(lastBytes);
      done(err);
    });
    return;
  }
  const dataStream = this._dataStream!;
  const k = kept ? kept.length : 0;
  this._lastBytes = false;
  // Candidates at chunk offset j >= 3; the library's loop stops before offset len - 2.
  for (let p = chunk.indexOf(LF_DOT, 2); p >= 0 && p <= len - 4; p = chunk.indexOf(LF_DOT, p + 1)) {
    const j = p + 1;
    if (chunk[j - 2] === CR && chunk[j + 1] === CR && chunk[j + 2] === LF) {
      // "\r\n.\r\n": the message ends before the dot, the rest is the next command(s).
      this._countDataBytes(k + j);
      if (kept && dataStream.writable) dataStream.write(kept);
      this._endDataMode(chunk.subarray(0, j), chunk.subarray(j + 3), done);
      return;
    }
    if (chunk[j + 1] === DOT) {
      // A stuffed dot: drop it and go on after it (the library yields to the event loop here too).
      this._countDataBytes(k + j);
      if (dataStream.writable) {
        if (kept) dataStream.write(kept);
        dataStream.write(chunk.subarray(0, j));
      }
      const rest = chunk.subarray(j + 1);
      setImmediate(() => this._feedDataStream(rest, done));
      return;
    }
  }
  // No CR or LF in the last bytes: nothing to keep back. Else a copy: the kept bytes must not hold the whole chunk in memory.
  const whole = !hasCrOrLf(chunk, len - KEPT, len);
  this[WRITTEN_WHOLE] = whole;
  this._lastBytes = whole ? false : Buffer.from(chunk.subarray(len - KEPT));
  const written = whole ? len : len - KEPT;
  this._countDataBytes(k + written);
  if (!dataStream.writable) {
    done();
    return;
  }
  if (kept) dataStream.write(kept);
  const handled = dataStream.write(whole ? chunk : chunk.subarray(0, written));
  if (handled || dataStream.destroyed) {
    done();
    return;
  }
  // A stream the application destroys never drains, it only closes.
  const onDrain = (): void => {
    dataStream.removeListener('drain', onDrain);
    dataStream.removeListener('close', onDrain);
    done();
  };
  dataStream.once('drain', onDrain);
  dataStream.once('close', onDrain);
}

/** The library's own method, for the comparison test. */
export const libraryFeedDataStream = libraryFeed;

/** Installs feedDataStream on SMTPStream when the installed smtp-server is the checked version; true if it is in place. */
export function useLinearDataPhase(): boolean {
  const proto = SMTPStream.prototype;
  if (proto._feedDataStream === feedDataStream) return true;
  const version = (createRequire(import.meta.url)('smtp-server/package.json') as { version?: string }).version;
  if (version !== CHECKED_VERSION || proto._feedDataStream !== libraryFeed) return false;
  proto._feedDataStream = feedDataStream;
  return true;
}

/**
 * Holds on the memory of a data stream's chunks (pooled socket reads,
 * pooled-feed.ts): take() hands the hold of a chunk the stream emitted to
 * its reader, who drops it once done with the chunk; null when the chunk
 * holds nothing.
 */
export interface ChunkHolds {
  take(chunk: Buffer): (() => void) | null;
}

/** From now on every chunk `stream` emits is dropped unread, its hold released at once (a stream read to its end for nothing). */
export function releaseAsEmitted(stream: Readable, holds: ChunkHolds): void {
  stream.on('data', (chunk: Buffer) => holds.take(chunk)?.());
}

/**
 * The stream's chunks as they were written. Not stream.iterator(): its read()
 * joins whatever is buffered into one new Buffer, a copy of the message when
 * the DATA parser writes two pieces per socket chunk (above). The
 * stream is paused while a chunk waits for the consumer (backpressure) and
 * left paused, not destroyed, when the consumer stops early. `head`, when
 * given, comes first (the LMTP Return-Path line).
 *
 * `holds`: the chunks are views of memory the connection reuses. With
 * `consumerCopies` (the ingest's blob writer copies every chunk in write(),
 * see writerCopiesChunks in src/blob/fs) a chunk's hold is dropped when the
 * consumer asks for the next chunk or stops; otherwise the chunk is copied
 * and its hold dropped at once. Chunks the stream emits after the consumer
 * stopped are dropped at once.
 */
export async function* chunksOf(
  stream: Readable,
  head?: Buffer,
  holds?: ChunkHolds | null,
  consumerCopies = false,
): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  /** With `holds`: the holds of the queued chunks, in the same order. */
  const queuedHolds: Array<(() => void) | null> = [];
  /** The hold of the chunk the consumer has. */
  let current: (() => void) | null = null;
  const releaseCurrent = (): void => {
    const release = current;
    current = null;
    release?.();
  };
  let ended = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (holds) queuedHolds.push(holds.take(chunk));
    stream.pause();
    signal();
  };
  const onEnd = (): void => {
    ended = true;
    signal();
  };
  const onError = (error: unknown): void => {
    failure ??= { error };
    signal();
  };
  // Destroyed before its end (the connection went away): the message is incomplete.
  const onClose = (): void => {
    if (!ended) onError(new Error('DATA stream closed before its end'));
  };
  // Its end or its destruction may have come before we listened.
  ended = stream.readableEnded;
  const destroyedBefore = !ended && stream.destroyed;
  if (!ended && !destroyedBefore) {
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  }
  try {
    // Yielded here rather than by a generator around this one (one promise
    // hop per chunk less), inside the try: a consumer that stops after it
    // still reaches the finally, which releases what the stream emits.
    if (head) yield head;
    if (destroyedBefore) throw new Error('DATA stream closed before its end');
    for (;;) {
      let chunk = queue.shift();
      if (chunk) {
        if (holds) current = queuedHolds.shift() ?? null;
        if (current && !consumerCopies) {
          chunk = Buffer.from(chunk);
          releaseCurrent();
        }
        yield chunk;
        // Asked for the next one: the consumer is done with this chunk.
        releaseCurrent();
        if (queue.length === 0 && !ended) stream.resume();
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    if (holds) {
      releaseCurrent();
      for (const release of queuedHolds.splice(0)) release?.();
      // Whatever the stream still emits (read to its end, unused, after a failure) is dropped at once.
      if (!ended) releaseAsEmitted(stream, holds);
    }
  }
}
