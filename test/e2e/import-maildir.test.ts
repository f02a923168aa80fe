// `petrel import maildir`: a real Maildir in a temp dir (cur/, new/, tmp/,
// flags in the file names, a dovecot-keywords file, mtimes as dates) is
// imported into a running server by the CLI, and read back over IMAP.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maildirFlags } from '../../src/admin/import.js';
import { startServer, type RunningServer } from './harness.js';
import { RawImap } from './wire-clients.js';

const message = (n: number, extra = '') =>
  `From: a${n}@example.org\r\nTo: bob@example.org\r\nSubject: message ${n}${extra}\r\nMessage-ID: <m${n}@example.org>\r\n\r\nbody of message ${n}\r\n`;

/** Seconds since the epoch of 2021-01-0N 10:00:00 UTC. */
const day = (n: number) => Date.UTC(2021, 0, n, 10, 0, 0) / 1000;

async function put(dir: string, sub: string, name: string, body: string, mtime: number): Promise<void> {
  const file = join(dir, sub, name);
  await writeFile(file, body);
  await utimes(file, mtime, mtime);
}

async function fetchAll(port: number, mailbox: string): Promise<string[]> {
  const c = await RawImap.connect(port);
  try {
    assert.match((await c.command('LOGIN alice secret')).tagged, /^OK/);
    assert.match((await c.command(`SELECT ${mailbox}`)).tagged, /^OK/);
    const r = await c.command('FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)');
    assert.match(r.tagged, /^OK/);
    return r.untagged.filter((l) => / FETCH /.test(l));
  } finally {
    c.close();
  }
}

