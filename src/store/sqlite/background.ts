// The main thread's side of the embedded repository's background thread
// (background-worker.ts). After commits, the store asks it to catch up
// (SEARCH index, WAL checkpoint); one request runs at a time and the commits
// made meanwhile are covered by one more, so the thread's batches grow with
// the load instead of its messages.
//
// While it runs, the write connection does not checkpoint on commit
// (wal_autocheckpoint = 0): a checkpoint copies pages and fsyncs the
// database file, which took a third of a delivery's SQLite time on the
// event loop. If the thread fails, the connection checkpoints itself again
// and searches read the unindexed text (slower, still right).

import { Worker } from 'node:worker_threads';

export type BackgroundRequest = { type: 'catch-up' } | { type: 'stop' };
export type BackgroundReply =
  | { type: 'done'; indexed: number; forgotten: number; checkpointed: boolean }
  | { type: 'failed'; message: string };

export interface BackgroundWorkerData {
  /** The main database file. */
  file: string;
  /** The thread checkpoints the WAL at most this often (after commits). */
  checkpointEveryMs: number;
}

/** How long close() lets a running catch-up finish before ending the thread. */
const STOP_GRACE_MS = 5000;
/** A catch-up that failed is tried again after this long. */
const RETRY_MS = 5000;
/** How often the database is looked at for commits of other processes (`petrel deliver`, imports). */
const POLL_MS = 1000;
/**
 * A catch-up starts this long after the first commit it covers, so that it
 * indexes the texts of many commits at once: FTS5 writes (and later merges)
 * a segment per transaction, and catching up after every commit of a
 * delivery load cost about 1 ms of the thread's CPU per text, against
 * 0.17 ms in batches of 200. Searches are exact at any lag (search-index.ts).
 */
const GATHER_MS = 250;

/**
 * Under tsx (tests, src/cli/run.ts) this module is TypeScript and so is the
 * worker's; a worker thread does not inherit tsx's loader, so the bootstrap
 * registers it first. The built server loads plain JavaScript.
 */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './background-worker.ts' : './background-worker.js', import.meta.url).href;
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.url.endsWith('.ts')) (await import('tsx/esm/api')).register();
  await import(workerData.url);
})().catch((err) => { process.nextTick(() => { throw err; }); });
`;

export class SqliteBackground {
  private readonly worker: Worker;
  private running = false;
  private again = false;
  private stopped = false;
  private failed = false;
  /** The catch-up waiting for more commits (GATHER_MS). */
  private gathering: NodeJS.Timeout | null = null;
  /** A catch-up asked for only to checkpoint what the last one left in the WAL. */
  private checkpointLater: NodeJS.Timeout | null = null;
  private readonly exited: Promise<void>;
  private readonly poll: NodeJS.Timeout;
  /** Waiters of idle(): resolved when no catch-up runs or is asked for. */
  private idleWaiters: Array<() => void> = [];

  /**
   * `onFailure`: the thread is gone (the repository goes on without it);
   * `onError`: one catch-up failed and will be tried again;
   * `committedElsewhere`: whether another connection has committed since
   * the last call (PRAGMA data_version: one cheap read, polled).
   */
  constructor(
    file: string,
    private readonly checkpointEveryMs: number,
    private readonly onFailure: (err: Error) => void,
    private readonly onError: (err: Error) => void,
    committedElsewhere: () => boolean,
  ) {
    const data: BackgroundWorkerData & { url: string } = { file, checkpointEveryMs, url: WORKER_URL };
    this.worker = new Worker(BOOTSTRAP, { eval: true, workerData: data });
    this.worker.unref();
    this.worker.on('message', (reply: BackgroundReply) => this.onReply(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.poll = setInterval(() => {
      try {
        if (committedElsewhere()) this.notify();
      } catch (err) {
        this.onError(err as Error);
      }
    }, POLL_MS).unref();
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (!this.stopped) this.fail(new Error(`background thread exited (${code})`));
        resolve();
      }),
    );
  }

  /** Something was committed: catch up (soon, or after the running catch-up). */
  notify(): void {
    if (this.stopped || this.failed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.gathering ??= setTimeout(() => this.catchUpNow(), GATHER_MS).unref();
  }

  /** Resolves once every commit notified so far has been caught up with (tests, benchmarks): no more gathering. */
  idle(): Promise<void> {
    if (this.gathering) this.catchUpNow();
    if (!this.running || this.failed || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private catchUpNow(): void {
    if (this.gathering) clearTimeout(this.gathering);
    this.gathering = null;
    if (this.stopped || this.failed) return;
    this.running = true;
    this.worker.postMessage({ type: 'catch-up' } satisfies BackgroundRequest);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poll);
    if (this.gathering) clearTimeout(this.gathering);
    if (this.checkpointLater) clearTimeout(this.checkpointLater);
    this.wakeIdle();
    this.worker.postMessage({ type: 'stop' } satisfies BackgroundRequest);
    const timer = setTimeout(() => void this.worker.terminate(), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private onReply(reply: BackgroundReply): void {
    this.running = false;
    if (reply.type === 'failed') {
      // A catch-up that failed (the database busy past its timeout, a full
      // disk) is tried again later; only a thread that dies is given up.
      this.onError(new Error(reply.message));
      this.again = false;
      this.wakeIdle();
      if (!this.stopped) setTimeout(() => this.notify(), RETRY_MS).unref();
      return;
    }
    if (!reply.checkpointed && !this.checkpointLater && !this.stopped) {
      // The last commits' frames wait in the WAL until a catch-up
      // checkpoints; if no commit asks for one, this does once it is due.
      this.checkpointLater = setTimeout(() => {
        this.checkpointLater = null;
        this.notify();
      }, this.checkpointEveryMs).unref();
    }
    if (this.again && !this.stopped) {
      this.again = false;
      // Someone waits in idle(): no gathering.
      if (this.idleWaiters.length > 0) this.catchUpNow();
      else this.notify();
      return;
    }
    this.wakeIdle();
  }

  private fail(err: Error): void {
    if (this.failed || this.stopped) return;
    this.failed = true;
    this.running = false;
    clearInterval(this.poll);
    if (this.gathering) clearTimeout(this.gathering);
    if (this.checkpointLater) clearTimeout(this.checkpointLater);
    this.wakeIdle();
    this.onFailure(err);
    void this.worker.terminate();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
