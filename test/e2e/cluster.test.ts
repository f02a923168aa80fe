// Cluster mode end to end: one private PostgreSQL, several real `petrel serve`
// processes (each with its own data dir) over it, and the CLI against the same
// database. Changes made through one server reach IDLE sessions on the others
// through LISTEN/NOTIFY; concurrent APPENDs through two servers into one
// mailbox get unique UIDs that become visible in ascending order.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startServer, type RunningServer } from './harness.js';
import { LmtpSession, RawImap } from './wire-clients.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';

/** How many messages each of the 4 appending clients writes (see the report in the test). */
const APPENDS_PER_CLIENT = Number(process.env.PETREL_CLUSTER_APPENDS ?? 500);
const WAIT_MS = 20000;

let pg: PostgresInstance;
let env: Record<string, string>;
const servers: RunningServer[] = [];

before(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  env = {
    PETREL_STORAGE_BACKEND: 'postgres',
    PETREL_STORAGE_POSTGRES_URL: url,
    PETREL_STORAGE_FSYNC: 'false',
    PETREL_LOG_LEVEL: 'warn',
  };
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.cleanup()));
  await pg.stop();
});

async function start(): Promise<RunningServer> {
  const s = await startServer({ env });
  servers.push(s);
  return s;
}

async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // Any data dir will do: in postgres mode the CLI never touches it for metadata.
  return runCli({ ...process.env, ...env, PETREL_DATA_DIR: servers[0]?.dataDir ?? '/nonexistent-petrel' }, args, input);
}


/** Reads untagged lines during IDLE until `done` says so. */
function idleUntil(c: RawImap, done: (line: string, all: string[]) => boolean, ms = WAIT_MS): Promise<string[]> {
  return c.idleUntil(done, ms);
}

async function endIdle(c: RawImap, tag: string): Promise<string[]> {
  c.socket.write('DONE\r\n');
  const r = await c.collect(tag);
  assert.match(r.tagged, /^OK /);
  return r.untagged;
}

function mail(subject: string): Buffer {
  return Buffer.from(`From: sender@example.net\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n\r\nHello from ${subject}\r\n`);
}

