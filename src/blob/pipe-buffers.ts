// BlobStore.pipeRange for both stores (fs-blob-store.ts, pg-blob-store.ts):
// a body is read into two buffers taken in turn, the next read overlapping
// the sink's write of the previous chunk. The buffers come from a pool
// shared by all calls: a fresh 256 KiB buffer is mapped by malloc page by
// page, so every FETCH of a big body faulted 0.5 MB in again, freed only
// when V8 collected it.

import { BufferPool } from '../util/buffer-pool.js';

/** Bytes per buffer: the most one read of pipeRange fills. */
export const PIPE_CHUNK = 256 * 1024;
/** Two pairs wait for reuse at most (1 MiB). */
export const pipeBuffers = new BufferPool(PIPE_CHUNK, 4);

const RESOLVED = Promise.resolve();

/**
 * Runs `reads` in order, each into a pooled buffer (it reads at most
 * buf.length bytes into buf from offset 0 and returns how many; 0 ends the
 * data), and hands each chunk to `sink`. A buffer is read into again only
 * after the sink's promise for its previous chunk resolved, and goes back
 * to the pool only once every sink promise has settled, also when a read or
 * the sink fails. The next read is taken from `reads` after the previous
 * one returned (it may depend on how much that one read), and the second
 * buffer only when a second read comes.
 */
export async function pipeDoubleBuffered(
  reads: Iterable<(buf: Buffer) => Promise<number>>,
  sink: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  let inFlight: Promise<void> = RESOLVED;
  const buffers: Buffer[] = [];
  let turn = 0;
  try {
    for (const read of reads) {
      const buf = (buffers[turn] ??= pipeBuffers.acquire());
      const n = await read(buf);
      if (n === 0) break;
      await inFlight;
      inFlight = sink(buf.subarray(0, n));
      // Handled now: it may fail while the next read runs; the await above or below throws it.
      inFlight.catch(() => {});
      turn ^= 1;
    }
    await inFlight;
  } finally {
    // A read that failed may have left the previous chunk's sink running: wait for it before reuse.
    await inFlight.catch(() => {});
    for (const buf of buffers) pipeBuffers.release(buf);
  }
}
