// Content-addressed blobs as files: <dir>/blobs/ab/<sha256hex> (stores made
// before: blobs/ab/cd/<sha256hex>; layout.ts). A writer
// streams into <dir>/tmp while hashing, then fsyncs and renames the file into
// place (and fsyncs the directory), so a blob is either whole under its
// address or absent. Same bytes -> same address -> the second copy replaces
// the first, with a fresh mtime: the mtime is the "last touched" time the
// garbage collector's grace period is measured from (see ../gc.ts).

import { createHash, randomUUID, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { MailError } from '../../mail/errors.js';
import type { BlobDeleteOptions, BlobStore, BlobWriter, ByteRange } from '../../mail/ports.js';
import type { BlobId } from '../../mail/types.js';
import { BufferPool } from '../../util/buffer-pool.js';
import { pipeDoubleBuffered } from '../pipe-buffers.js';
import { storeBlobsDurably } from './batch-store.js';
import { fdClose, fdOpen, fdRead, fdStat, fdSync, renameFile, syncPath, syncPathSync } from './fd.js';
import { blobPath, FAN_OUT, openLayout, type BlobLayout } from './layout.js';

const BLOB_ID = /^[0-9a-f]{64}$/;
/** A temp file of delete(): a claimed blob (see restoreClaimed). */
const GC_CLAIM = /^\d+-gc\.([0-9a-f]{64})-/;
const RESOLVED = Promise.resolve();
/** Temp files of a dead process, or older than this, are removed at open. */
const STALE_TEMP_MS = 24 * 3600 * 1000;

export interface FsBlobStoreOptions {
  /** fsync files and directories on commit (default true). */
  fsync?: boolean;
  /** Test seams for deterministic race tests; never set in production. */
  hooks?: {
    /** Runs in commit() once the content address is known, before the file is renamed to it. */
    beforePublish?: (blobId: BlobId) => Promise<void>;
  };
}

export class FsBlobStore implements BlobStore {
  readonly blobDir: string;
  readonly tmpDir: string;
  readonly layout: BlobLayout;
  private readonly fsync: boolean;
  private readonly knownDirs = new Set<string>();
  /**
   * Its writers copy every chunk in write() before returning, so a caller
   * may hand them views of memory it reuses (the IMAP connection's pooled
   * socket reads, src/util/pooled-reads.ts).
   */
  readonly writerCopiesChunks = true;

  constructor(
    readonly dir: string,
    readonly options: FsBlobStoreOptions = {},
  ) {
    this.fsync = options.fsync ?? true;
    this.blobDir = path.join(dir, 'blobs');
    this.tmpDir = path.join(dir, 'tmp');
    fs.mkdirSync(this.blobDir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
    this.layout = openLayout(this.blobDir, this.fsync);
    this.removeStaleTemps();
  }

  /**
   * Another process (the `petrel` CLI) may share the directory and be writing
   * right now, so only temp files of processes that no longer run (the pid is
   * the name's prefix) or very old ones are removed.
   */
  private removeStaleTemps(): void {
    const now = Date.now();
    for (const name of fs.readdirSync(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      const pid = Number(name.split('-', 1)[0]);
      let stale = !Number.isInteger(pid) || pid <= 0 || !processAlive(pid);
      if (!stale) {
        try {
          stale = now - fs.statSync(file).mtimeMs > STALE_TEMP_MS;
        } catch {
          continue;
        }
      }
      if (!stale) continue;
      const claimed = GC_CLAIM.exec(name);
      if (claimed) this.restoreClaimed(file, claimed[1]!);
      else fs.rmSync(file, { force: true, recursive: true });
    }
  }

  /**
   * A blob the GC had claimed (renamed out of its address, delete()) when
   * its process ended: the GC's decision died with it, and a message may
   * reference the blob (a writer's copy the claim took), so it goes back to
   * its address, where the next GC pass decides again. If the address holds
   * a file again, that one has the same bytes.
   */
  private restoreClaimed(file: string, blobId: BlobId): void {
    const home = this.pathOf(blobId);
    if (fs.existsSync(home)) {
      fs.rmSync(file, { force: true });
      return;
    }
    fs.mkdirSync(path.dirname(home), { recursive: true });
    fs.renameSync(file, home);
    if (this.fsync) syncPathSync(path.dirname(home));
  }

  pathOf(blobId: BlobId): string {
    if (!BLOB_ID.test(blobId)) throw new MailError('NOT_FOUND', `invalid blob id ${JSON.stringify(blobId)}`);
    return blobPath(this.blobDir, this.layout, blobId);
  }

  newTempPath(kind: string): string {
    return path.join(this.tmpDir, `${process.pid}-${kind}-${randomUUID()}`);
  }

  beginWrite(): BlobWriter {
    return new FsBlobWriter(this, this.fsync);
  }

  /** BlobStore.storeBatch: see batch-store.ts (`flush`: how the batch is made durable; tests pick one). */
  storeBatch(blobs: ReadonlyArray<{ blobId: BlobId; bytes: Buffer }>, options: { flush?: 'syncfs' | 'fsync' } = {}): Promise<void> {
    return storeBlobsDurably(this, blobs, options);
  }

  async has(blobId: BlobId): Promise<boolean> {
    if (!BLOB_ID.test(blobId)) return false;
    try {
      return (await fsp.stat(this.pathOf(blobId))).isFile();
    } catch (err) {
      if (isNoEnt(err)) return false;
      throw err;
    }
  }

  async size(blobId: BlobId): Promise<number> {
    try {
      return (await fsp.stat(this.pathOf(blobId))).size;
    } catch (err) {
      throw mapNoEnt(err, blobId);
    }
  }

  read(blobId: BlobId, range?: ByteRange): Readable {
    let file: string;
    try {
      file = this.pathOf(blobId);
    } catch (err) {
      return Readable.from([]).destroy(err as Error) as Readable;
    }
    if (range && range.end <= range.start) return emptyIfExists(file, blobId);
    // Our ranges are end-exclusive, createReadStream's are inclusive. The
    // open override turns a missing file into NOT_FOUND for the consumer.
    return fs.createReadStream(file, {
      start: range?.start,
      end: range && Number.isFinite(range.end) ? range.end - 1 : undefined,
      highWaterMark: 64 * 1024,
      fs: {
        open: (p: fs.PathLike, flags: fs.OpenMode, mode: fs.Mode, cb: (err: Error | null, fd?: number) => void) =>
          fs.open(p, flags, mode, (err, fd) => cb(err ? mapNoEnt(err, blobId) : null, fd)),
        read: fs.read,
        close: fs.close,
      },
    } as Parameters<typeof fs.createReadStream>[1]);
  }

  /**
   * One open, read(s) and close on the callback API (no FileHandle, no
   * stream): FETCH reads most bodies this way. A small range is read
   * without looking up the size; the read simply stops at the end of the file.
   */
  async readBuffer(blobId: BlobId, range?: ByteRange): Promise<Buffer> {
    const file = this.pathOf(blobId);
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(file, 'r', (err, fd) => (err ? reject(mapNoEnt(err, blobId)) : resolve(fd))),
    );
    try {
      const start = Math.max(0, range?.start ?? 0);
      let end = range?.end ?? Infinity;
      // Only a big (or open) range is clamped to the file first, so we never allocate past the blob.
      if (end - start > 1024 * 1024) end = Math.min(end, (await fdStat(fd)).size);
      if (end <= start) return Buffer.alloc(0);
      const buf = Buffer.allocUnsafe(end - start);
      let off = 0;
      while (off < buf.length) {
        const n = await fdRead(fd, buf, off, start + off);
        if (n === 0) break;
        off += n;
      }
      return off === buf.length ? buf : buf.subarray(0, off);
    } finally {
      fs.close(fd, () => {});
    }
  }

  /** Through two pooled buffers (../pipe-buffers.ts); a file shorter than the range ends the data early (the caller checks the byte count it announced). */
  async pipeRange(blobId: BlobId, range: ByteRange, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
    const file = this.pathOf(blobId);
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(file, 'r', (err, fd) => (err ? reject(mapNoEnt(err, blobId)) : resolve(fd))),
    );
    let pos = Math.max(0, range.start);
    function* reads(): Iterable<(buf: Buffer) => Promise<number>> {
      while (pos < range.end) {
        yield async (buf) => {
          const n = await fdRead(fd, buf, 0, pos, Math.min(buf.length, range.end - pos));
          pos += n;
          return n;
        };
      }
    }
    try {
      await pipeDoubleBuffered(reads(), sink);
    } finally {
      fs.close(fd, () => {});
    }
  }

  async delete(blobId: BlobId, options: BlobDeleteOptions = {}): Promise<void> {
    const file = this.pathOf(blobId);
    const grace = options.untouchedForSeconds ?? 0;
    if (grace <= 0) {
      await fsp.rm(file, { force: true });
      return;
    }
    // Claim the file atomically by renaming it out of the address space: a
    // writer committing from now on puts its own copy there. Then look at
    // the claimed file's mtime: if it is fresh (a writer's copy renamed in
    // before the claim, or touched by a writer without fsync) within the
    // grace period, that writer may be about to reference it, so put it back
    // (a copy a writer has stored meanwhile has the same bytes).
    // The name carries the address: a claim its process did not finish is put back (restoreClaimed).
    const trash = this.newTempPath(`gc.${blobId}`);
    try {
      await fsp.rename(file, trash);
    } catch (err) {
      if (isNoEnt(err)) return;
      throw err;
    }
    const { mtimeMs } = await fsp.stat(trash);
    if (Date.now() - mtimeMs < grace * 1000) {
      await fsp.rename(trash, file);
      // A writer may be about to reference it: the put-back must survive a crash.
      if (this.fsync) await syncPath(path.dirname(file));
      return;
    }
    await fsp.rm(trash, { force: true });
  }

  async *list(touchedBefore: Date): AsyncIterable<BlobId> {
    const limit = touchedBefore.getTime();
    for await (const sub of this.leafDirs()) {
      for (const name of await readdirOrEmpty(sub)) {
        if (!BLOB_ID.test(name)) continue;
        try {
          if ((await fsp.stat(path.join(sub, name))).mtimeMs < limit) yield name;
        } catch (err) {
          if (!isNoEnt(err)) throw err;
        }
      }
    }
  }

  /** The directories that hold blob files, in the store's layout. */
  private async *leafDirs(): AsyncIterable<string> {
    for (const a of await readdirOrEmpty(this.blobDir)) {
      if (!FAN_OUT.test(a)) continue;
      const first = path.join(this.blobDir, a);
      if (this.layout === 'one-level') {
        yield first;
        continue;
      }
      for (const b of await readdirOrEmpty(first)) if (FAN_OUT.test(b)) yield path.join(first, b);
    }
  }

  async close(): Promise<void> {}

  /**
   * Refreshes the mtime of an existing blob; true if it exists. utimes works
   * on the path, so it either happens before a concurrent GC claim (the GC
   * then sees a fresh mtime and puts the file back) or fails with ENOENT
   * after it (the writer then stores its own copy).
   */
  touchIfExists(blobId: BlobId): Promise<boolean> {
    const now = new Date();
    return new Promise((resolve, reject) =>
      fs.utimes(this.pathOf(blobId), now, now, (err) => (err ? (isNoEnt(err) ? resolve(false) : reject(err)) : resolve(true))),
    );
  }

  /**
   * mkdir -p for the blob's fan-out directories. Returns the parents of the
   * created ones: the caller fsyncs them (with the blob's own directory, all
   * at once) so the new entries survive a crash.
   */
  async ensureDir(dir: string): Promise<string[]> {
    if (this.knownDirs.has(dir)) return [];
    const created = await fsp.mkdir(dir, { recursive: true });
    const parents: string[] = [];
    if (created && this.fsync) {
      for (let d = dir; d.length >= created.length; d = path.dirname(d)) parents.push(path.dirname(d));
    }
    this.knownDirs.add(dir);
    return parents;
  }
}

/**
 * Writers copy the chunks they are given into buffers taken from pools
 * shared by all writers, and write each buffer whole: no caller's chunk is
 * kept (the caller may reuse it at once, see writerCopiesChunks). A
 * writer's first buffer is small (most messages fit it: a delivery of a few
 * KB does not take 256 KiB), the next ones 256 KiB (one write per 256 KiB
 * of a big message).
 */
const FIRST_WRITE_BUFFER = 64 * 1024;
const WRITE_BUFFER = 256 * 1024;
/** At most 2 MiB of each size wait for the next writers. */
const firstWriteBuffers = new BufferPool(FIRST_WRITE_BUFFER, 32);
const writeBuffers = new BufferPool(WRITE_BUFFER, 8);

function releaseWriteBuffer(buf: Buffer): void {
  (buf.length === FIRST_WRITE_BUFFER ? firstWriteBuffers : writeBuffers).release(buf);
}

class FsBlobWriter implements BlobWriter {
  private readonly hash: Hash = createHash('sha256');
  private readonly tmpPath: string;
  /** The temp file's descriptor (null once closed). */
  private fd: Promise<number> | null;
  /** The same once opened. */
  private openFd: number | null = null;
  /**
   * Full buffers waiting for the disk, in order, and their lengths; the
   * first is being written while `writing`. Written with fs.write's
   * callback, one bound function for all: a promise chain per buffer (and
   * a promise per fs.write) made about 3.5 KB of short-lived objects per
   * 256 KiB (0.7 MB per 50 MB APPEND, of 1.6 MB in all); now about 1 KB.
   */
  private readonly pending: Buffer[] = [];
  private readonly pendingLengths: number[] = [];
  private writing = false;
  /** Bytes of the first pending buffer written so far. */
  private writtenOfFirst = 0;
  /** Resolved when nothing is pending (written(), abort()). */
  private idleWaiters: Array<() => void> = [];
  /** The buffer being filled (null until the first byte after a flush). */
  private current: Buffer | null = null;
  /** Buffers taken so far (the first is a small one). */
  private taken = 0;
  private fill = 0;
  /** Buffers queued or being written. */
  private inFlight = 0;
  private wakeWriter: (() => void) | null = null;
  private failure: unknown = null;
  private bytes = 0;
  private state: 'open' | 'committing' | 'done' = 'open';

  constructor(
    private readonly store: FsBlobStore,
    private readonly fsync: boolean,
  ) {
    this.tmpPath = store.newTempPath('w');
    // Opened now, while the first bytes are still on their way (an APPEND
    // literal after its "+"), not on the first flush: a small message's
    // commit then waits for one thread-pool round trip less.
    this.fd = fdOpen(this.tmpPath, 'wx', 0o640);
    this.fd.catch(() => {});
  }

  /**
   * Hashes the chunk and copies it into the write buffers before returning:
   * the caller may reuse it at once. Resolves when the next chunk may follow
   * (at most one buffer waits for the disk while the next fills).
   */
  write(chunk: Buffer): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error('blob writer is closed'));
    this.hash.update(chunk);
    this.bytes += chunk.length;
    for (let off = 0; off < chunk.length; ) {
      this.current ??= this.taken++ === 0 ? firstWriteBuffers.acquire() : writeBuffers.acquire();
      const n = chunk.copy(this.current, this.fill, off);
      this.fill += n;
      off += n;
      if (this.fill === this.current.length) this.flush();
    }
    return this.backpressure();
  }

  private backpressure(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight <= 1) return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      this.wakeWriter = () => (this.failure ? reject(this.failure) : resolve());
    });
  }

  /** Queues the buffer being filled for writing; it goes back to the pool once written. */
  private flush(): void {
    const buf = this.current;
    const length = this.fill;
    this.current = null;
    this.fill = 0;
    if (!buf) return;
    if (length === 0) {
      releaseWriteBuffer(buf);
      return;
    }
    this.inFlight++;
    this.pending.push(buf);
    this.pendingLengths.push(length);
    if (!this.writing) this.writeNext();
  }

  /**
   * Writes the first pending buffer; buffers after a failure or once the
   * writer ended are let go unwritten (in a loop, not by recursion: one
   * write() of a huge chunk queues thousands). Wakes idle waiters when none
   * is left.
   */
  private writeNext(): void {
    for (;;) {
      const buf = this.pending[0];
      if (!buf) {
        this.writing = false;
        for (const wake of this.idleWaiters.splice(0)) wake();
        return;
      }
      this.writing = true;
      if (!this.failure && this.state !== 'done' && this.fd) {
        if (this.openFd === null) return this.writeOnceOpen(this.fd);
        const off = this.writtenOfFirst;
        try {
          fs.write(this.openFd, buf, off, this.pendingLengths[0]! - off, null, this.onWritten);
          return;
        } catch (err) {
          // Arguments fs.write refuses at once (a bug): this blob fails, not the process.
          this.failure ??= err;
        }
      }
      this.releaseFirst();
    }
  }

  /** Only before the temp file is open (the first buffer of a fast writer). */
  private writeOnceOpen(file: Promise<number>): void {
    file.then(
      (fd) => {
        this.openFd = fd;
        this.writeNext();
      },
      (err: unknown) => {
        this.failure ??= err;
        this.writeNext();
      },
    );
  }

  private readonly onWritten = (err: NodeJS.ErrnoException | null, n: number): void => {
    if (err) this.failure ??= err;
    else if ((this.writtenOfFirst += n) < this.pendingLengths[0]! && this.state !== 'done') return this.writeNext(); // a short write: the rest
    this.releaseFirst();
    this.writeNext();
  };

  /** The first pending buffer's write has returned (or it was skipped): nothing reads it any more. */
  private releaseFirst(): void {
    releaseWriteBuffer(this.pending.shift()!);
    this.pendingLengths.shift();
    this.writtenOfFirst = 0;
    this.inFlight--;
    const wake = this.wakeWriter;
    this.wakeWriter = null;
    wake?.();
  }

  /** Resolves when no buffer is pending. */
  private idle(): Promise<void> {
    if (!this.writing) return RESOLVED;
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Every byte written so far is in the file (or the write failed: rejects). */
  private async written(): Promise<number> {
    this.flush();
    await this.idle();
    if (this.failure) throw this.failure;
    return this.fd!;
  }

  /**
   * The content address is known once the last byte is in (the hash runs in
   * write()), so the fan-out directories are made and opened while the bytes
   * are written and fsynced; only the rename and the directory fsyncs wait
   * for the file's fsync, and the descriptors are closed afterwards, off the
   * path to the caller. The order that makes a blob whole or absent: file
   * fsync, rename, directory fsync.
   *
   * A blob that exists already is replaced by this copy (the same bytes)
   * rather than looked up first: the rename is the dedup, one system call
   * less for every new blob, and the new file's mtime is the refresh the
   * garbage collector's grace period needs (FsBlobStore.delete claims a file
   * by renaming it away, then looks at its mtime: this copy is either
   * claimed with a fresh mtime and put back, or renamed in after the claim).
   */
  async commit(): Promise<{ blobId: BlobId; size: number }> {
    if (this.state !== 'open') throw new Error('blob writer is closed');
    this.state = 'committing';
    const blobId = this.hash.digest('hex');
    const durable = this.written().then(async (fd) => {
      if (this.fsync) await fdSync(fd);
      return fd;
    });
    durable.catch(() => {}); // awaited below on every path
    let dirs: Promise<number[]> | null = null;
    try {
      await this.store.options.hooks?.beforePublish?.(blobId);
      // Without fsync this copy may not be on disk yet: it must not replace
      // a durable one (a crash could leave old messages' blob empty), so a
      // blob that exists is kept and touched instead.
      if (!this.fsync && (await this.store.touchIfExists(blobId))) {
        await this.closeFile(await durable);
        await fsp.rm(this.tmpPath, { force: true });
        this.state = 'done';
        return { blobId, size: this.bytes };
      }
      const final = this.store.pathOf(blobId);
      const dir = path.dirname(final);
      const parents = await this.store.ensureDir(dir);
      if (this.fsync) {
        dirs = openAll([dir, ...parents]);
        dirs.catch(() => {});
      }
      const closed = this.closeFile(await durable);
      closed.catch(() => {});
      await renameFile(this.tmpPath, final);
      // Independent syncs, issued together: the file system can commit them in one go.
      if (dirs) await Promise.all((await dirs).map((fd) => fdSync(fd)));
      await closed;
      this.state = 'done';
      return { blobId, size: this.bytes };
    } catch (err) {
      await durable.catch(() => {});
      await this.abort();
      throw err;
    } finally {
      if (dirs) void dirs.then((fds) => fds.forEach((fd) => fs.close(fd, () => {}))).catch(() => {});
    }
  }

  /** Closes the temp file (its bytes are durable); abort() then has no descriptor to close. */
  private closeFile(fd: number): Promise<void> {
    this.fd = null;
    return fdClose(fd);
  }

  async abort(): Promise<void> {
    this.state = 'done';
    // Not in flight: back to the pool now. Queued buffers return when their write has settled.
    if (this.current) releaseWriteBuffer(this.current);
    this.current = null;
    this.fill = 0;
    await this.idle();
    if (this.fd) {
      const fd = this.fd;
      this.fd = null;
      await fd.then((n) => fdClose(n)).catch(() => {});
    }
    await fsp.rm(this.tmpPath, { force: true });
  }
}

/** Opens every directory; if one fails, closes the others and rejects (no descriptor is left behind). */
async function openAll(dirs: string[]): Promise<number[]> {
  const opened = await Promise.allSettled(dirs.map((d) => fdOpen(d, 'r')));
  const failed = opened.find((r) => r.status === 'rejected');
  if (!failed) return opened.map((r) => (r as PromiseFulfilledResult<number>).value);
  for (const r of opened) if (r.status === 'fulfilled') fs.close(r.value, () => {});
  throw failed.reason;
}

function emptyIfExists(file: string, blobId: BlobId): Readable {
  return new Readable({
    read() {
      fsp.access(file).then(
        () => this.push(null),
        (err) => this.destroy(mapNoEnt(err, blobId)),
      );
    },
  });
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (isNoEnt(err)) return [];
    throw err;
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isNoEnt(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

function mapNoEnt(err: unknown, blobId: BlobId): Error {
  if (isNoEnt(err)) return new MailError('NOT_FOUND', `blob ${blobId} not found`, { cause: err });
  return err as Error;
}
