// Rollback detection after an asynchronous fail-over (README "Replication and
// fail-over", src/store/postgres/rollback.ts). The loss is forced, not hoped
// for: the standby is stopped, messages are appended through Petrel (and seen
// by sessions), the primary is killed (kill -9), and the standby, which never
// received those appends, is started and promoted. Then:
//
// - the mailbox has a new UIDVALIDITY (STATUS/SELECT from a new session);
// - sessions that had it selected, connected across the fail-over, get BYE
//   (one in IDLE, one at its next command);
// - an append through the server that saw the lost messages is answered
//   under the new UIDVALIDITY, with a UID above every UID a client saw;
// - what was acknowledged and replicated before, and what was appended on
//   the new primary, is there.
//
// The second test has the append come first through another server, one that
// never saw the mailbox, while the server that saw it is stopped (SIGSTOP):
// it hands a lost UID out once more under the old UIDVALIDITY (the
// documented window), and the server that saw the mailbox, once continued,
// still finds the loss (the counters the new primary had when its timeline
// began) and gives a new UIDVALIDITY. The third: with
// storage.postgres_promotion_uidvalidity = "all" that first append already
// gets a new UIDVALIDITY.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServer, type RunningServer } from './harness.js';
import { preparePetrelDatabase } from './failover-run.js';
import { RawImap } from './wire-clients.js';
import { queryOnce, ReplicatedPostgres } from '../support/replication.js';
import { waitFor } from '../support/postgres.js';

const WAIT_MS = 30_000;

function message(n: number): string {
  return `From: a@example.net\r\nTo: alice@example.org\r\nSubject: message ${n}\r\nMessage-ID: <rollback-${n}@test.example>\r\n\r\nBody ${n}\r\n`;
}

/** APPEND (LITERAL+); returns [UIDVALIDITY, UID] of APPENDUID. */
async function append(c: RawImap, n: number): Promise<[number, number]> {
  const text = message(n);
  const r = await c.command(`APPEND INBOX {${Buffer.byteLength(text)}+}\r\n${text}`);
  const m = /^OK \[APPENDUID (\d+) (\d+)\]/.exec(r.tagged);
  assert.ok(m, `APPEND ${n}: ${r.tagged}`);
  return [Number(m[1]), Number(m[2])];
}

async function status(port: number): Promise<{ uidValidity: number; uidNext: number; messages: number }> {
  const c = await RawImap.login(port, 'alice');
  try {
    const r = await c.command('STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES)');
    assert.match(r.tagged, /^OK /);
    const line = r.untagged.join('\n');
    const get = (k: string) => Number(new RegExp(`${k} (\\d+)`).exec(line)?.[1]);
    return { uidValidity: get('UIDVALIDITY'), uidNext: get('UIDNEXT'), messages: get('MESSAGES') };
  } finally {
    c.close();
  }
}