describe('cluster mode: several servers over one PostgreSQL', () => {
  test('a server refuses an unmigrated database and names the fix; db migrate applies the schema', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'petrel-e2e-'));
    try {
      await assert.rejects(startServer({ env, dataDir }), (err: Error) => {
        assert.match(err.message, /schema is older than this Petrel .*petrel db migrate/);
        return true;
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    const early = await cli(['user', 'add', 'alice', '--password', 'secret']);
    assert.equal(early.code, 75, early.stderr);
    assert.match(early.stderr, /petrel db migrate/);

    const migrated = await cli(['db', 'migrate', '--json']);
    assert.equal(migrated.code, 0, migrated.stderr);
    const rows = JSON.parse(migrated.stdout) as Array<{ component: string; before: number; version: number }>;
    assert.deepEqual(rows.map((r) => [r.component, r.before]), [['mailstore', 0], ['blobstore', 0]]);
    assert.ok(rows.every((r) => r.version >= 1));
    const again = await cli(['db', 'migrate', '--json']);
    assert.deepEqual(
      (JSON.parse(again.stdout) as typeof rows).map((r) => r.before),
      rows.map((r) => r.version),
      'a second migrate finds nothing to do',
    );
  });

  test('IDLE on A sees a delivery through B, flags through C, and an expunge through B with correct MSNs', async (t) => {
    const a = await start();
    const b = await start();
    const added = await cli(['user', 'add', 'alice', '--password', 'secret']);
    assert.equal(added.code, 0, added.stderr);
    assert.equal((await cli(['deliver', 'alice'], mail('first').toString())).code, 0);

    const onA = await RawImap.login(a.imapPort, 'alice');
    assert.match((await onA.command('SELECT INBOX')).untagged.join('\n'), /\* 1 EXISTS/);
    let tag = await onA.idle();

    // LMTP delivery through B -> EXISTS on A.
    const lmtp = await LmtpSession.connect(b.lmtpPort);
    const sent = performance.now();
    assert.match(await lmtp.deliver('sender@example.net', 'alice@example.org', mail('second')), /^250 /);
    await idleUntil(onA, (l) => l === '* 2 EXISTS');
    const latency = performance.now() - sent;
    t.diagnostic(`delivery through B seen by IDLE on A after ${latency.toFixed(1)} ms`);

    // A third server joins; a flag change through it -> FETCH FLAGS on A.
    const c = await start();
    const onC = await RawImap.login(c.imapPort, 'alice');
    await onC.command('SELECT INBOX');
    const flagged = performance.now();
    assert.match((await onC.command('UID STORE 1 +FLAGS (\\Flagged)')).tagged, /^OK /);
    await idleUntil(onA, (l) => /^\* 1 FETCH \(.*FLAGS \(\\Flagged\)/.test(l));
    t.diagnostic(`flag change through C seen by IDLE on A after ${(performance.now() - flagged).toFixed(1)} ms`);

    // A CLI delivery reaches A too (NOTIFY from the CLI process).
    assert.equal((await cli(['deliver', 'alice'], mail('third').toString())).code, 0);
    await idleUntil(onA, (l) => l === '* 3 EXISTS');

    // Expunge of the middle message through B -> "* 2 EXPUNGE" on A.
    const onB = await RawImap.login(b.imapPort, 'alice');
    await onB.command('SELECT INBOX');
    assert.match((await onB.command('UID STORE 2 +FLAGS.SILENT (\\Deleted)')).tagged, /^OK /);
    assert.match((await onB.command('EXPUNGE')).untagged.join('\n'), /\* 2 EXPUNGE/);
    await idleUntil(onA, (l) => l === '* 2 EXPUNGE');
    await endIdle(onA, tag);
    const uids = (await onA.command('FETCH 1:* (UID)')).untagged;
    assert.deepEqual(uids, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)']);

    // And back the other way: A's change reaches an IDLE session on C.
    tag = await onC.idle();
    // First what C has pending (the CLI delivery and B's expunge): had C
    // pulled those after A's STORE, the new message would arrive already
    // \Seen, with no FETCH to wait for.
    const pending = await idleUntil(onC, (_, all) => all.includes('* 2 EXPUNGE') && all.some((l) => /^\* \d+ EXISTS$/.test(l)));
    assert.ok(pending.includes('* 2 EXPUNGE'), `C learnt of the expunge too: ${JSON.stringify(pending)}`);
    assert.match((await onA.command('STORE 2 +FLAGS (\\Seen)')).tagged, /^OK /);
    await idleUntil(onC, (l) => /^\* 2 FETCH \(.*\\Seen/.test(l));
    await endIdle(onC, tag);

    for (const client of [onA, onB, onC]) client.close();
    lmtp.close();
  });

  test(`4 clients on 2 servers append ${APPENDS_PER_CLIENT} messages each into one mailbox while a 5th watches`, async (t) => {
    const [a, b, c] = servers;
    assert.ok(a && b && c, 'the servers of the previous test run');
    assert.equal((await cli(['mailbox', 'create', 'alice', 'Load'])).code, 0);
    const total = 4 * APPENDS_PER_CLIENT;

    const watcher = await RawImap.login(c.imapPort, 'alice');
    await watcher.command('SELECT Load');
    const seenUids: number[] = [];
    let exists = 0;
    const noteExists = (line: string): boolean => {
      const m = /^\* (\d+) EXISTS$/.exec(line);
      if (!m) return false;
      const n = Number(m[1]);
      assert.ok(n >= exists, `EXISTS never goes down (${n} after ${exists})`);
      exists = n;
      return true;
    };
    const watch = (async () => {
      while (seenUids.length < total) {
        if (exists === seenUids.length) {
          // Nothing unseen announced yet: wait in IDLE for the next EXISTS.
          const tag = await watcher.idle();
          await idleUntil(watcher, noteExists, 120000);
          for (const line of await endIdle(watcher, tag)) noteExists(line);
        }
        const last = seenUids.at(-1) ?? 0;
        const fetched = await watcher.command(`UID FETCH ${last + 1}:* (UID)`);
        for (const line of fetched.untagged) {
          if (noteExists(line)) continue;
          const m = /^\* (\d+) FETCH \(UID (\d+)\)$/.exec(line);
          if (!m) continue;
          const uid = Number(m[2]);
          if (uid <= last) continue; // "n:*" always includes the highest message
          assert.ok(uid > (seenUids.at(-1) ?? 0), `UIDs appear in ascending order (${uid} after ${seenUids.at(-1)})`);
          assert.equal(Number(m[1]), seenUids.length + 1, 'the new message takes the next MSN');
          seenUids.push(uid);
        }
        // Messages appended meanwhile are announced after the FETCH data (fetched next round).
        assert.ok(seenUids.length <= exists, 'only announced messages are fetched');
      }
    })();

    const started = performance.now();
    const appender = async (port: number, name: string): Promise<number[]> => {
      const client = await RawImap.login(port, 'alice');
      const uids: number[] = [];
      for (let i = 0; i < APPENDS_PER_CLIENT; i++) {
        const body = mail(`${name} #${i}`);
        const tag = client.nextTag();
        client.socket.write(`${tag} APPEND Load (\\Seen) {${body.length}}\r\n`);
        const go = await client.reader.line();
        assert.match(go, /^\+ /, 'synchronising literal accepted');
        client.socket.write(body);
        client.socket.write('\r\n');
        const r = await client.collect(tag);
        const m = /^OK \[APPENDUID \d+ (\d+)\]/.exec(r.tagged);
        assert.ok(m, r.tagged);
        uids.push(Number(m[1]));
      }
      client.close();
      return uids;
    };
    const results = await Promise.all([
      appender(a.imapPort, 'a1'),
      appender(a.imapPort, 'a2'),
      appender(b.imapPort, 'b1'),
      appender(b.imapPort, 'b2'),
    ]);
    const appendMs = performance.now() - started;
    await watch;
    t.diagnostic(`${total} APPENDs through 2 servers in ${(appendMs / 1000).toFixed(1)} s (${(total / (appendMs / 1000)).toFixed(0)}/s)`);

    const all = results.flat();
    assert.equal(new Set(all).size, total, 'every UID unique');
    for (const own of results) assert.ok(own.every((u, i) => i === 0 || u > own[i - 1]!), "each client's UIDs ascend");
    assert.deepEqual([...seenUids].sort((x, y) => x - y), [...all].sort((x, y) => x - y), 'the watcher saw exactly the appended UIDs');
    const status = await watcher.command('STATUS Load (MESSAGES UIDNEXT)');
    assert.match(status.untagged.join('\n'), new RegExp(`MESSAGES ${total} UIDNEXT ${Math.max(...all) + 1}\\)`));
    watcher.close();

    const check = await cli(['check']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`checked ${total + 2} messages`));
  });
});
