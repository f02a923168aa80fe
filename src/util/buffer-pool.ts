// A free list of equal-sized buffers, reused instead of allocating one per
// socket read or per file write. Big messages otherwise allocate their size
// again in short-lived 64-256 KiB buffers: the memory is only returned when
// V8's collector runs (driven by "external memory pressure", a full
// mark-compact every ~30 MB), so the process's peak grows by megabytes per
// message and each fresh buffer costs page faults again.
//
// The owner of a buffer must give it back exactly once, and only when nothing
// reads or writes it any more (an fs write in flight still reads it): the
// next acquire() hands it out with the previous owner's bytes still in it,
// so users only ever read the part they filled themselves.

export class BufferPool {
  private readonly free: Buffer[] = [];
  private taken = 0;

  /**
   * @param size bytes per buffer
   * @param maxFree buffers kept for reuse; more released ones are left to the collector
   */
  constructor(
    readonly size: number,
    private readonly maxFree: number,
  ) {}

  /** A buffer of `size` bytes whose content is whatever its last owner left. */
  acquire(): Buffer {
    this.taken++;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Gives `buf` back; it must not be used by the caller afterwards. */
  release(buf: Buffer): void {
    if (buf.length !== this.size || buf.byteOffset !== 0) throw new Error('BufferPool.release: not a buffer of this pool');
    // A second release would hand the same memory to two owners: a bug worth failing loudly on (the list is short).
    if (this.free.includes(buf)) throw new Error('BufferPool.release: buffer released twice');
    this.taken--;
    if (this.free.length < this.maxFree) this.free.push(buf);
  }

  /** Buffers waiting for reuse (tests). */
  get freeCount(): number {
    return this.free.length;
  }

  /** Buffers acquired and not released yet (tests: a leak shows here). */
  get inUse(): number {
    return this.taken;
  }
}