/** UID -> Message-ID number of every message in INBOX, through a new session (also checks SELECT's UIDVALIDITY). */
async function contents(port: number): Promise<{ uidValidity: number; byUid: Map<number, number> }> {
  const c = await RawImap.login(port, 'alice');
  try {
    const sel = await c.command('SELECT INBOX');
    assert.match(sel.tagged, /^OK /);
    const uidValidity = Number(/UIDVALIDITY (\d+)/.exec(sel.untagged.join('\n'))?.[1]);
    // collect() hands each literal over before the line that announced it: pair them in order.
    const numbers: number[] = [];
    const r = await c.command('UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', async (size, reader) => {
      let text = '';
      await reader.bytes(size, (chunk) => (text += chunk.toString('latin1')));
      numbers.push(Number(/rollback-(\d+)@/.exec(text)?.[1]));
    });
    assert.match(r.tagged, /^OK /);
    const uids = r.untagged.map((l) => /^\* \d+ FETCH \(.*UID (\d+)/.exec(l)?.[1]).filter((u): u is string => u !== undefined).map(Number);
    assert.equal(uids.length, numbers.length);
    const byUid = new Map(uids.map((uid, i) => [uid, numbers[i]!]));
    return { uidValidity, byUid };
  } finally {
    c.close();
  }
}

interface Scenario {
  pg: ReplicatedPostgres;
  /** The mail database's multi-host URL. */
  url: string;
  servers: RunningServer[];
  /** UIDVALIDITY before the fail-over, and the UIDs the lost appends got. */
  before: number;
  lostUids: number[];
  /** Sessions on servers[0] that saw the lost messages, connected throughout: one in IDLE, one between commands (or none). */
  idler: RawImap | null;
  waiting: RawImap | null;
}

/**
 * An asynchronous pair and `serverEnvs.length` Petrel servers on it;
 * messages 1 and 2 appended and replicated, the standby stopped, messages 3
 * and 4 appended through servers[0] and seen by its sessions, the primary
 * killed, the standby started and promoted.
 */
async function loseAppends(
  serverEnvs: Array<Record<string, string>>,
  t: { diagnostic(msg: string): void },
  { sessions = true, pauseFirst = false } = {},
): Promise<Scenario> {
  const pg = await ReplicatedPostgres.start({ mode: 'async' });
  const servers: RunningServer[] = [];
  try {
    const { env } = await preparePetrelDatabase(pg, { PETREL_IMAP_IDLE_POLL_SECONDS: '1' });
    const url = env.PETREL_STORAGE_POSTGRES_URL!;
    for (const extra of serverEnvs) servers.push(await startServer({ env: { ...env, ...extra } }));
    const port = servers[0]!.imapPort;

    const writer = await RawImap.login(port, 'alice');
    const [before] = await append(writer, 1);
    await append(writer, 2);
    await pg.waitForReplay();
    const standby = pg.nodes[1]!;
    await standby.stop();

    const lostUids = [(await append(writer, 3))[1], (await append(writer, 4))[1]];
    writer.close();
    const idler = sessions ? await RawImap.login(port, 'alice') : null;
    const waiting = sessions ? await RawImap.login(port, 'alice') : null;
    for (const c of [idler, waiting]) {
      if (!c) continue;
      const sel = await c.command('SELECT INBOX');
      assert.match(sel.tagged, /^OK /);
      assert.ok(sel.untagged.includes('* 4 EXISTS'), `the session sees the 4 messages: ${sel.untagged.join(' | ')}`);
    }
    await idler?.idle();

    // SIGSTOP: the first server can neither see the fail-over nor check anything until SIGCONT.
    if (pauseFirst) servers[0]!.process.kill('SIGSTOP');
    await pg.crashPrimary();
    await standby.start();
    await pg.promote(standby);
    t.diagnostic(`UIDVALIDITY ${before}; UIDs ${lostUids.join(', ')} committed on the lost primary only`);
    return { pg, url, servers, before, lostUids, idler, waiting };
  } catch (err) {
    await Promise.allSettled(servers.map((s) => s.cleanup()));
    await pg.stop();
    throw err;
  }
}

async function stopAll(s: Scenario | null): Promise<void> {
  if (!s) return;
  s.idler?.close();
  s.waiting?.close();
  for (const x of s.servers) x.process.kill('SIGCONT'); // a test that failed while one was stopped
  await Promise.allSettled(s.servers.map((x) => x.cleanup()));
  await s.pg.stop();
}

/** The sessions that saw the lost messages end with BYE: the one in IDLE by itself, the other at its next command. */
async function assertSessionsEnded(s: Scenario): Promise<void> {
  assert.ok(s.idler && s.waiting);
  const idled = await s.idler.idleUntil((line) => line.startsWith('* BYE'), WAIT_MS);
  assert.match(idled.at(-1)!, /^\* BYE .*UIDVALIDITY/);
  assert.ok(!idled.some((l) => /EXISTS|EXPUNGE|FETCH/.test(l)), `nothing of the new UIDVALIDITY told before BYE: ${idled.join(' | ')}`);
  // The answer to NOOP is BYE, then the server closes the connection (no tagged answer).
  s.waiting.socket.write(`${s.waiting.nextTag()} NOOP\r\n`);
  assert.match(await s.waiting.reader.line(), /^\* BYE .*UIDVALIDITY/, 'NOOP after the fail-over ends the session');
}

describe('asynchronous fail-over that lost appends', () => {
  test('the mailbox gets a new UIDVALIDITY, its sessions end, no UID a client saw is given to another message', { timeout: 180_000 }, async (t) => {
    let s: Scenario | null = null;
    try {
      s = await loseAppends([{}], t);
      const port = s.servers[0]!.imapPort;
      // The first write on the new primary, through the server that saw the lost appends.
      const writer = await RawImap.login(port, 'alice');
      const [validity, uid] = await append(writer, 5);
      writer.close();
      assert.notEqual(validity, s.before, 'the append is answered under a new UIDVALIDITY');
      assert.ok(uid > Math.max(...s.lostUids), `UID ${uid} is above the UIDs the lost messages had (${s.lostUids.join(', ')})`);
      await assertSessionsEnded(s);

      const now = await status(port);
      assert.equal(now.uidValidity, validity, 'STATUS shows the new UIDVALIDITY');
      const { uidValidity, byUid } = await contents(port);
      assert.equal(uidValidity, validity, 'SELECT shows the new UIDVALIDITY');
      // Replicated before the loss, and appended on the new primary: all there; the lost ones are not.
      assert.deepEqual([...byUid.values()].sort(), [1, 2, 5]);
      assert.equal(byUid.get(uid), 5);
      assert.equal(s.servers[0]!.process.exitCode, null, 'the server survived');
    } finally {
      await stopAll(s);
    }
  });

  test('another server appends first: the server that saw the loss still gives a new UIDVALIDITY', { timeout: 180_000 }, async (t) => {
    let s: Scenario | null = null;
    try {
      // The first server is stopped (SIGSTOP) until the other one has written: otherwise it checks as soon as its
      // LISTEN connection is back, usually before any other server writes.
      s = await loseAppends([{}, {}], t, { sessions: false, pauseFirst: true });
      const other = s.servers[1]!.imapPort;
      // This server never saw the mailbox: it cannot know that UID 3 was given before (the window).
      const writer = await RawImap.login(other, 'alice');
      const [first, reused] = await append(writer, 5);
      assert.equal(first, s.before, 'the other server appends under the old UIDVALIDITY (it saw nothing lost)');
      assert.equal(reused, s.lostUids[0], 'and gives the first lost UID again');
      s.servers[0]!.process.kill('SIGCONT');
      // The server that saw the lost appends finds them lost at its next operation, whatever was written since.
      const now = await status(s.servers[0]!.imapPort);
      assert.notEqual(now.uidValidity, s.before, 'a new UIDVALIDITY');
      assert.ok(now.uidNext > Math.max(...s.lostUids), `UIDNEXT ${now.uidNext} is past every UID a client saw`);
      // From now on, through either server, appends are under the new UIDVALIDITY.
      const [later, uid] = await append(writer, 6);
      writer.close();
      assert.equal(later, now.uidValidity);
      assert.ok(uid > Math.max(...s.lostUids));
      const { byUid } = await contents(other);
      assert.deepEqual([...byUid.values()].sort(), [1, 2, 5, 6]);
    } finally {
      await stopAll(s);
    }
  });

  test('a server with nothing to do checks when its LISTEN connection is back', { timeout: 180_000 }, async (t) => {
    let s: Scenario | null = null;
    try {
      s = await loseAppends([{}], t, { sessions: false });
      // No client does anything: the database itself shows the new UIDVALIDITY.
      const current = async () =>
        Number((await queryOnce<{ uidvalidity: string }>(s!.url, `SELECT uidvalidity FROM mailboxes WHERE name = 'INBOX'`))[0]?.uidvalidity);
      await waitFor(async () => (await current()) !== s!.before, WAIT_MS, 'a new UIDVALIDITY without any client');
      assert.ok(s.servers[0]!.log.some((l) => l.includes('lost changes in a database fail-over')), 'the server logged it');
    } finally {
      await stopAll(s);
    }
  });

  test('storage.postgres_promotion_uidvalidity = "all": the first append on the new primary, anywhere, has a new UIDVALIDITY', { timeout: 180_000 }, async (t) => {
    let s: Scenario | null = null;
    try {
      const all = { PETREL_STORAGE_POSTGRES_PROMOTION_UIDVALIDITY: 'all' };
      s = await loseAppends([all, all], t);
      const writer = await RawImap.login(s.servers[1]!.imapPort, 'alice');
      const [validity] = await append(writer, 5);
      writer.close();
      assert.notEqual(validity, s.before, 'a new UIDVALIDITY before anything is written on the new timeline');
      await assertSessionsEnded(s);
      assert.equal((await status(s.servers[0]!.imapPort)).uidValidity, validity);
    } finally {
      await stopAll(s);
    }
  });
});
