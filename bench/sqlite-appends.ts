// The SQLite side of a delivery, alone: appends of the delivery scenario's
// message mix (indexed once up front; each append its own blob id) by K
// concurrent writers into 20 users' INBOXes of a durable (fsynced) embedded
// repository with its background thread (SEARCH index, checkpoints), as the
// server runs it; a point ends when that thread has caught up. Reports wall
// time, the event loop's busy time per append (the cost the IMAP and LMTP
// sessions of one process share) and the process's CPU time per append (all
// threads: the fsyncs run in the pool, the index in the background thread;
// steadier than wall time on a loaded machine), so write transaction changes
// can be compared without the network and the blob store.
//
//   node --import tsx bench/sqlite-appends.ts [--appends 4000] [--writers 1,4,16] [--no-fsync]

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { indexMessage } from '../src/mime/indexer.js';
import type { AppendItem, MailboxId } from '../src/mail/types.js';
import { openSqliteRepository } from '../src/store/sqlite/index.js';
import { generateMessage } from './lib/messages.js';

const { values } = parseArgs({
  options: {
    appends: { type: 'string', default: '4000' },
    writers: { type: 'string', default: '1,4,16' },
    'no-fsync': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
const appends = Number(values.appends);
const writerCounts = values.writers.split(',').map(Number);
const USERS = 20;
const POOL = 200;

const pool: AppendItem[] = [];
for (let i = 0; i < POOL; i++) {
  const m = generateMessage(Number(values.seed), i, { to: `user${i % USERS}@bench.example` });
  pool.push({ blobId: '', index: indexMessage(m.bytes), flags: [], internalDate: new Date() });
}

async function point(writers: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'petrel-sqlite-appends-'));
  const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: !values['no-fsync'], background: true });
  try {
    const inboxes: MailboxId[] = [];
    for (let u = 0; u < USERS; u++) {
      const account = await repo.directory.createAccount(`user${u}`, 'x');
      inboxes.push((await repo.store.createMailbox(account.id, 'INBOX')).id);
    }
    let next = 0;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = next++; i < appends; i = next++) {
          const base = pool[i % POOL]!;
          // Each append its own blob (a distinct id), as distinct deliveries are.
          const blobId = createHash('sha256').update(`${i}`).digest('hex');
          await repo.store.appendMessages(inboxes[i % USERS]!, [{ ...base, blobId, internalDate: new Date() }]);
        }
      }),
    );
    await repo.backgroundIdle();
    const wall = performance.now() - t0;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `writers=${writers} appends=${appends} wall=${wall.toFixed(0)} ms  appends/s=${((appends / wall) * 1000).toFixed(0)}  ` +
        `event loop busy ms/append=${(elu.active / appends).toFixed(3)}  process CPU ms/append=${((cpu.user + cpu.system) / 1000 / appends).toFixed(3)}`,
    );
  } finally {
    await repo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const w of writerCounts) await point(w);
