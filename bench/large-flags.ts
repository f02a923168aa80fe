// Server-side cost of SELECT, FETCH 1:* (UID FLAGS) and STATUS on a very large
// mailbox, measured in-process (no sockets): the code paths of the IMAP
// handlers (MailboxView.open, fetchFlagItems + the response serializer,
// MailStore.counts) on a synthetic mailbox of --messages messages (metadata
// only: every row points at one stored message; 85 % \Seen, some \Answered
// and \Flagged). The large-mailbox scenario of run.ts measures the same over
// IMAP, but its import of a million real messages takes hours. Run by hand:
//
//   node --import tsx bench/large-flags.ts                      # 1,000,000 messages, SQLite
//   node --import tsx bench/large-flags.ts --messages 100000 --pg
//
// Figures are this process's CPU time (user + system, all threads: GC
// included) per step, and the elapsed time; for PostgreSQL the database
// server's own CPU is not in the first, its time answering is in the
// second. The first run is cold (JIT, heap growth), as the first FETCH of a
// server process is; the median of the others is the warm figure.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { MailboxView } from '../src/imap/view.js';
import { fetchFlagItems } from '../src/imap/handlers/fetch-flags.js';
import { indexMessage } from '../src/mime/indexer.js';
import type { MailStore } from '../src/mail/ports.js';
import type { Response } from '../src/protocol/imap/response.js';
import { serializeResponses } from '../src/protocol/imap/serializer.js';
import { openSqliteRepository } from '../src/store/sqlite/index.js';
import { openPostgresRepository } from '../src/store/postgres/index.js';
import { connectPostgres } from '../src/store/postgres/pg.js';
import { startPostgres } from '../test/support/postgres.js';

const { values: opts } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '4' },
    pg: { type: 'boolean', default: false },
    'no-sqlite': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(`usage: node --import tsx bench/large-flags.ts [options]
  --messages N   messages in the INBOX (default 1000000)
  --runs N       runs of each step (default 4): the first is reported as cold, the median of the others as warm
  --pg           also on a private PostgreSQL (initdb, as test/support/postgres.ts)
  --no-sqlite    skip SQLite`);
  process.exit(0);
}
const N = Number(opts.messages);
const RUNS = Math.max(2, Number(opts.runs));

/** System flags of synthetic message `uid`: \Seen on 85 %, some \Answered (1) and \Flagged (4). */
const SYSTEM_FLAGS_SQL = (uid: string) =>
  `(CASE WHEN ${uid} % 20 < 17 THEN 1 ELSE 0 END) | (CASE WHEN ${uid} % 37 = 0 THEN 4 ELSE 0 END) | (CASE WHEN ${uid} % 11 = 0 THEN 2 ELSE 0 END)`;

const RAW = Buffer.from('From: a@example.org\r\nSubject: large\r\n\r\nbody\r\n');

