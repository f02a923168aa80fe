// Read replicas with read-your-writes (issue 5): a real `petrel serve` over
// a PostgreSQL primary with a streaming standby that serves reads
// (storage.postgres_replica_urls), message bodies in PostgreSQL.
//
// 1. Read-your-writes against a replica that applies WAL late on purpose
//    (recovery_min_apply_delay): a client APPENDs, then at once FETCHes the
//    new message, SEARCHes for it, flags it and FETCHes its flags, and reads
//    three earlier messages, 1,000 times. Nothing may be missing or stale;
//    the body reads the replica served are counted (GET /metrics), and must
//    be most of them.
// 2. A replica that falls behind (replay paused) or dies (stopped) leaves
//    rotation while reads go on from the primary, and comes back once it has
//    caught up (or runs again). Waits are on /metrics, never fixed sleeps.
// 3. `petrel repo status` shows the primary, the standby streaming from it,
//    and the read replica with its lag.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import postgres from 'postgres';
import { runCli, startServer, type RunningServer } from './harness.js';
import { ReplicatedPostgres } from '../support/replication.js';
import { waitFor } from '../support/postgres.js';

const ITERATIONS = Number(process.env.PETREL_REPLICA_ITERATIONS ?? 1000);
/** How late the delayed replica applies each commit. */
const APPLY_DELAY = '200ms';
const WAIT_MS = 30_000;

interface Cluster {
  pg: ReplicatedPostgres;
  server: RunningServer;
  cliEnv: NodeJS.ProcessEnv;
}

/** One primary + one standby; petrel serve reads from the standby; alice/secret. */
async function startCluster(standbySettings: Record<string, string>, maxLagSeconds: number): Promise<Cluster> {
  const pg = await ReplicatedPostgres.start({ mode: 'async', standbys: 1, standbySettings: [standbySettings] });
  try {
    const url = await pg.createDatabase();
    const database = new URL(url.replace(/@[^/]+\//, '@h/')).pathname.slice(1);
    const env: Record<string, string> = {
      PETREL_STORAGE_BACKEND: 'postgres',
      PETREL_STORAGE_POSTGRES_URL: url,
      PETREL_STORAGE_BLOB_STORE: 'postgres',
      PETREL_STORAGE_POSTGRES_REPLICA_URLS: pg.standbys.map((s) => s.url(database)).join(' '),
      PETREL_STORAGE_REPLICA_MAX_LAG_SECONDS: String(maxLagSeconds),
      PETREL_STORAGE_REPLICA_CHECK_INTERVAL_MS: '100',
      PETREL_STORAGE_POSTGRES_CONNECT_TIMEOUT_SECONDS: '3',
      PETREL_STORAGE_FSYNC: 'false',
      PETREL_METRICS_LISTEN: '127.0.0.1:0',
      PETREL_LOG_LEVEL: 'warn',
    };
    const cliEnv = { ...process.env, ...env, PETREL_DATA_DIR: '/nonexistent-petrel' };
    for (const args of [['db', 'migrate'], ['user', 'add', 'alice', '--password', 'secret']]) {
      const r = await runCli(cliEnv, args);
      assert.equal(r.code, 0, r.stderr);
    }
    await pg.waitForReplay();
    return { pg, server: await startServer({ env }), cliEnv };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

async function stopCluster(c: Cluster | undefined): Promise<void> {
  await c?.server.cleanup().catch(() => undefined);
  await c?.pg.stop();
}

function client(server: RunningServer): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.imapPort,
    secure: false,
    auth: { user: 'alice', pass: 'secret' },
    logger: false,
    disableAutoIdle: true,
  });
}

/** The server's metrics: "name{labels}" -> value. */
async function metrics(server: RunningServer): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
  assert.equal(res.status, 200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function sumOf(all: Map<string, number>, prefix: string, ...needles: string[]): number {
  let sum = 0;
  for (const [k, v] of all) if (k.startsWith(prefix) && needles.every((n) => k.includes(n))) sum += v;
  return sum;
}

async function inRotation(server: RunningServer): Promise<boolean> {
  return sumOf(await metrics(server), 'petrel_replica_in_rotation') === 1;
}

/** One statement on a node, over its own short-lived connection. */
async function sqlOn(url: string, text: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(text);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function message(i: number, tag: string): Buffer {
  return Buffer.from(
    `From: bob@example.net\r\nTo: alice@example.org\r\nSubject: ${tag} ${i}\r\nMessage-ID: <${tag}-${i}@test.example>\r\n\r\n` +
      `Body of ${tag} number ${i}.\r\n`,
  );
}

describe('read replicas: read-your-writes against a delayed replica', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ recovery_min_apply_delay: APPLY_DELAY }, 60);
  });
  after(() => stopCluster(c));

  test(`${ITERATIONS} times APPEND then FETCH, SEARCH and STORE: never missing or stale; most body reads from the replica`, { timeout: 300_000 }, async (t) => {
    const imap = client(c.server);
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      const uids: number[] = [];
      const bodies = new Map<number, string>();
      let seed = 7;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let i = 0; i < ITERATIONS; i++) {
        const raw = message(i, 'ryw');
        const appended = await imap.append('INBOX', raw);
        assert.ok(appended && appended.uid, `APPEND ${i} returned no APPENDUID`);
        const uid = appended.uid;
        uids.push(uid);
        bodies.set(uid, raw.toString());

        // The message just written: present, whole, unflagged.
        const fetched = await imap.fetchOne(String(uid), { source: true, flags: true }, { uid: true });
        assert.ok(fetched, `message ${i} (UID ${uid}) missing right after APPEND`);
        assert.equal(fetched.source?.toString(), raw.toString(), `body of message ${i}`);
        assert.ok(!fetched.flags?.has('\\Flagged'));

        const found = await imap.search({ header: { subject: `ryw ${i}` } }, { uid: true });
        assert.ok(Array.isArray(found) && found.includes(uid), `SEARCH missed message ${i} right after APPEND`);

        // A flag change, read back at once.
        await imap.messageFlagsAdd(String(uid), ['\\Flagged'], { uid: true });
        const flagged = await imap.fetchOne(String(uid), { flags: true }, { uid: true });
        assert.ok(flagged && flagged.flags?.has('\\Flagged'), `\\Flagged of message ${i} stale right after STORE`);

        // A reader also reads its older mail: three earlier messages in one FETCH.
        if (i > 0) {
          const older = [...new Set([random(i), random(i), random(i)].map((k) => uids[k]!))];
          const got = await imap.fetchAll(older.join(','), { source: true }, { uid: true });
          assert.equal(got.length, older.length);
          for (const m of got) assert.equal(m.source?.toString(), bodies.get(m.uid), `body of UID ${m.uid}`);
        }
      }
      const status = await imap.status('INBOX', { messages: true });
      assert.ok(status);
      assert.equal(status.messages, ITERATIONS);
    } finally {
      await imap.logout().catch(() => undefined);
    }
    const m = await metrics(c.server);
    const replicaBodies = sumOf(m, 'petrel_repository_reads_total', 'node="replicas"', 'kind="immutable"');
    const primaryBodies = sumOf(m, 'petrel_repository_reads_total', 'node="primary"', 'kind="immutable"');
    const replicaMeta = sumOf(m, 'petrel_repository_reads_total', 'node="replicas"', 'kind="metadata"');
    const primaryMeta = sumOf(m, 'petrel_repository_reads_total', 'node="primary"', 'kind="metadata"');
    t.diagnostic(
      `immutable reads (bodies, blob indexes): ${replicaBodies} by the replica, ${primaryBodies} by the primary; ` +
        `metadata reads: ${replicaMeta} by the replica, ${primaryMeta} by the primary`,
    );
    assert.ok(replicaBodies > primaryBodies, 'most body reads are served by the replica');
  });
});

