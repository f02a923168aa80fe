// APPEND message literals are streamed to a temporary file while they arrive
// (never held in memory), then handed to the command as a SpooledLiteral.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpooledLiteral } from '../protocol/imap/ast.js';

export class SpoolWriter {
  private readonly out: WriteStream;
  private readonly path: string;
  private written = 0;
  private failed: Error | null = null;

  constructor(dir: string, private readonly binary: boolean) {
    this.path = join(dir, `append-${process.pid}-${randomBytes(8).toString('hex')}`);
    this.out = createWriteStream(this.path, { flags: 'wx' });
    this.out.on('error', (e) => {
      this.failed = e;
    });
  }

  /** Resolves when more may be written. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failed) return;
    this.written += chunk.length;
    // The framer's chunk may be a view of a buffer it reuses: copy.
    if (!this.out.write(Buffer.from(chunk))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.out.off('error', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('error', done);
      });
    }
  }

  async finish(): Promise<SpooledLiteral> {
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
    if (this.failed) {
      await rm(this.path, { force: true });
      throw this.failed;
    }
    return spooledFile(this.path, this.written, this.binary);
  }

  async abort(): Promise<void> {
    this.out.destroy();
    await rm(this.path, { force: true });
  }
}

function spooledFile(path: string, size: number, binary: boolean): SpooledLiteral {
  return {
    kind: 'spooled',
    size,
    binary,
    open: () => createReadStream(path),
    dispose: () => rm(path, { force: true }),
  };
}
