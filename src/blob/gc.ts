// The blob garbage collector. Blobs are shared (content-addressed) and
// outlive EXPUNGE (sessions may still FETCH), so they are deleted late:
//   1. expunged message rows older than the retention are pruned (the store
//      keeps (uid, modseq) tombstones);
//   2. blobs no message row references any more (store.unreferencedBlobs) are
//      deleted from the BlobStore and then forgotten by the store;
//   3. now and then, an orphan sweep removes blob files the store has never
//      heard of (a crash between the blob commit and the metadata commit).
//
// The race this must survive: a message whose bytes equal an unreferenced
// blob is ingested while the GC runs. The writer's commit() stores its copy
// under the same address (FS: renamed over the old file, whose mtime is then
// fresh; without fsync the old file is kept and touched instead), and only
// later does appendMessages() reference it. Protocol:
//   - every writer commit of bytes already stored refreshes the blob's last
//     touch (FS: mtime);
//   - the GC deletes with `untouchedForSeconds: graceSeconds`, which the
//     BlobStore implements atomically against commits: it first takes the blob
//     out of its address (FS: rename into tmp/), so any later commit stores a
//     fresh copy, then looks at the last touch: touched within the grace
//     period -> put back (a writer may be about to reference it), else delete;
//   - forgetBlobs() drops only rows still unreferenced, and appendMessages()
//     re-registers a forgotten blob, so forgetting a row whose file was kept is
//     harmless (the orphan sweep deletes the file if nobody references it).
// Hence a blob a concurrent ingest deduplicated against is never deleted, as
// long as that ingest commits its metadata within graceSeconds of staging.

import { isMailError } from '../mail/errors.js';
import type { BlobStore, MailStore } from '../mail/ports.js';
import type { Logger } from '../util/log.js';

export interface BlobGcOptions {
  /** A blob touched (written or deduplicated) this recently is never deleted. Must exceed stage->commit time. */
  graceSeconds: number;
  /** How long expunged rows stay fetchable before being pruned. */
  expungedRetentionSeconds: number;
  logger: Logger;
  /** Blobs handled per store round trip (default 500). */
  batchSize?: number;
  /** The orphan sweep walks the whole BlobStore: run it on the first run and then every N runs (default 24). */
  orphanSweepEveryRuns?: number;
}

export interface GcReport {
  prunedRows: number;
  unreferenced: number;
  orphansChecked: number;
}

export class BlobGarbageCollector {
  private running: Promise<GcReport> | null = null;
  private runs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: MailStore,
    private readonly blobs: BlobStore,
    private readonly options: BlobGcOptions,
  ) {
    if (!(options.graceSeconds > 0)) throw new Error('BlobGarbageCollector: graceSeconds must be > 0');
  }

  /** One full pass; concurrent calls share the pass in progress. */
  runOnce(options: { orphans?: boolean } = {}): Promise<GcReport> {
    this.running ??= this.pass(options).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Runs a pass every `intervalSeconds` (errors are logged) until stop(). */
  start(intervalSeconds: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.runOnce().catch((err) => this.options.logger.error('blob gc failed', { err }));
    }, intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private async pass(options: { orphans?: boolean }): Promise<GcReport> {
    const { graceSeconds, expungedRetentionSeconds, logger } = this.options;
    const batch = this.options.batchSize ?? 500;
    const every = this.options.orphanSweepEveryRuns ?? 24;
    const sweep = options.orphans ?? this.runs % every === 0;
    this.runs++;

    const prunedRows = await this.store.pruneExpunged(new Date(Date.now() - expungedRetentionSeconds * 1000));
    let unreferenced = 0;
    for (;;) {
      const ids = await this.store.unreferencedBlobs(batch);
      if (ids.length === 0) break;
      for (const id of ids) await this.blobs.delete(id, { untouchedForSeconds: graceSeconds });
      await this.store.forgetBlobs(ids);
      unreferenced += ids.length;
      if (ids.length < batch) break;
    }

    let orphansChecked = 0;
    if (sweep && this.blobs.list) {
      for await (const id of this.blobs.list(new Date(Date.now() - graceSeconds * 1000))) {
        if (await this.storeKnows(id)) continue;
        orphansChecked++;
        await this.blobs.delete(id, { untouchedForSeconds: graceSeconds });
      }
    }
    const report = { prunedRows, unreferenced, orphansChecked };
    if (prunedRows + unreferenced + orphansChecked > 0) logger.info('blob gc pass', { ...report });
    return report;
  }

  private async storeKnows(blobId: string): Promise<boolean> {
    try {
      await this.store.getIndex(blobId);
      return true;
    } catch (err) {
      if (isMailError(err, 'NOT_FOUND')) return false;
      throw err;
    }
  }
}
