// COMPRESS=DEFLATE (RFC 4978) as a byte stream: a Duplex that wraps the
// connection's current stream (the TCP socket, or the TLS socket after
// STARTTLS / on the implicit-TLS port) and looks like a socket to the
// connection. What the connection writes is deflated, then handed to the
// inner stream (so TLS encrypts compressed data: RFC 4978 section 3 orders
// COMPRESS before TLS when sending); what arrives is inflated.
//
// Every write is followed by Z_SYNC_FLUSH: the connection writes once per
// response batch (or per streamed literal chunk), so a tagged response or an
// IDLE update is never held back inside zlib waiting for more data.
//
// Backpressure runs through in both directions: a full inner socket stops
// the deflate stream's output, which delays the flush callbacks, which fills
// this stream's writable buffer (write() returns false, 'drain' later); a
// paused reader stops inflate's output, which fills inflate's input, which
// pauses the inner socket. A small compressed input that inflates hugely
// (a "zip bomb") is thus never read faster than the framer consumes it.

import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/**
 * Memory per compressed connection, from zlib's formulas (zconf.h):
 * - deflate: (1 << (windowBits + 2)) + (1 << (memLevel + 9)) = 32 KiB + 32 KiB
 *   with windowBits 13 and memLevel 6 (the defaults 15/8 cost 256 KiB);
 * - inflate: 1 << windowBits = 32 KiB. Its window must be 15: the client
 *   chooses its own window size and we cannot tell which;
 * - plus each stream's output buffer (chunkSize, 16 KiB each, allocated up
 *   front) and ~6 KiB of state per stream.
 * About 140 KiB per connection in all, and it stays allocated while the
 * connection is idle: 10,000 idle compressed IDLE sessions hold ~1.4 GB. The
 * smaller send window costs little ratio: IMAP responses repeat within a few
 * KiB, and large bodies compress on their own content.
 */
const DEFLATE_OPTIONS: zlib.ZlibOptions = {
  // RFC 4978 section 4 suggests levels 1-5 for CPU; 5 keeps most of 6's ratio.
  level: 5,
  windowBits: 13,
  memLevel: 6,
  chunkSize: 16 * 1024,
};
const INFLATE_OPTIONS: zlib.ZlibOptions = { windowBits: 15, chunkSize: 16 * 1024 };

export interface DeflateStreamOptions {
  /** Invalid compressed data from the peer: the stream is destroyed after this is called. */
  onInflateError(err: Error): void;
}

export class DeflateStream extends Duplex {
  private readonly deflate = zlib.createDeflateRaw(DEFLATE_OPTIONS);
  private readonly inflate = zlib.createInflateRaw(INFLATE_OPTIONS);

  constructor(
    private readonly inner: Duplex,
    options: DeflateStreamOptions,
  ) {
    super({ allowHalfOpen: true });
    const { deflate, inflate } = this;

    // Receiving: inner -> inflate -> this.
    inner.on('data', (chunk: Buffer) => {
      if (!inflate.write(chunk)) inner.pause();
    });
    inflate.on('drain', () => inner.resume());
    inflate.on('data', (out: Buffer) => {
      if (!this.push(out)) inflate.pause();
    });
    // The client's deflate stream never ends cleanly (it only sync-flushes),
    // so the peer's FIN ends our readable side once inflate has caught up,
    // instead of ending inflate (which would report "unexpected end of file").
    inner.on('end', () => {
      if (inflate.destroyed) return;
      inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => this.push(null));
    });
    inflate.on('error', (err) => {
      options.onInflateError(err);
      this.destroy();
    });

    // Sending: this -> deflate -> inner.
    deflate.on('data', (out: Buffer) => {
      if (!inner.write(out)) deflate.pause();
    });
    inner.on('drain', () => deflate.resume());
    deflate.on('error', (err) => this.destroy(err));

    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
    inner.resume();
  }

  override _read(): void {
    this.inflate.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.deflate.write(chunk);
    // The callback waits for the flush: until then the bytes are not on their way.
    this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    // Finish the deflate stream properly, then end the inner stream after its last bytes.
    this.deflate.once('end', () => {
      this.inner.end();
      callback();
    });
    this.deflate.end();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // Frees zlib's memory at once rather than at garbage collection.
    this.deflate.destroy();
    this.inflate.destroy();
    this.inner.destroy();
    callback(err);
  }
}
