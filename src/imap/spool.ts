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
//
// Reused memory: a chunk written with an onRelease callback may be a view of
// memory the connection reuses (pooled socket reads). onRelease runs once
// nothing here or in the pipeline refers to the chunk: when the pipeline
// asks for the next chunk (the ingest has then hashed, indexed and handed it
// to the blob writer), when the chunk is dropped, or when staging has ended.
// That needs a blob writer that copies in write() (writerCopiesChunks);
// with any other store the chunk is copied here and released at once.

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
  private slotRelease: (() => void) | null = null;
  /** Release of the chunk the pipeline pulled last, run when it pulls again. */
  private pulledRelease: (() => void) | null = null;
  private readonly passViews: boolean;
  private slotFreed: (() => void) | null = null;
  private puller: { resolve: (r: IteratorResult<Buffer>) => void; reject: (e: unknown) => void } | null = null;
  private ended = false;
  private aborted: Error | null = null;
  /** The pipeline stopped pulling (it failed): later chunks are dropped. */
  private consumerGone = false;
  /** Staging has ended (stored or failed): nothing pulls or reads chunks any more. */
  private settled = false;

  constructor(
    ingest: IngestPipeline,
    private readonly blobs: BlobStore,
    maxSize: number,
    private readonly binary: boolean,
  ) {
    this.passViews = blobs.writerCopiesChunks === true;
    const source: AsyncIterable<Buffer> = { [Symbol.asyncIterator]: () => this.iterator() };
    this.result = ingest.stage(source, maxSize);
    // Observed by finish(); an abort's rejection must not go unhandled. Once
    // staging has ended nothing reads a chunk any more.
    this.result.catch(() => undefined).finally(() => this.releaseAll());
  }

  /**
   * Resolves when the next chunk may be written. `onRelease`: the chunk's
   * memory will be reused by the caller; called once nothing refers to it.
   */
  async write(chunk: Buffer, onRelease?: () => void): Promise<void> {
    if (!this.binary && !this.nul && chunk.includes(0)) this.nul = true;
    this.size += chunk.length;
    if (onRelease && !this.passViews) {
      chunk = Buffer.from(chunk);
      onRelease();
      onRelease = undefined;
    }
    while (this.slot !== null && !this.consumerGone) await new Promise<void>((r) => (this.slotFreed = r));
    if (this.consumerGone || this.aborted || this.settled) {
      onRelease?.();
      return;
    }
    const p = this.puller;
    if (p) {
      this.puller = null;
      this.pulledRelease = onRelease ?? null;
      p.resolve({ value: chunk, done: false });
    } else {
      this.slot = chunk;
      this.slotRelease = onRelease ?? null;
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
    this.dropSlot();
    this.wakeWriter();
    const p = this.puller;
    this.puller = null;
    p?.reject(this.aborted);
    await this.result.catch(() => undefined);
  }

  private iterator(): AsyncIterator<Buffer> {
    return {
      next: () => {
        // Asking again: the pipeline is done with the chunk it pulled before.
        this.releasePulled();
        if (this.aborted) return Promise.reject(this.aborted);
        const chunk = this.slot;
        if (chunk !== null) {
          this.slot = null;
          this.pulledRelease = this.slotRelease;
          this.slotRelease = null;
          this.wakeWriter();
          return Promise.resolve({ value: chunk, done: false });
        }
        if (this.ended) return Promise.resolve(DONE);
        return new Promise((resolve, reject) => (this.puller = { resolve, reject }));
      },
      return: () => {
        this.consumerGone = true;
        this.releasePulled();
        this.dropSlot();
        this.wakeWriter();
        return Promise.resolve(DONE);
      },
    };
  }

  private releasePulled(): void {
    const release = this.pulledRelease;
    this.pulledRelease = null;
    release?.();
  }

  private dropSlot(): void {
    const release = this.slotRelease;
    this.slot = null;
    this.slotRelease = null;
    release?.();
  }

  /** Staging has settled: no chunk is read any more. */
  private releaseAll(): void {
    this.settled = true;
    this.releasePulled();
    this.dropSlot();
    this.wakeWriter();
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
