// Socket reads without a new buffer per read, for plaintext TCP connections
// (IMAP APPEND literals: src/imap/connection.ts; LMTP: src/lmtp/pooled-feed.ts).
//
// Node reads a socket into a fresh 64 KiB buffer each time; a 50 MB APPEND
// or LMTP delivery makes 800 of them, freed only when V8's collector gets to
// them (a full mark-compact every ~30 MB, triggered by "external memory
// pressure"), so the server's peak grew by 3-30 MB per big message and the
// collections and page faults cost a fifth of its CPU. Here the kernel reads
// into one landing buffer shared by all connections (Node's `onread`
// mechanism: the callback runs synchronously after each read, one
// connection at a time), and the bytes are copied at once into blocks from a
// shared pool (256 KiB, or 16 KiB for small reads), packed (several small
// reads share a block). A block goes back to the pool when nobody refers to
// it: each view handed to the protocol's parser holds it until the parser
// has consumed the view's bytes (consumedTo: the IMAP framer's consumed
// count, the end of an LMTP read once smtp-server's parser has taken it), and
// a piece handed on to the ingest (an APPEND literal chunk, an LMTP DATA
// chunk) holds it until the ingest releases it (hold). An idle connection
// holds no block.
//
// Node offers `onread` only for sockets it creates through net.connect or
// `new net.Socket`, not for those a server accepts; the accepted socket is
// switched with the same internal fields its constructor sets (the symbols
// kBuffer, kBufferCb, kBufferGen and handle.useUserBuffer, unchanged since
// Node 12). If any is missing, enablePooledReads returns false and the
// connection keeps Node's ordinary reads.

import type net from 'node:net';
import { BufferPool } from './buffer-pool.js';

/**
 * Bytes per block; also the landing buffer's size, so one read always fits
 * one block. 256 KiB: a read takes what the kernel holds up to that (a big
 * literal arrives in a quarter of the reads, callbacks and chunks of 64 KiB).
 */
export const READ_BLOCK = 256 * 1024;
/** Reads up to this size (commands, small literals) go into small blocks: a busy connection holds 16 KiB, not 256. */
export const SMALL_READ_BLOCK = 16 * 1024;
/** Process-wide: at most 4 MiB of big and 1 MiB of small blocks wait for reuse. */
export const readBlockPool = new BufferPool(READ_BLOCK, 16);
export const smallReadBlockPool = new BufferPool(SMALL_READ_BLOCK, 64);
/** Where the kernel puts every pooled read, before it is copied out within the same callback. */
let landing: Buffer | null = null;

interface Block {
  buf: Buffer;
  pool: BufferPool;
  /** Views of it still referred to. */
  refs: number;
  /** Bytes of buf used so far. */
  fill: number;
}

/** The pooled blocks of one connection. */
export class PooledReads {
  private current: Block | null = null;
  /** Blocks in use, by their memory (a view's .buffer finds its block). */
  private readonly blocks = new Map<ArrayBufferLike, Block>();
  /** Views pushed to the parser and not yet consumed, in stream order. */
  private readonly pending: Array<{ block: Block; end: number }> = [];
  private pendingHead = 0;
  /** Bytes pushed to the parser so far (pooled or not). */
  private position: number;

  /** @param pushed bytes pushed to the parser before this was made */
  constructor(pushed: number) {
    this.position = pushed;
  }

  /** Copies src[0, n) into a block and returns the view, held until consumedTo() passes it. */
  store(src: Buffer, n: number): Buffer {
    let block = this.current;
    if (!block || block.buf.length - block.fill < n) {
      const pool = n <= SMALL_READ_BLOCK ? smallReadBlockPool : readBlockPool;
      block = { buf: pool.acquire(), pool, refs: 0, fill: 0 };
      this.blocks.set(block.buf.buffer, block);
      this.current = block;
    }
    const start = block.fill;
    src.copy(block.buf, start, 0, n);
    block.fill += n;
    block.refs++;
    this.position += n;
    this.pending.push({ block, end: this.position });
    return block.buf.subarray(start, start + n);
  }

  /** A chunk pushed to the parser that is not pooled (Node's own reads, TLS, COMPRESS). */
  skip(n: number): void {
    this.position += n;
  }

  /** The parser has consumed the stream's first `consumed` bytes: their views are released. */
  consumedTo(consumed: number): void {
    const q = this.pending;
    while (this.pendingHead < q.length && q[this.pendingHead]!.end <= consumed) {
      this.unref(q[this.pendingHead++]!.block);
    }
    if (this.pendingHead === q.length) {
      q.length = 0;
      this.pendingHead = 0;
    }
  }

  /**
   * Another reference to the block `view` lies in (a literal chunk handed to
   * the stager); the returned function drops it, once. Null for a view that
   * is not pooled.
   */
  hold(view: Buffer): (() => void) | null {
    const block = this.blocks.get(view.buffer);
    if (!block) return null;
    block.refs++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.unref(block);
    };
  }

  /** The connection is gone and its parser dropped: the parser's views are released (holds stay until dropped). */
  dispose(): void {
    this.consumedTo(Infinity);
  }

  /** Blocks this connection holds (tests). */
  get blockCount(): number {
    return this.blocks.size;
  }

  private unref(block: Block): void {
    if (--block.refs > 0) return;
    // Nobody refers to it: even the block being filled goes back (an idle connection holds none).
    if (this.current === block) this.current = null;
    this.blocks.delete(block.buf.buffer);
    block.pool.release(block.buf);
  }
}

interface SocketInternals {
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}

function internalsOf(socket: net.Socket): SocketInternals | null {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return null;
  const symbols = Object.getOwnPropertySymbols(socket);
  const find = (name: string) => symbols.find((s) => s.description === name);
  const kBuffer = find('kBuffer');
  const kBufferCb = find('kBufferCb');
  const kBufferGen = find('kBufferGen');
  if (!kBuffer || !kBufferCb || !kBufferGen) return null;
  const fields = socket as unknown as Record<symbol, unknown>;
  // Set by the constructor to null unless the socket was made with onread.
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null || fields[kBufferGen] !== null) return null;
  return { kBuffer, kBufferCb, kBufferGen };
}

/**
 * Switches `socket` to reading into the shared landing buffer: from now on
 * every read calls `onRead(bytes)` with the bytes, valid only during the
 * call (copy what is kept, e.g. with PooledReads.store), instead of emitting
 * 'data'; a false return stops reading until socket.resume(). 'end',
 * 'close' and 'error' are emitted as before, and pause()/resume() stop and
 * restart the reads. Only when the socket's readable side holds nothing
 * (else bytes read later would overtake them) and it is flowing; returns
 * false (nothing changed) otherwise or when Node's internals differ.
 */
export function enablePooledReads(socket: net.Socket, onRead: (bytes: Buffer) => boolean): boolean {
  if (socket.destroyed || socket.readableLength > 0 || socket.readableFlowing !== true) return false;
  const k = internalsOf(socket);
  if (!k) return false;
  landing ??= Buffer.allocUnsafeSlow(READ_BLOCK);
  const buf = landing;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[k.kBuffer] = buf;
  fields[k.kBufferCb] = (nread: number) => onRead(buf.subarray(0, nread));
  (socket as unknown as { _handle: { useUserBuffer(b: Uint8Array): void } })._handle.useUserBuffer(buf);
  return true;
}
