// `petrel user move` (ARCHITECTURE.md, decision 10): one private PostgreSQL
// with three databases (the directory, repositories "a" and "b") and two
// `petrel serve` processes. Alice lives on a with mail in several mailboxes,
// flags, an expunged message, a special-use and a renamed mailbox, a subscription, an ACL
// granting bob (on b) her Work folder, and METADATA. While she is moved to b
// an IMAP client of hers idles and an LMTP sender keeps delivering to her.
// Checked: during the freeze her IDLE session gets BYE, a login gets
// NO [UNAVAILABLE] and LMTP RCPT 451; after it, everything is in b with the
// same UIDVALIDITY, UIDs, flags, MODSEQs and dates (a QRESYNC select reports
// nothing to resync), every delivery arrived exactly once, bob still sees her
// Work folder, `petrel check` is clean, and repository a keeps neither her
// rows nor (after GC) her bodies. The move itself runs in this process (the
// command's code, with a hook to look at the freeze); the CLI is checked for
// its re-run and its usage error in embedded mode.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { runUserMove } from '../../src/admin/user-move.js';
import type { AdminContext } from '../../src/admin/types.js';
import { BlobGarbageCollector } from '../../src/blob/gc.js';
import { notifySender } from '../../src/cli/cluster.js';
import { ForwardingEventBus } from '../../src/cli/forwarding-bus.js';
import { openRepositories } from '../../src/cli/repository.js';
import { loadConfig } from '../../src/config/index.js';
import type { Repositories } from '../../src/mail/repository.js';
import { createLogger } from '../../src/util/log.js';
import { runCli, startServer, type RunningServer } from './harness.js';
import { LmtpSession, RawImap } from './wire-clients.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';

let pg: PostgresInstance;
let env: Record<string, string>;
const servers: RunningServer[] = [];
const urls: Record<string, string> = {};

async function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli({ ...process.env, ...env, PETREL_DATA_DIR: servers[0]?.dataDir ?? '/nonexistent-petrel', ...extraEnv }, args);
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `petrel ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}


async function expectOk(c: RawImap, line: string): Promise<string[]> {
  const r = await c.command(line);
  assert.match(r.tagged, /^OK /, `${line}: ${r.tagged}`);
  return r.untagged;
}

function message(subject: string, body = 'text'): Buffer {
  return Buffer.from(`From: sender@example.net\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);
}

/** What a client can see of one mailbox: its status and every message's UID, flags, MODSEQ, dates and size. */
async function mailboxView(c: RawImap, name: string): Promise<{ status: string; messages: string[] }> {
  const [status] = await expectOk(c, `STATUS "${name}" (UIDVALIDITY UIDNEXT HIGHESTMODSEQ MESSAGES UNSEEN)`);
  await expectOk(c, `EXAMINE "${name}"`);
  const messages = (await expectOk(c, 'UID FETCH 1:* (UID FLAGS MODSEQ INTERNALDATE RFC822.SIZE SAVEDATE)')).map((l) => l.replace(/^\* \d+ /, ''));
  return { status: status!, messages };
}

/** Everything of alice's account that the move must keep, as seen over IMAP. */
interface AccountView {
  list: string[];
  work: { status: string; messages: string[] };
  archive: { status: string; messages: string[] };
  acl: string[];
  metadata: string[];
  serverMetadata: string[];
}

async function accountView(c: RawImap): Promise<AccountView> {
  return {
    list: await expectOk(c, 'LIST "" "*" RETURN (SPECIAL-USE SUBSCRIBED)'),
    work: await mailboxView(c, 'Work'),
    archive: await mailboxView(c, 'Archive'),
    acl: await expectOk(c, 'GETACL Work'),
    metadata: await expectOk(c, 'GETMETADATA "Work" (/private/comment /shared/comment)'),
    serverMetadata: await expectOk(c, 'GETMETADATA "" (/private/vendor/petrel/test)'),
  };
}

/** Subjects of every message in the selected mailbox. */
async function subjects(c: RawImap): Promise<string[]> {
  const out: string[] = [];
  const r = await c.command('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])', (size, reader) =>
    reader.bytes(size, (b) => out.push(b.toString().replace(/^Subject: /i, '').trim())),
  );
  assert.match(r.tagged, /^OK /);
  return out.filter((s) => s !== '');
}

