// Several repositories (issue 4): one private PostgreSQL with four databases:
// the directory (+ default repository), repositories "a" and "b" with one
// user each, and "shared" holding the shared mailboxes. Two `petrel serve`
// processes. Checked: `petrel repo add|list`, `user add --repo`, an LMTP
// delivery to recipients in two repositories at once, COPY and MOVE from a
// user's repository into the shared one and back into another user's
// (bodies byte-identical, COPYUID right, the source untouched until the
// target committed), IDLE on server B seeing a change made through server A
// in the shared repository, another user's mailbox across repositories,
// REPLACE into the shared repository and within it, and `petrel check` over
// all of them.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startServer, type RunningServer } from './harness.js';
import { LmtpClient, RawImap } from './wire-clients.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';

let pg: PostgresInstance;
let env: Record<string, string>;
const servers: RunningServer[] = [];
const urls: Record<string, string> = {};

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli({ ...process.env, ...env, PETREL_DATA_DIR: servers[0]?.dataDir ?? '/nonexistent-petrel' }, args);
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `petrel ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}


/** The whole message of UID `uid` in the selected mailbox. */
async function body(c: RawImap, uid: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const r = await c.command(`UID FETCH ${uid} BODY.PEEK[]`, (size, reader) => reader.bytes(size, (b) => chunks.push(Buffer.from(b))));
  assert.match(r.tagged, /^OK /);
  return Buffer.concat(chunks);
}

const MESSAGE = Buffer.from(
  'From: sender@example.net\r\nTo: alice@example.org, bob@example.org\r\nSubject: to two repositories\r\n\r\nOne message, two repositories.\r\n',
);

before(async () => {
  pg = await startPostgres();
  for (const name of ['directory', 'a', 'b', 'shared']) urls[name] = await pg.createDatabase();
  env = {
    PETREL_STORAGE_BACKEND: 'postgres',
    PETREL_STORAGE_POSTGRES_URL: urls.directory!,
    PETREL_STORAGE_SHARED_REPOSITORY: 'shared',
    PETREL_STORAGE_FSYNC: 'false',
    PETREL_LOG_LEVEL: 'warn',
  };
  // The schema of the directory first; the registered repositories get theirs from `repo add`.
  const migrated = await cli(['db', 'migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
});

after(async () => {
  await Promise.allSettled(servers.map((s) => s.cleanup()));
  await pg.stop();
});

describe('several repositories', () => {
  test('repo add/list, users on two repositories, a shared mailbox on a third', async () => {
    for (const name of ['a', 'b', 'shared']) assert.match(await ok(['repo', 'add', name, urls[name]!]), new RegExp(`repository ${name} added`));
    const dup = await cli(['repo', 'add', 'a', urls.a!]);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);
    assert.equal((await cli(['user', 'add', 'x', '--password', 'secret', '--repo', 'nowhere'])).code, 64);
    await ok(['user', 'add', 'alice', '--password', 'secret', '--repo', 'a']);
    await ok(['user', 'add', 'bob', '--password', 'secret', '--repo', 'b']);
    await ok(['user', 'add', 'carol', '--password', 'secret']);
    await ok(['shared', 'create', 'Team', '--acl', 'alice=lrswipkxte,bob=lrswipkxte,carol=lr']);
    const repos = JSON.parse(await ok(['repo', 'list', '--json'])) as Array<{ name: string; users: number }>;
    assert.deepEqual(
      repos.map((r) => [r.name, r.users]),
      [['default', 1], ['a', 1], ['b', 1], ['shared', 1]],
    );
    // Read replicas of a registered repository are kept in the directory.
    assert.equal((await cli(['repo', 'replicas', 'b', 'mysql://root@db/b'])).code, 64);
    assert.equal((await cli(['repo', 'replicas', 'default', 'postgres://r@db/x'])).code, 64);
    assert.equal((await cli(['repo', 'replicas', 'nowhere', 'postgres://r@db/x'])).code, 67);
    await ok(['repo', 'replicas', 'b', 'postgres://r:pw@127.0.0.1:1/b postgres://r@127.0.0.1:2/b']);
    const withReplicas = JSON.parse(await ok(['repo', 'list', '--json'])) as Array<{ name: string; replicas: string }>;
    assert.equal(withReplicas.find((r) => r.name === 'b')?.replicas, 'postgres://r:***@127.0.0.1:1/b postgres://r@127.0.0.1:2/b');
    await ok(['repo', 'replicas', 'b']);
    assert.equal((JSON.parse(await ok(['repo', 'list', '--json'])) as Array<{ name: string; replicas: string }>).find((r) => r.name === 'b')?.replicas, '');
    // `db migrate` now covers every registered repository.
    const migrate = JSON.parse(await ok(['db', 'migrate', '--json'])) as Array<{ component: string }>;
    assert.ok(['a/mailstore', 'b/blobstore', 'shared/mailstore'].every((c) => migrate.some((m) => m.component === c)));
  });

  test('LMTP to users of two repositories, COPY/MOVE across repositories, IDLE across servers', async () => {
    servers.push(await startServer({ env }), await startServer({ env }));
    const [A, B] = servers as [RunningServer, RunningServer];

    const lmtp = await LmtpClient.connect(A.lmtpPort);
    try {
      await lmtp.reply();
      await lmtp.command('LHLO test.example');
      assert.match(await lmtp.command('MAIL FROM:<sender@example.net>'), /^250/);
      assert.match(await lmtp.command('RCPT TO:<alice@example.org>'), /^250/);
      assert.match(await lmtp.command('RCPT TO:<bob@example.org>'), /^250/);
      assert.match(await lmtp.command('DATA'), /^354/);
      lmtp.write(Buffer.concat([MESSAGE, Buffer.from('.\r\n')]));
      assert.match(await lmtp.reply(), /^250 /);
      assert.match(await lmtp.reply(), /^250 /);
    } finally {
      lmtp.close();
    }

    const alice = await RawImap.login(A.imapPort, 'alice');
    const bob = await RawImap.login(B.imapPort, 'bob');
    const carol = await RawImap.login(B.imapPort, 'carol');
    try {
      assert.match((await alice.command('SELECT INBOX')).tagged, /^OK /);
      const delivered = await body(alice, 1);
      assert.ok(delivered.toString().endsWith(MESSAGE.toString()), 'alice got the message (after Return-Path)');
      assert.match((await bob.command('SELECT INBOX')).tagged, /^OK /);
      assert.deepEqual(await body(bob, 1), delivered);

      // Carol watches the shared mailbox through server B.
      const team = await carol.command('SELECT Shared/Team');
      assert.match(team.tagged, /^OK \[READ-ONLY\]/, 'carol has lr only');
      assert.ok(team.untagged.includes('* 0 EXISTS'));
      const idleTag = carol.nextTag();
      carol.socket.write(`${idleTag} IDLE\r\n`);
      assert.equal(await carol.reader.line(), '+ idling');

      // COPY from repository a into the shared repository, through server A.
      const copy = await alice.command('UID COPY 1 Shared/Team');
      assert.match(copy.tagged, /^OK \[COPYUID \d+ 1 1\] COPY completed$/);
      // IDLE on server B learns of it (NOTIFY on the shared repository's database).
      for (;;) {
        const line = await carol.reader.line();
        if (line === '* 1 EXISTS') break;
      }
      carol.socket.write('DONE\r\n');
      assert.match((await carol.collect(idleTag)).tagged, /^OK /);

      // MOVE from repository b into the shared one: the copy commits first, then the source is expunged.
      const move = await bob.command('UID MOVE 1 Shared/Team');
      assert.match(move.tagged, /^OK /);
      assert.ok(move.untagged.some((l) => /^\* OK \[COPYUID \d+ 1 2\] Moved$/.test(l)), move.untagged.join('\n'));
      assert.ok(move.untagged.includes('* 1 EXPUNGE'), move.untagged.join('\n'));
      const status = await bob.command('STATUS INBOX (MESSAGES)');
      assert.deepEqual(status.untagged, ['* STATUS INBOX (MESSAGES 0)']);

      // From the shared repository back into bob's own (repository b): the same bytes.
      assert.match((await bob.command('SELECT Shared/Team')).tagged, /^OK \[READ-WRITE\]/);
      assert.deepEqual(await body(bob, 2), delivered);
      assert.match((await bob.command('UID COPY 1:2 INBOX')).tagged, /^OK \[COPYUID \d+ 1:2 2:3\]/);
      assert.match((await bob.command('SELECT INBOX')).tagged, /^OK /);
      assert.deepEqual(await body(bob, 3), delivered);

      // REPLACE (RFC 8508) across repositories: the replacement commits into the shared one, then bob's original goes.
      const draft = Buffer.from('Subject: replaced across\r\n\r\nnew text\r\n');
      const across = await bob.command(`UID REPLACE 3 Shared/Team {${draft.length}+}\r\n${draft.toString()}`);
      assert.match(across.tagged, /^OK UID REPLACE completed$/);
      assert.ok(across.untagged.some((l) => /^\* OK \[APPENDUID \d+ 3\] Replacement Message ready$/.test(l)), across.untagged.join('\n'));
      assert.ok(across.untagged.includes('* 2 EXPUNGE'), across.untagged.join('\n'));
      // Within the shared repository, from bob's session (staged in repository b): one transaction there.
      assert.match((await bob.command('SELECT Shared/Team')).tagged, /^OK \[READ-WRITE\]/);
      const draft2 = Buffer.from('Subject: replaced within\r\n\r\nnewer text\r\n');
      const within = await bob.command(`UID REPLACE 3 Shared/Team (\\Seen) {${draft2.length}+}\r\n${draft2.toString()}`);
      assert.match(within.tagged, /^OK UID REPLACE completed$/);
      assert.deepEqual(within.untagged.slice(1), ['* 4 EXISTS', '* 3 EXPUNGE']);
      assert.match(within.untagged[0]!, /^\* OK \[APPENDUID \d+ 4\] Replacement Message ready$/);
      assert.deepEqual(await body(bob, 4), draft2);
      assert.match((await bob.command('SELECT INBOX')).tagged, /^OK /);

      // Another user's mailbox across repositories: alice (a) shares INBOX with bob (b).
      assert.match((await alice.command('SETACL INBOX bob lr')).tagged, /^OK /);
      const list = await bob.command('LIST "Other Users/" "*"');
      assert.ok(list.untagged.includes('* LIST (\\HasNoChildren) "/" "Other Users/alice/INBOX"'), list.untagged.join('\n'));
      assert.match((await bob.command('EXAMINE "Other Users/alice/INBOX"')).tagged, /^OK \[READ-ONLY\]/);
      assert.deepEqual(await body(bob, 1), delivered);
      assert.match((await bob.command('UID COPY 1 "Other Users/alice/INBOX"')).tagged, /^NO \[NOPERM\]/);
    } finally {
      for (const c of [alice, bob, carol]) c.close();
    }
    const check = await ok(['check']);
    assert.match(check, /checked \d+ messages: no problems found/);
  });
});