/** INBOX with its first message appended through the store (so the blob row exists); returns its id and blob id. */
async function firstMessage(store: MailStore, accountId: number): Promise<{ mailboxId: number; blobId: string }> {
  const inbox = await store.createMailbox(accountId, 'INBOX');
  const blobId = 'b'.repeat(64);
  await store.appendMessages(inbox.id, [{ blobId, index: indexMessage(RAW), flags: ['\\Seen'], internalDate: new Date(0) }]);
  return { mailboxId: inbox.id, blobId };
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function measure(name: string, store: MailStore, mailboxId: number): Promise<void> {
  const steps: Record<string, number[]> = { SELECT: [], 'FETCH 1:* (UID FLAGS)': [], 'FETCH 1:* after a change': [], STATUS: [] };
  const walls: Record<string, number[]> = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
  const time = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const c0 = cpuMs();
    const w0 = performance.now();
    const v = await fn();
    walls[step]!.push(performance.now() - w0);
    steps[step]!.push(cpuMs() - c0);
    return v;
  };
  const fetchAll = async (view: MailboxView): Promise<number> => {
    let bytes = 0;
    const uids = view.uidsForSeqSet({ kind: 'set', ranges: [{ start: 1, end: '*' }] }, []);
    const send = async (...r: Response[]) => {
      for (const p of serializeResponses(r, { utf8: false, rev2: false })) bytes += (p as Buffer).length;
    };
    await fetchFlagItems({ store, mailboxId, view, send, uidFetch: false }, uids, [{ kind: 'UID' }, { kind: 'FLAGS' }], undefined);
    return bytes;
  };
  for (let run = 0; run < RUNS; run++) {
    const view = await time('SELECT', () => MailboxView.open(store, mailboxId));
    if (view.exists !== N) throw new Error(`${name}: ${view.exists} messages, expected ${N}`);
    const bytes = await time('FETCH 1:* (UID FLAGS)', () => fetchAll(view));
    if (bytes < N * 20) throw new Error(`${name}: FETCH wrote ${bytes} bytes`);
    // A change the view has not pulled: FETCH reads the flags from the store's listing instead.
    await store.storeFlags(mailboxId, [{ start: 1, end: 1 }], run % 2 ? 'add' : 'remove', ['\\Flagged']);
    await time('FETCH 1:* after a change', () => fetchAll(view));
    const counts = await time('STATUS', () => store.counts(mailboxId));
    if (counts.messages !== N) throw new Error(`${name}: STATUS MESSAGES ${counts.messages}`);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
  for (const [step, xs] of Object.entries(steps)) {
    const ws = walls[step]!;
    console.log(`${name} ${N} msgs  ${step.padEnd(26)} cold ${ms(xs[0]!)}   warm ${ms(median(xs.slice(1)))} CPU;  wall cold ${ms(ws[0]!)}   warm ${ms(median(ws.slice(1)))}`);
  }
}

if (!opts['no-sqlite']) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-large-flags-'));
  try {
    const file = path.join(dir, 'petrel.db');
    let repo = openSqliteRepository(file, { fsync: false });
    const account = await repo.directory.createAccount('big@bench.test', '{PLAIN}x');
    const { mailboxId, blobId } = await firstMessage(repo.store, account.id);
    await repo.close();
    const t0 = Date.now();
    const raw = new Database(file);
    raw.exec(`WITH RECURSIVE u(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM u WHERE x < ${N})
      INSERT INTO messages (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
      SELECT ${mailboxId}, x, 2 + x / 500, ${SYSTEM_FLAGS_SQL('x')}, '', 0, 0, 400 + x % 1100, '${blobId}' FROM u;
      UPDATE mailboxes SET uidnext = ${N + 1}, highestmodseq = ${2 + Math.floor(N / 500)} WHERE id = ${mailboxId};`);
    raw.close();
    console.log(`sqlite: ${N} messages built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    repo = openSqliteRepository(file, { fsync: false });
    await measure('sqlite', repo.store, mailboxId);
    await repo.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (opts.pg) {
  const pg = await startPostgres();
  try {
    const url = await pg.createDatabase();
    const repo = await openPostgresRepository(url, { max: 2 });
    const account = await repo.directory.createAccount('big@bench.test', '{PLAIN}x');
    const { mailboxId, blobId } = await firstMessage(repo.store, account.id);
    const t0 = Date.now();
    const sql = connectPostgres(url, { max: 1 });
    // A blob row per message: the per-row reference trigger updating one blob row N times in one
    // transaction would walk an ever longer chain of row versions.
    await sql.unsafe(`INSERT INTO blobs (blob_id, size, idx, sent_day)
      SELECT x || '-${blobId}', size, idx, sent_day FROM blobs, generate_series(2, ${N}) AS x WHERE blob_id = '${blobId}'`);
    await sql.unsafe(`INSERT INTO messages (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
      SELECT ${mailboxId}, x, 2 + x / 500, ${SYSTEM_FLAGS_SQL('x')}, '', 0, 0, 400 + x % 1100, x || '-${blobId}' FROM generate_series(2, ${N}) AS x`);
    await sql.unsafe(`UPDATE mailboxes SET uidnext = ${N + 1}, highestmodseq = ${2 + Math.floor(N / 500)} WHERE id = ${mailboxId}`);
    await sql.unsafe('VACUUM ANALYZE messages');
    await sql.end();
    console.log(`postgres: ${N} messages built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await measure('postgres', repo.store, mailboxId);
    await repo.close();
  } finally {
    await pg.stop();
  }
}