/** An AdminContext like the CLI's (src/cli/main.ts), in this process. */
function adminContext(): { ctx: AdminContext; close(): Promise<void> } {
  const config = loadConfig({ env: { ...process.env, ...env, PETREL_DATA_DIR: servers[0]!.dataDir }, cwd: servers[0]!.dataDir });
  const events = new ForwardingEventBus(notifySender(config, config.storage.postgresUrl!));
  const buses: ForwardingEventBus[] = [];
  let repos: Repositories | null = null;
  const unused = () => {
    throw new Error('not used by user move');
  };
  const ctx: AdminContext = {
    config,
    configFile: null,
    events,
    sendEvents: () => events.flush(),
    async repositories() {
      repos ??= await openRepositories(config, {
        applicationName: 'petrel-test',
        eventsFor: async ({ url }) => {
          const bus = new ForwardingEventBus(notifySender(config, url!));
          buses.push(bus);
          return bus;
        },
      });
      return repos;
    },
    readNewPassword: unused,
    input: unused,
    warn: () => {},
    migrateSchema: unused,
    migrateRepository: unused,
  };
  return {
    ctx,
    async close() {
      await repos?.close();
      for (const bus of [events, ...buses]) {
        await bus.flush();
        await bus.close();
      }
    },
  };
}

before(async () => {
  pg = await startPostgres();
  for (const name of ['directory', 'a', 'b']) urls[name] = await pg.createDatabase();
  env = {
    PETREL_STORAGE_BACKEND: 'postgres',
    PETREL_STORAGE_POSTGRES_URL: urls.directory!,
    PETREL_STORAGE_FSYNC: 'false',
    PETREL_LOG_LEVEL: 'warn',
  };
  const migrated = await cli(['db', 'migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  for (const name of ['a', 'b']) await ok(['repo', 'add', name, urls[name]!]);
  await ok(['user', 'add', 'alice', '--password', 'secret', '--repo', 'a']);
  await ok(['user', 'add', 'bob', '--password', 'secret', '--repo', 'b']);
  servers.push(await startServer({ env }), await startServer({ env }));
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.cleanup()));
  await pg.stop();
});

