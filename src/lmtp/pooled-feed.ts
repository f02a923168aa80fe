// LMTP connections read their socket into pooled blocks
// (src/util/pooled-reads.ts), not into a fresh 64 KiB buffer per read: a
// 50 MB delivery made 800 of those, freed only when V8's collector got to
// them, and the server's peak memory grew by 8-17 MB per delivery.
//
// smtp-server pipes the socket into its parser (SMTPStream, a Writable).
// For a plaintext connection the pipe is replaced as soon as the connection
// is set up: each read is copied into a block, and the view is written to
// the parser with a callback, which runs once the parser is done with it (a
// command line is copied into a string, a DATA chunk is written on to the
// data stream in pieces that are views of it); the view's hold on its block
// is dropped then. Each piece written to the data stream holds its block in
// turn, until the delivery has read it (chunksOf drops the hold when the
// ingest asks for the next chunk: the file blob writer has copied it by
// then; for a blob store whose writer keeps chunks, chunksOf copies them),
// until it is dropped unread, or, for a piece the data stream never emitted
// (the client went away mid-DATA), until the data stream closes.
//
// Backpressure as with the pipe: a read the parser does not take at once
// (write() returns false: it is still busy with an earlier one, i.e. the
// data stream is full because the ingest waits for the disk) stops reading
// the socket until the parser drains. Nothing buffers more than a few
// blocks of a message.
//
// This follows smtp-server's internals (the connection's _socket, _parser
// and the close() that unpipes the parser and resumes the socket, the
// parser's startDataMode and isClosed), so only the version data-phase.ts
// was checked against uses it. LMTP over TLS keeps Node's reads.

import type { Readable } from 'node:stream';
import tls from 'node:tls';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { enablePooledReads, PooledReads } from '../util/pooled-reads.js';
import type { ChunkHolds } from './data-phase.js';

/** The holds of the data streams of pooled connections. */
const dataStreamHolds = new WeakMap<Readable, DataStreamHolds>();

/** How chunksOf learns the holds of a DATA stream's chunks; null for a connection that reads the ordinary way. */
export function chunkHoldsOf(stream: Readable): ChunkHolds | null {
  return dataStreamHolds.get(stream) ?? null;
}

/**
 * Switches a connection smtp-server has just set up (its socket piped into
 * its parser) to pooled reads; false (nothing changed) for a TLS
 * connection or a server that offers STARTTLS, a socket with other readers
 * or bytes already buffered, or Node internals other than expected.
 */
export function usePooledReads(connection: SMTPConnection): boolean {
  const socket = connection._socket;
  const parser = connection._parser;
  if (!parser || parser.isClosed || connection._closing || connection._closed) return false;
  if (connection.secure || connection.needsUpgrade || connection._upgrading || socket instanceof tls.TLSSocket) return false;
  // STARTTLS would wrap the socket in TLS, which reads it in its own way (the LMTP server never offers it).
  if (!connection._server.options.disabledCommands.some((c) => c.toUpperCase() === 'STARTTLS')) return false;
  // The pipe must be the socket's only reader.
  if (socket.listenerCount('data') !== 1) return false;
  const feed = new PooledFeed(connection, socket, parser);
  if (!enablePooledReads(socket, feed.onRead)) return false;
  // Unpiping pauses the socket (and stops its reads); resumed, it reads into feed.onRead only.
  socket.unpipe(parser);
  socket.on('end', feed.onEnd);
  // The parser is done with its views (a parser that failed never says so): its blocks go back.
  socket.once('close', () => feed.reads.dispose());
  feed.trackDataStreams();
  socket.resume();
  return true;
}

/** Feeds the parser one pooled read at a time, in place of the pipe (exported for tests, which call onRead themselves). */
export class PooledFeed {
  readonly reads = new PooledReads(0);
  /** Bytes written to the parser so far. */
  private written = 0;
  private waitingDrain = false;

  constructor(
    private readonly connection: Pick<SMTPConnection, '_parser'>,
    private readonly socket: { resume(): unknown; readonly destroyed: boolean },
    private readonly parser: SMTPStream,
  ) {}

  /** From now on the parser's data streams hold the blocks of the pieces written to them (chunkHoldsOf). */
  trackDataStreams(): void {
    const reads = this.reads;
    const startDataMode = this.parser.startDataMode;
    this.parser.startDataMode = function (this: SMTPStream, maxBytes) {
      const stream = startDataMode.call(this, maxBytes);
      dataStreamHolds.set(stream, new DataStreamHolds(reads, stream));
      return stream;
    };
  }

  /** A read of the socket: `bytes` are valid only during the call. False stops reading until socket.resume(). */
  readonly onRead = (bytes: Buffer): boolean => {
    const parser = this.parser;
    // Closing (close() unpiped the parser and reads the socket to its end) or closed: dropped, as the pipe would.
    if (this.connection._parser !== parser || parser.isClosed || parser.destroyed || parser.writableEnded) return true;
    const view = this.reads.store(bytes, bytes.length);
    const end = (this.written += bytes.length);
    const taken = parser.write(view, (err) => {
      // An errored parser is destroyed and may still refer to the view: its block goes back when the socket closes (dispose).
      if (!err) this.reads.consumedTo(end);
    });
    if (taken) return true;
    if (!this.waitingDrain) {
      this.waitingDrain = true;
      parser.once('drain', this.onDrain);
    }
    return false;
  };

  private readonly onDrain = (): void => {
    this.waitingDrain = false;
    if (!this.socket.destroyed) this.socket.resume();
  };

  /** The client's FIN: the parser ends, as the pipe would end it (a last line without CRLF is still a command). */
  readonly onEnd = (): void => {
    const parser = this.parser;
    if (this.connection._parser === parser && !parser.isClosed && !parser.writableEnded) parser.end();
  };
}

/**
 * The holds of the pieces written to one DATA stream (views of the
 * connection's blocks), from their write until the reader takes them, or
 * until the stream closes without having emitted them.
 */
class DataStreamHolds implements ChunkHolds {
  private readonly holds = new Map<Buffer, () => void>();

  constructor(
    private readonly reads: PooledReads,
    stream: Readable & NodeJS.WritableStream,
  ) {
    // The parser writes the pieces with write(chunk) and the last one with end(chunk), which does not go through write().
    const write = stream.write;
    const end = stream.end;
    const self = this;
    stream.write = function (this: unknown, chunk: unknown, encoding?: unknown, callback?: unknown) {
      self.hold(chunk);
      return (write as (c: unknown, e?: unknown, cb?: unknown) => boolean).call(this, chunk, encoding, callback);
    } as typeof stream.write;
    stream.end = function (this: unknown, chunk?: unknown, encoding?: unknown, callback?: unknown) {
      self.hold(chunk);
      return (end as (c?: unknown, e?: unknown, cb?: unknown) => unknown).call(this, chunk, encoding, callback);
    } as typeof stream.end;
    stream.once('close', () => {
      for (const release of this.holds.values()) release();
      this.holds.clear();
    });
  }

  take(chunk: Buffer): (() => void) | null {
    const release = this.holds.get(chunk);
    if (release === undefined) return null;
    this.holds.delete(chunk);
    return release;
  }

  private hold(chunk: unknown): void {
    if (!Buffer.isBuffer(chunk)) return;
    const release = this.reads.hold(chunk);
    if (release) this.holds.set(chunk, release);
  }
}
