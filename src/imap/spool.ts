// APPEND message literals are streamed straight into the ingest pipeline
// while they arrive: stage() hashes, indexes and writes the blob (fsynced)
// as the bytes come off the socket, so the message is written to disk once
// and never held in memory. The command then finds its literal already
// staged (stagedOf) and only commits the metadata.
//
// Backpressure: write() resolves once the pipeline has taken the chunk, and
// at most one chunk waits for it; the connection stops framing (and then
// reading the socket) meanwhile. A literal whose command turns out invalid,
// or a connection that drops mid-literal, leaves at most a staged blob no
// row refers to: the blob garbage collector removes it after its grace
// period (a partial blob is discarded by stage() itself).

import { Readable } from 'node:stream';
import { MailError } from '../mail/errors.js';
import type { BlobStore, IngestPipeline, StagedMessage } from '../mail/ports.js';
import type { SpooledLiteral } from '../protocol/imap/ast.js';

/** What the APPEND handler learns about a literal staged while it arrived. */
export interface StagedLiteral {
  /** null when staging failed (error says why). */
  staged: StagedMessage | null;
  error: unknown;
  /** A NUL octet went by (only literal8 may carry one, RFC 3516 4.2). */
  nul: boolean;
}

const stagedLiterals = new WeakMap<SpooledLiteral, StagedLiteral>();

/** The staging result of a literal made by LiteralStager, or undefined for other literal values. */
export function stagedOf(literal: SpooledLiteral): StagedLiteral | undefined {
  return stagedLiterals.get(literal);
}

const DONE: IteratorResult<Buffer> = { value: undefined, done: true };

export class LiteralStager {
  private readonly result: Promise<StagedMessage>;
  private size = 0;
  private nul = false;
  /** A chunk handed in and not yet pulled by the pipeline. */
  private slot: Buffer | null = null;
  private slotFreed: (() => void) | null = null;
  private puller: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: unknown) => void } | null = null;
  private ended = false;
  private aborted: Error | null = null;
  /** The pipeline stopped pulling (it failed): later chunks are dropped. */
  private consumerGone = false;

  constructor(
    ingest: IngestPipeline,
    private readonly blobs: BlobStore,
    maxSize: number,
    private readonly binary: boolean,
  ) {
    const source: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => this.iterator() };
    this.result = ingest.stage(source, maxSize);
    // Observed by finish(); an abort's rejection must not go unhandled.
    this.result.catch(() => undefined);
  }

  /** Resolves when the next chunk may be written. */
  async write(chunk: Buffer): Promise<void> {
    if (!this.binary && !this.nul && chunk.includes(0)) this.nul = true;
    this.size += chunk.length;
    while (this.slot !== null && !this.consumerGone) await new Promise<void>((r) => (this.slotFreed = r));
    if (this.consumerGone || this.aborted) return;
    const p = this.puller;
    if (p) {
      this.puller = null;
      p.resolve({ value: chunk, done: false });
    } else {
      this.slot = chunk;
    }
  }

  /** All bytes were written: waits for the blob to be durable and returns the literal value for the command. */
  async finish(): Promise<SpooledLiteral> {
    this.ended = true;
    const p = this.puller;
    if (p && this.slot === null) {
      this.puller = null;
      p.resolve(DONE);
    }
    let info: StagedLiteral;
    try {
      info = { staged: await this.result, error: null, nul: this.nul };
    } catch (error) {
      info = { staged: null, error, nul: this.nul };
    }
    const literal = this.literal(info);
    stagedLiterals.set(literal, info);
    return literal;
  }

  /** The connection is gone (or the literal is abandoned): the pipeline discards its partial blob. */
  async abort(): Promise<void> {
    this.aborted ??= new MailError('UNAVAILABLE', 'literal abandoned');
    this.slot = null;
    this.wakeWriter();
    const p = this.puller;
    this.puller = null;
    p?.reject(this.aborted);
    await this.result.catch(() => undefined);
  }

  private iterator(): AsyncIterator<Buffer> {
    return {
      next: () => {
        if (this.aborted) return Promise.reject(this.aborted);
        const chunk = this.slot;
        if (chunk !== null) {
          this.slot = null;
          this.wakeWriter();
          return Promise.resolve({ value: chunk, done: false });
        }
        if (this.ended) return Promise.resolve(DONE);
        return new Promise((resolve, reject) => (this.puller = { resolve, reject }));
      },
      return: () => {
        this.consumerGone = true;
        this.slot = null;
        this.wakeWriter();
        return Promise.resolve(DONE);
      },
    };
  }

  private wakeWriter(): void {
    const w = this.slotFreed;
    this.slotFreed = null;
    w?.();
  }

  private literal(info: StagedLiteral): SpooledLiteral {
    const { blobs, binary, size } = this;
    return {
      kind: 'spooled',
      size,
      binary,
      open: () => {
        if (!info.staged) return Readable.from([]).destroy(asError(info.error)) as Readable & AsyncIterable<Buffer>;
        return blobs.read(info.staged.blobId) as Readable & AsyncIterable<Buffer>;
      },
      // Content-addressed and maybe shared: an unused staged blob is the garbage collector's.
      dispose: async () => {},
    };
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