describe('petrel user move', () => {
  test('moves alice from a to b online: same UIDs and MODSEQs, a short freeze, nothing lost or duplicated', { timeout: 180_000 }, async () => {
    const [A, B] = servers as [RunningServer, RunningServer];
    const alice = await RawImap.login(A.imapPort, 'alice');
    await expectOk(alice, 'CREATE Work');
    // Archive (\Archive) is one of the default mailboxes; a rename must arrive too.
    await expectOk(alice, 'RENAME Junk Spam');
    await expectOk(alice, 'SUBSCRIBE Work');
    for (let i = 1; i <= 5; i++) {
      const m = message(`work ${i}`, `work body ${i}`);
      const flags = i % 2 === 0 ? '(\\Seen $Project)' : '()';
      await expectOk(alice, `APPEND Work ${flags} "0${i}-Feb-2024 10:00:00 +0100" {${m.length}+}\r\n${m.toString()}`);
    }
    const archived = message('archived');
    await expectOk(alice, `APPEND Archive (\\Seen) {${archived.length}+}\r\n${archived.toString()}`);
    await expectOk(alice, 'SELECT Work');
    await expectOk(alice, 'STORE 3 +FLAGS (\\Deleted \\Flagged)');
    await expectOk(alice, 'EXPUNGE');
    await expectOk(alice, 'STORE 1 +FLAGS ($Important)');
    await expectOk(alice, 'SETACL Work bob lr');
    await expectOk(alice, 'SETMETADATA Work (/private/comment "mine" /shared/comment "ours")');
    await expectOk(alice, 'SETMETADATA "" (/private/vendor/petrel/test "server-wide")');
    const lmtp = await LmtpSession.connect(A.lmtpPort);
    assert.match(await lmtp.deliver('s@example.net', 'alice@example.org', message('before the move')), /^250 /);
    await expectOk(alice, 'ENABLE QRESYNC');
    const before = await accountView(alice);
    const workStatus = /UIDVALIDITY (\d+).*HIGHESTMODSEQ (\d+)/.exec(before.work.status)!;
    await expectOk(alice, 'SELECT INBOX');
    const inboxBefore = await expectOk(alice, 'UID FETCH 1:* (UID FLAGS MODSEQ INTERNALDATE RFC822.SIZE)');
    const [inboxStatusBefore] = await expectOk(alice, 'STATUS INBOX (UIDVALIDITY)');

    // Alice idles on server B; an MTA keeps delivering through server A, retrying what gets 4xx.
    let idler = await RawImap.login(B.imapPort, 'alice');
    await expectOk(idler, 'SELECT INBOX');
    idler.socket.write('i1 IDLE\r\n');
    assert.equal(await idler.reader.line(), '+ idling');
    let sending = true;
    const sent: string[] = [];
    const tempFailures: string[] = [];
    const sender = (async () => {
      const session = await LmtpSession.connect(A.lmtpPort);
      try {
        for (let n = 1; sending || sent.length < n - 1; n++) {
          const subject = `live ${n}`;
          for (;;) {
            const reply = await session.deliver('s@example.net', 'alice@example.org', message(subject));
            if (reply.startsWith('250')) break;
            assert.match(reply, /^4\d\d /, `a delivery during the move may only fail temporarily: ${reply}`);
            tempFailures.push(reply);
            await new Promise((r) => setTimeout(r, 20)); // an MTA waits before it retries
          }
          sent.push(subject);
        }
      } finally {
        session.close();
      }
    })();

    const during: { bye?: string; login?: string; rcpt?: string } = {};
    const admin = adminContext();
    let result: string;
    try {
      // Some deliveries land before the move starts copying.
      while (sent.length < 3) await new Promise((r) => setImmediate(r));
      // A move that dies during its freeze leaves alice in a, thawed, with a partial copy in b the next run wipes.
      await assert.rejects(
        runUserMove(admin.ctx, 'alice', 'b', {
          freezeSeconds: 30,
          onFrozen: async () => {
            // The freeze ends the idle session (then the move dies).
            for (;;) if ((await idler.reader.line()).startsWith('* BYE')) break;
            throw new Error('simulated crash');
          },
        }),
        /simulated crash/,
      );
      const stillA = await RawImap.connect(A.imapPort);
      assert.match((await stillA.command('LOGIN alice secret')).tagged, /^OK /);
      stillA.close();
      const dir = (await (await admin.ctx.repositories()).directory.findAccount('alice'))!;
      assert.equal(dir.repository, 'a');
      assert.equal(dir.frozenUntil, null);
      assert.ok((await (await (await admin.ctx.repositories()).byName('b')).store.listMailboxes(dir.id)).length > 0, 'a partial copy in b');
      idler.close();
      idler = await RawImap.login(B.imapPort, 'alice');
      await expectOk(idler, 'SELECT INBOX');
      idler.socket.write('i1 IDLE\r\n');
      assert.equal(await idler.reader.line(), '+ idling');

      const moved = await runUserMove(admin.ctx, 'alice', 'b', {
        freezeSeconds: 30,
        onFrozen: async () => {
          for (;;) {
            const line = await idler.reader.line();
            if (line.startsWith('* BYE')) {
              during.bye = line;
              break;
            }
          }
          // On B, which has had the event (it ended the session), so its credential cache is no help.
          const c = await RawImap.connect(B.imapPort);
          during.login = (await c.command('LOGIN alice secret')).tagged;
          c.close();
          const probe = await LmtpSession.connect(B.lmtpPort);
          during.rcpt = await probe.deliver('s@example.net', 'alice@example.org', message('during the freeze'));
          probe.close();
        },
      });
      result = moved.text;
    } finally {
      await admin.close();
    }
    // Let the sender land a few deliveries in b, then stop it.
    const sentAtSwitch = sent.length;
    while (sent.length < sentAtSwitch + 3) await new Promise((r) => setImmediate(r));
    sending = false;
    await sender;
    idler.close();
    alice.close();
    lmtp.close();

    assert.match(result, /^user alice moved to repository b: \d+ mailboxes, .* writes frozen (\d+) ms$/);
    const freezeMs = Number(/frozen (\d+) ms/.exec(result)![1]);
    console.log(`# user move: ${result}; temporary LMTP failures during the move: ${tempFailures.length}`);
    assert.ok(freezeMs < 30_000);
    assert.match(during.bye!, /^\* BYE /);
    assert.match(during.login!, /^t1 NO \[UNAVAILABLE\]|^NO \[UNAVAILABLE\]/);
    assert.match(during.rcpt!, /^451 /);
    // The MTA's retry after the freeze succeeds.
    const retry = await LmtpSession.connect(B.lmtpPort);
    assert.match(await retry.deliver('s@example.net', 'alice@example.org', message('during the freeze')), /^250 /);
    retry.close();

    // Alice reconnects (through the other server) and finds everything as it was.
    const again = await RawImap.login(B.imapPort, 'alice');
    await expectOk(again, 'ENABLE QRESYNC');
    assert.deepEqual(await accountView(again), before);
    const resync = await expectOk(again, `SELECT Work (QRESYNC (${workStatus[1]} ${workStatus[2]}))`);
    assert.ok(!resync.some((l) => /VANISHED|FETCH/.test(l)), `nothing to resync: ${resync.join('\n')}`);
    const [inboxStatusAfter] = await expectOk(again, 'STATUS INBOX (UIDVALIDITY)');
    assert.equal(inboxStatusAfter, inboxStatusBefore);
    await expectOk(again, 'SELECT INBOX');
    const inboxAfter = await expectOk(again, 'UID FETCH 1:* (UID FLAGS MODSEQ INTERNALDATE RFC822.SIZE)');
    assert.deepEqual(inboxAfter.slice(0, inboxBefore.length), inboxBefore, 'the messages of before keep UIDs, flags and MODSEQs');
    // Every delivery exactly once.
    const got = await subjects(again);
    const expected = ['before the move', ...sent, 'during the freeze'];
    assert.deepEqual([...got].sort(), [...expected].sort());
    again.close();

    // Bob (on b) still reaches alice's Work folder through her ACL.
    const bob = await RawImap.login(A.imapPort, 'bob');
    const list = await expectOk(bob, 'LIST "Other Users/" "*"');
    assert.ok(list.some((l) => l.endsWith('"Other Users/alice/Work"')), list.join('\n'));
    bob.close();

    const repos = JSON.parse(await ok(['repo', 'list', '--json'])) as Array<{ name: string; users: number }>;
    assert.deepEqual(repos.map((r) => [r.name, r.users]), [['default', 0], ['a', 0], ['b', 2]]);
    assert.match(await ok(['check']), /no problems found/);

    // Repository a keeps none of alice's rows, and after a GC pass none of her bodies.
    const sqlA = postgres(urls.a!, { max: 1, onnotice: () => {} });
    try {
      const [id] = await sqlA<Array<{ id: number }>>`SELECT id FROM accounts WHERE name = 'alice'`;
      const [rows] = await sqlA<Array<{ mailboxes: number; subscriptions: number; metadata: number }>>`SELECT
        (SELECT count(*) FROM mailboxes WHERE account_id = ${id!.id})::int AS mailboxes,
        (SELECT count(*) FROM subscriptions WHERE account_id = ${id!.id})::int AS subscriptions,
        (SELECT count(*) FROM metadata_entries WHERE owner_id = ${id!.id})::int AS metadata`;
      assert.deepEqual(rows, { mailboxes: 0, subscriptions: 0, metadata: 0 });
      const gcAdmin = adminContext();
      try {
        const a = await (await gcAdmin.ctx.repositories()).byName('a');
        const gc = new BlobGarbageCollector(a.store, a.blobs, { graceSeconds: 0.001, expungedRetentionSeconds: 0, logger: createLogger('error') });
        await gc.runOnce({ orphans: true });
        const left: string[] = [];
        for await (const blob of a.blobs.list!(new Date())) left.push(blob);
        assert.deepEqual(left, []);
      } finally {
        await gcAdmin.close();
      }
    } finally {
      await sqlA.end();
    }

    // Run again: the user is already there, nothing left to clean.
    assert.match(await ok(['user', 'move', 'alice', 'b']), /user alice is in repository b/);

    // And back to a through the CLI, nothing else running: the freeze an operator sees.
    const back = await ok(['user', 'move', 'alice', 'a']);
    assert.match(back, /^user alice moved to repository a: /);
    console.log(`# user move back (CLI, idle user): ${back.trim()}`);
    const home = await RawImap.login(A.imapPort, 'alice');
    await expectOk(home, 'ENABLE QRESYNC');
    assert.deepEqual(await accountView(home), before);
    home.close();

    // What a move that died after its switch leaves in the repository it left; running it again removes it.
    const leftover = adminContext();
    try {
      const repos = await leftover.ctx.repositories();
      const id = (await repos.directory.findAccount('alice'))!.id;
      const b = await repos.byName('b');
      await b.store.createMailbox(id, 'Left behind');
      assert.match(await ok(['user', 'move', 'alice', 'a']), /user alice is in repository a; removed what was left elsewhere/);
      assert.deepEqual(await b.store.listMailboxes(id), []);
    } finally {
      await leftover.close();
    }
    assert.equal((await cli(['user', 'move', 'alice', 'nowhere'])).code, 64);
  });

  test('embedded mode: a usage error (as repo add)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'petrel-move-'));
    try {
      const env = { ...process.env, PETREL_DATA_DIR: dir, PETREL_LOG_LEVEL: 'warn' };
      const r = await runCli(env, ['user', 'move', 'alice', 'b']);
      assert.equal(r.code, 64);
      assert.match(r.stderr, /cluster mode only/);
      const add = await runCli(env, ['repo', 'add', 'b', 'postgres://localhost/b']);
      assert.equal(add.code, 64);
      assert.match(add.stderr, /cluster mode only/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
