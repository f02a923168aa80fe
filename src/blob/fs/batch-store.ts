// The file blob store's batch path (FsBlobStore.storeBatch, used by
// `petrel import maildir`) for blobs already in memory: the same guarantees as
// the one-blob writer of fs-blob-store.ts (file fsync, rename into place,
// directory fsync, all before the caller commits metadata), paid once per
// batch instead of once per message. The writer's per-message round trips
// (open before the bytes arrive, dedup check, fan-out directories, two waits
// on fsync) are what made an import of a million small files take most of an
// hour.
//
// Crash safety is the writer's: a blob reaches its content address only
// after its bytes are durable, so an address never names a partial file; the
// directories are synced before the caller commits the metadata, so a
// committed message never lacks its body. A failure (or crash) part-way
// leaves at worst blobs no row refers to, which the GC's orphan sweep removes.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { forEachBounded } from '../../util/for-each-bounded.js';
import { syncPath } from './fd.js';
import type { FsBlobStore } from './fs-blob-store.js';

/** Thread-pool operations of one kind in flight at once (libuv runs 4 by default; more only queue). */
const LANES = 16;

/** Whether `sync -f` (syncfs(2), GNU coreutils) worked here; null until first tried. */
let syncfsWorks: boolean | null = null;

/** syncfs(2) of the file system holding `dir` (Node has no binding): false when `sync -f` is missing or fails. */
function syncFileSystem(dir: string): Promise<boolean> {
  if (syncfsWorks === false) return Promise.resolve(false);
  return new Promise((resolve) =>
    execFile('sync', ['-f', dir], (err) => {
      syncfsWorks = !err;
      resolve(!err);
    }),
  );
}

/**
 * Makes every blob durable under its content address: blobs already stored
 * are touched (the GC's grace period starts again, as the writer's copy
 * renamed over a stored blob does), the others written to temp files, made durable, renamed into place,
 * and the renames made durable. Same address twice in `blobs` is written once.
 *
 * Durable: one syncfs of the store's file system after the writes and one
 * after the renames (two flushes per batch however many files); where `sync
 * -f` is not available (or fails: a write-back error is then reported by the
 * fsyncs), an fsync of every file and of every directory, in parallel.
 */
export async function storeBlobsDurably(
  store: FsBlobStore,
  blobs: ReadonlyArray<{ blobId: string; bytes: Buffer }>,
  options: { flush?: 'syncfs' | 'fsync' } = {},
): Promise<void> {
  const unique = new Map<string, Buffer>();
  for (const b of blobs) if (!unique.has(b.blobId)) unique.set(b.blobId, b.bytes);
  const fsync = store.options.fsync ?? true;
  const missing: Array<{ blobId: string; bytes: Buffer; temp: string }> = [];
  for (const [blobId, bytes] of unique) {
    if (!touchIfExists(store, blobId)) missing.push({ blobId, bytes, temp: store.newTempPath('import') });
  }
  if (missing.length === 0) return;
  const renamed = new Set<string>();
  try {
    // Small files: written with plain system calls (a thread-pool round trip
    // each would cost more than the write); the flush is what takes time.
    for (const m of missing) writeWhole(m.temp, m.bytes);
    const bySyncfs = fsync && options.flush !== 'fsync' && (await syncFileSystem(store.dir));
    if (fsync && !bySyncfs) {
      await forEachBounded(missing, LANES, (m) => syncPath(m.temp));
    }
    const dirs = new Set<string>();
    for (const m of missing) {
      const final = store.pathOf(m.blobId);
      const dir = path.dirname(final);
      for (const parent of await store.ensureDir(dir)) dirs.add(parent);
      dirs.add(dir);
      fs.renameSync(m.temp, final);
      renamed.add(m.temp);
    }
    if (!fsync) return;
    if (bySyncfs && (await syncFileSystem(store.dir))) return;
    await forEachBounded([...dirs], LANES, (dir) => syncPath(dir));
  } finally {
    // Temp files not renamed (a failure part-way): nothing refers to them.
    await Promise.all(missing.filter((m) => !renamed.has(m.temp)).map((m) => fsp.rm(m.temp, { force: true })));
  }
}

/**
 * FsBlobStore.touchIfExists with one plain system call (a thread-pool round
 * trip per blob costs several times more CPU): refreshes the mtime of an
 * existing blob, which a concurrent GC claim then sees (see that method and
 * FsBlobStore.delete).
 */
function touchIfExists(store: FsBlobStore, blobId: string): boolean {
  const now = new Date();
  try {
    fs.utimesSync(store.pathOf(blobId), now, now);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** A new file holding `bytes` (it must not exist). */
function writeWhole(file: string, bytes: Buffer): void {
  const fd = fs.openSync(file, 'wx', 0o640);
  try {
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    fs.closeSync(fd);
  }
}