describe('read replicas: out of rotation when behind or down, back when caught up', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({}, 1);
  });
  after(() => stopCluster(c));

  /** Delivers `n` messages over LMTP through `petrel deliver` (any writer will do). */
  async function deliver(tag: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const r = await runCli(c.cliEnv, ['deliver', 'alice'], message(i, tag));
      assert.equal(r.code, 0, r.stderr);
    }
  }

  async function readAll(imap: ImapFlow, expected: number): Promise<void> {
    let count = 0;
    for await (const msg of imap.fetch('1:*', { source: true, flags: true })) {
      assert.ok(msg.source && msg.source.length > 0);
      count++;
    }
    assert.equal(count, expected);
  }

  test('a replica whose replay is paused leaves rotation, and returns after it catches up', { timeout: 120_000 }, async () => {
    await waitFor(() => inRotation(c.server), WAIT_MS, 'the replica in rotation at start');
    const standby = c.pg.standbys[0]!;
    const imap = client(c.server);
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      await deliver('before', 3);
      await c.pg.waitForReplay();
      await sqlOn(standby.url(), 'SELECT pg_wal_replay_pause()');
      await deliver('paused', 3);
      // A lag over replica_max_lag_seconds (1 s) takes it out of rotation.
      await waitFor(async () => !(await inRotation(c.server)), WAIT_MS, 'the paused replica out of rotation');
      await imap.noop();
      await readAll(imap, 6); // served by the primary meanwhile
      const before = await metrics(c.server);
      await sqlOn(standby.url(), 'SELECT pg_wal_replay_resume()');
      await waitFor(() => inRotation(c.server), WAIT_MS, 'the replica back in rotation after catching up');
      await readAll(imap, 6);
      const afterResume = await metrics(c.server);
      assert.ok(
        sumOf(afterResume, 'petrel_replica_reads_total') > sumOf(before, 'petrel_replica_reads_total'),
        'the replica serves reads again',
      );
    } finally {
      await imap.logout().catch(() => undefined);
    }
  });

  test('a replica that is stopped leaves rotation, reads go on, and it returns when it runs again', { timeout: 120_000 }, async () => {
    const standby = c.pg.standbys[0]!;
    const imap = client(c.server);
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      const status = await imap.status('INBOX', { messages: true });
      assert.ok(status && status.messages !== undefined);
      const count = status.messages;
      await standby.stop('immediate');
      await waitFor(async () => !(await inRotation(c.server)), WAIT_MS, 'the stopped replica out of rotation');
      await deliver('down', 2);
      await imap.noop();
      await readAll(imap, count + 2);
      await standby.start();
      await waitFor(() => inRotation(c.server), WAIT_MS, 'the restarted replica back in rotation');
      await readAll(imap, count + 2);
    } finally {
      await imap.logout().catch(() => undefined);
    }
  });

  test('petrel repo status shows the primary, the streaming standby and the read replica', { timeout: 60_000 }, async () => {
    await waitFor(() => inRotation(c.server), WAIT_MS, 'the replica in rotation');
    const r = await runCli(c.cliEnv, ['repo', 'status', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<{ repository: string; role: string; state: string }>;
    assert.deepEqual(
      rows.map((row) => [row.repository, row.role]),
      [
        ['default', 'primary'],
        ['default', 'standby'],
        ['default', 'replica'],
      ],
    );
    assert.equal(rows[1]!.state, 'streaming, async');
    assert.equal(rows[2]!.state, 'in rotation');
  });
});