describe('petrel import maildir', () => {
  let server: RunningServer;
  let root: string;
  let maildir: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'petrel-import-'));
    maildir = join(root, 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(maildir, sub), { recursive: true });
    await writeFile(join(maildir, 'dovecot-keywords'), '0 $Work\n1 Junk\n');
    // Delivery order is by the leading timestamp, whatever the directory.
    await put(maildir, 'cur', '1609495200.M1P1.host:2,FRS', message(1), day(1));
    await put(maildir, 'new', '1609581600.M2P1.host', message(2), day(2));
    await put(maildir, 'cur', '1609668000.M3P1.host:2,Sa', message(3), day(3));
    await put(maildir, 'cur', '1609754400.M4P1.host:2,T', message(4), day(4));
    await put(maildir, 'tmp', '1609840800.M5P1.host', message(5), day(5)); // being delivered: not imported
    server = await startServer({ users: { alice: 'secret' } });
  });

  after(async () => {
    await server?.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  test('maps Maildir info letters and dovecot keywords to IMAP flags', () => {
    const keywords = new Map([['a', '$Work']]);
    assert.deepEqual(maildirFlags('1.M1.host:2,DFPRST'), ['\\Draft', '\\Flagged', '$Forwarded', '\\Answered', '\\Seen', '\\Deleted']);
    assert.deepEqual(maildirFlags('1.M1.host:2,Sa', keywords), ['\\Seen', '$Work']);
    assert.deepEqual(maildirFlags('1.M1.host:2,Sb', keywords), ['\\Seen']);
    assert.deepEqual(maildirFlags('1.M1.host'), []);
  });

  test('imports cur/ and new/ in delivery order, with flags and internal dates, into INBOX', async () => {
    const r = await server.cli(['import', 'maildir', maildir, '--user', 'alice']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 4 messages into alice\/INBOX \(uids 1:4\)/);
    const lines = await fetchAll(server.imapPort, 'INBOX');
    assert.equal(lines.length, 4);
    const expect = [
      { flags: ['\\Answered', '\\Flagged', '\\Seen'], day: 1 },
      { flags: [], day: 2 },
      { flags: ['$Work', '\\Seen'], day: 3 },
      { flags: ['\\Deleted'], day: 4 },
    ];
    lines.forEach((line, i) => {
      const uid = Number(/UID (\d+)/.exec(line)![1]);
      const flags = /FLAGS \(([^)]*)\)/.exec(line)![1]!.split(' ').filter(Boolean).sort();
      const date = /INTERNALDATE "([^"]+)"/.exec(line)![1]!;
      assert.equal(uid, i + 1);
      assert.deepEqual(flags, expect[i]!.flags.sort(), line);
      assert.equal(Date.parse(date.replace(/^(\d+)-(\w+)-(\d+) /, '$2 $1 $3 ')) / 1000, day(expect[i]!.day), line);
      assert.match(line, new RegExp(`RFC822.SIZE ${Buffer.byteLength(message(i + 1))}\\b`));
    });
  });

  test('imports more than one batch into another mailbox, which it creates', async () => {
    const big = join(root, 'Big');
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(big, sub), { recursive: true });
    const n = 520; // two commits of at most 500
    for (let i = 0; i < n; i++) await put(big, 'cur', `${1600000000 + i}.M${i}P1.host:2,${i % 2 ? 'S' : ''}`, message(1000 + i), 1600000000 + i);
    const r = await server.cli(['import', 'maildir', big, '--user', 'alice', '--mailbox', 'Archive/2020']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported 520 messages into alice\/Archive\/2020 \(uids 1:520\)/);
    const lines = await fetchAll(server.imapPort, 'Archive/2020');
    assert.equal(lines.length, n);
    assert.equal(lines.filter((l) => l.includes('\\Seen')).length, n / 2);
    assert.match(lines[n - 1]!, /UID 520 /);
  });

  test('a second run imports only what the mailbox lacks: no duplicates after a run that stopped part-way', async () => {
    const partial = join(root, 'Partial');
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(partial, sub), { recursive: true });
    const name = (i: number) => `${1610000000 + i}.M${i}P1.host:2,S`;
    // A first run that got through messages 0-2 of 5 (as if it stopped there)...
    for (let i = 0; i < 3; i++) await put(partial, 'cur', name(i), message(2000 + i), 1610000000 + i);
    const first = await server.cli(['import', 'maildir', partial, '--user', 'alice', '--mailbox', 'Resumed']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /imported 3 messages into alice\/Resumed \(uids 1:3\)$/m);
    // ...then the whole Maildir again: only 3 and 4 are new.
    for (let i = 3; i < 5; i++) await put(partial, 'cur', name(i), message(2000 + i), 1610000000 + i);
    const second = await server.cli(['import', 'maildir', partial, '--user', 'alice', '--mailbox', 'Resumed']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /imported 2 messages into alice\/Resumed \(uids 4:5\), 3 already there/);
    const again = await server.cli(['import', 'maildir', partial, '--user', 'alice', '--mailbox', 'Resumed']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /imported 0 messages into alice\/Resumed, 5 already there/);
    const lines = await fetchAll(server.imapPort, 'Resumed');
    assert.equal(lines.length, 5);
    lines.forEach((line, i) => assert.match(line, new RegExp(`UID ${i + 1} .*RFC822.SIZE ${Buffer.byteLength(message(2000 + i))}\\b`)));
  });

  test('identical files in one Maildir are all imported, and a second run skips as many as are there', async () => {
    const twins = join(root, 'Twins');
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(twins, sub), { recursive: true });
    await put(twins, 'cur', '1620000000.M1P1.host:2,S', message(3000), 1620000000);
    await put(twins, 'cur', '1620000001.M2P1.host:2,S', message(3000), 1620000001); // the same bytes
    await put(twins, 'cur', '1620000002.M3P1.host:2,', message(3001), 1620000002);
    const first = await server.cli(['import', 'maildir', twins, '--user', 'alice', '--mailbox', 'Twins']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /imported 3 messages into alice\/Twins \(uids 1:3\)$/m);
    // A third copy of the twin appears: the mailbox holds two, so one is imported.
    await put(twins, 'new', '1620000003.M4P1.host', message(3000), 1620000003);
    const second = await server.cli(['import', 'maildir', twins, '--user', 'alice', '--mailbox', 'Twins']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /imported 1 messages into alice\/Twins \(uids 4:4\), 3 already there/);
    const lines = await fetchAll(server.imapPort, 'Twins');
    assert.equal(lines.length, 4);
    assert.match(lines[3]!, /UID 4 FLAGS \(\)/);
  });

  test('refuses bad input with a usage or no-user exit status', async () => {
    const noUser = await server.cli(['import', 'maildir', maildir]);
    assert.equal(noUser.code, 64);
    assert.match(noUser.stderr, /--user/);
    const unknown = await server.cli(['import', 'maildir', maildir, '--user', 'nobody']);
    assert.equal(unknown.code, 67);
    const notMaildir = await server.cli(['import', 'maildir', join(root, 'nothing-here'), '--user', 'alice']);
    assert.equal(notMaildir.code, 64);
    assert.match(notMaildir.stderr, /not a Maildir/);
  });
});
