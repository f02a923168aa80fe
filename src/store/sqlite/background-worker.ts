// The embedded repository's background thread (started by background.ts):
// on each request it brings the SEARCH index up to the committed text
// (search-index.ts) and checkpoints the WAL, so that
// neither runs on the event loop that serves the sessions.

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SearchIndexWriter } from './search-index.js';
import type { BackgroundReply, BackgroundRequest, BackgroundWorkerData } from './background.js';

const { file, checkpointEveryMs } = workerData as BackgroundWorkerData;
const port = parentPort!;

const main = new Database(file);
main.pragma('busy_timeout = 5000');
// Said, not left to the build's default (better-sqlite3 compiles WAL
// connections to NORMAL): a checkpoint must fsync the database before the
// WAL may start over, since the write connection's unsynced commits (small
// bodies, SqlDb.writeUnsynced) are overwritten then. OFF would skip it.
main.pragma('synchronous = NORMAL');
// Follows the file the database names (another process may replace it).
const indexer = new SearchIndexWriter(main, file);
let lastCheckpoint = 0;

port.on('message', (request: BackgroundRequest) => {
  if (request.type === 'stop') {
    indexer.close();
    main.close();
    port.close();
    return;
  }
  let reply: BackgroundReply;
  try {
    const { indexed, forgotten } = indexer.catchUp();
    // PASSIVE: copies the frames committed since the last one that no reader
    // still needs, and never waits for the writer. Each fsyncs the database
    // file, hence at most one a period (SQLite's own runs every 1000 pages).
    const checkpointed = Date.now() - lastCheckpoint >= checkpointEveryMs;
    if (checkpointed) {
      main.pragma('wal_checkpoint(PASSIVE)');
      lastCheckpoint = Date.now();
    }
    reply = { type: 'done', indexed, forgotten, checkpointed };
  } catch (err) {
    reply = { type: 'failed', message: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
