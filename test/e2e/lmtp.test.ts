// The LMTP server against the real embedded storage (SQLite + files +
// Ingest), spoken to over a raw socket, as an MTA would.

import { singleRepository } from '../../src/mail/repository.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { PetrelConfig } from '../../src/config/types.js';
import { LmtpServer } from '../../src/lmtp/server.js';
import { MailError } from '../../src/mail/errors.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import { Ingest } from '../../src/mail/ingest.js';
import type { MailStore } from '../../src/mail/ports.js';
import type { Account, MailEvent } from '../../src/mail/types.js';
import { openSqliteRepository, type SqliteRepository } from '../../src/store/sqlite/index.js';
import { silentLogger } from '../../src/util/log.js';
import { LmtpClient } from './wire-clients.js';

interface Fixture {
  dir: string;
  repo: SqliteRepository;
  blobs: FsBlobStore;
  server: LmtpServer;
  port: number;
  alice: Account;
  bob: Account;
  events: MailEvent[];
}

async function startFixture(options: { store?: (s: MailStore) => MailStore } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-lmtp-'));
  const repo = openSqliteRepository(join(dir, 'petrel.db'), { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false });
  const bus = new InProcessEventBus();
  const events: MailEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const store = options.store ? options.store(repo.store) : repo.store;
  const config: PetrelConfig = defaultConfig();
  config.hostname = 'mx.test';
  config.lmtp.listen = { host: '127.0.0.1', port: 0 };
  config.limits.maxMessageSize = 2000;
  const ingest = new Ingest({ store, blobs, events: bus, maxMessageSize: config.limits.maxMessageSize });
  const alice = await repo.directory.createAccount('alice', '$scrypt$unused');
  const bob = await repo.directory.createAccount('bob@example.org', '$scrypt$unused');
  await repo.store.createMailbox(alice.id, 'Lists');
  const repositories = singleRepository(repo.directory, { store, blobs, ingest, events: bus });
  const server = new LmtpServer({ config, directory: repo.directory, repositories, logger: silentLogger });
  const address = await server.listen();
  assert.ok(address);
  return { dir, repo, blobs, server, port: address.port, alice, bob, events };
}

async function stopFixture(f: Fixture): Promise<void> {
  await f.server.close();
  await f.blobs.close();
  await f.repo.close();
  await rm(f.dir, { recursive: true, force: true });
}

async function messagesIn(f: Fixture, account: Account, mailbox: string): Promise<Buffer[]> {
  const box = await f.repo.store.getMailbox(account.id, mailbox);
  if (!box) return [];
  const metas = await f.repo.store.fetchMessages(box.id, [{ start: 1, end: Infinity }]);
  return Promise.all(metas.map((m) => f.blobs.readBuffer(m.blobId)));
}

const MESSAGE = 'From: sender@example.net\r\nSubject: caf\u00e9 \u2615\r\n\r\nHello\r\n..dot-stuffed line\r\n';

describe('LMTP delivery', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await stopFixture(f);
  });

  test('greeting, LHLO capabilities with SIZE, no AUTH or STARTTLS', async () => {
    const c = await LmtpClient.connect(f.port);
    try {
      assert.match(await c.reply(), /^220 mx\.test LMTP/);
      const lhlo = await c.command('LHLO mta.test');
      assert.match(lhlo, /^250-/);
      assert.match(lhlo, /SIZE 2000/);
      assert.match(lhlo, /ENHANCEDSTATUSCODES/);
      assert.doesNotMatch(lhlo, /AUTH|STARTTLS/);
      assert.match(await c.command('STARTTLS'), /^5\d\d /);
      assert.match(await c.command('QUIT'), /^221 /);
    } finally {
      c.close();
    }
  });

  test('per-recipient replies after DATA; user, user+folder, unknown user, full-address account', async () => {
    const c = await LmtpClient.connect(f.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      assert.match(await c.command('MAIL FROM:<sender@example.net>'), /^250 /);
      assert.match(await c.command('RCPT TO:<alice@example.org>'), /^250 /);
      assert.match(await c.command('RCPT TO:<nobody@example.org>'), /^550 5\.1\.1 /);
      assert.match(await c.command('RCPT TO:<alice+Lists@example.org>'), /^250 /);
      assert.match(await c.command('RCPT TO:<alice+NoSuchFolder@example.org>'), /^250 /);
      assert.match(await c.command('RCPT TO:<bob@example.org>'), /^250 /);
      assert.match(await c.command('DATA'), /^354 /);
      c.write(Buffer.from(MESSAGE.replace('\r\n..dot', '\r\n..dot') + '.\r\n', 'utf8'));
      // One reply per accepted recipient, in RCPT order.
      for (let i = 0; i < 4; i++) assert.match(await c.reply(), /^250 2\.\d\.\d /, `recipient ${i}`);
      assert.match(await c.command('QUIT'), /^221 /);
    } finally {
      c.close();
    }
    const expected = Buffer.from('Return-Path: <sender@example.net>\r\n' + MESSAGE.replace('\r\n..dot', '\r\n.dot'), 'utf8');
    const inbox = await messagesIn(f, f.alice, 'INBOX');
    assert.equal(inbox.length, 2, 'alice INBOX: plain + unknown folder fallback');
    for (const m of inbox) assert.deepEqual(m, expected);
    assert.deepEqual(await messagesIn(f, f.alice, 'Lists'), [expected]);
    assert.deepEqual(await messagesIn(f, f.bob, 'INBOX'), [expected]);
    assert.ok(f.events.some((e) => e.kind === 'mailbox-changed' && e.accountId === f.alice.id));
  });

  test('a dot-stuffed message written in pieces is stored exactly, dots undone', async () => {
    const lines = ['From: sender@example.net', 'Subject: dots', ''];
    for (let i = 0; i < 40; i++) lines.push(i % 3 === 0 ? `..line ${i} starts with a dot` : i % 5 === 0 ? '..' : `line ${i} ${'z'.repeat(i)}`);
    const wire = Buffer.from(lines.join('\r\n') + '\r\n.\r\n', 'latin1');
    const c = await LmtpClient.connect(f.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<sender@example.net>');
      assert.match(await c.command('RCPT TO:<alice+Lists@example.org>'), /^250 /);
      assert.match(await c.command('DATA'), /^354 /);
      // Pieces that split "\r\n..", "\r\n." and the final "\r\n.\r\n" (the socket may join them again).
      for (let pos = 0, n = 1; pos < wire.length; pos += n, n = (n * 7) % 97 + 1) c.write(wire.subarray(pos, pos + n));
      assert.match(await c.reply(), /^250 /);
    } finally {
      c.close();
    }
    const expected = Buffer.from('Return-Path: <sender@example.net>\r\n' + lines.map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n') + '\r\n', 'latin1');
    const stored = await messagesIn(f, f.alice, 'Lists');
    assert.deepEqual(stored.at(-1), expected);
  });

  test('SIZE above the limit is refused at MAIL FROM, before DATA', async () => {
    const c = await LmtpClient.connect(f.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      assert.match(await c.command('MAIL FROM:<big@example.net> SIZE=5000'), /^552 /);
      assert.match(await c.command('MAIL FROM:<ok@example.net> SIZE=100'), /^250 /);
    } finally {
      c.close();
    }
  });

  test('a message over the limit without SIZE: 552 for every recipient, nothing stored, session usable', async () => {
    const before = (await messagesIn(f, f.bob, 'INBOX')).length;
    const c = await LmtpClient.connect(f.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<big@example.net>');
      await c.command('RCPT TO:<bob@example.org>');
      await c.command('RCPT TO:<alice@example.org>');
      assert.match(await c.command('DATA'), /^354 /);
      c.write('Subject: big\r\n\r\n' + 'x'.repeat(70) + '\r\n');
      for (let i = 0; i < 60; i++) c.write('y'.repeat(70) + '\r\n');
      c.write('.\r\n');
      assert.match(await c.reply(), /^552 /);
      assert.match(await c.reply(), /^552 /);
      assert.match(await c.command('NOOP'), /^250 /);
    } finally {
      c.close();
    }
    assert.equal((await messagesIn(f, f.bob, 'INBOX')).length, before);
  });
});

describe('LMTP storage trouble', () => {
  test('a store failing with UNAVAILABLE gets 451 4.3.0 for each recipient (MTA retries)', async () => {
    let failing = false;
    const f = await startFixture({
      store: (real) =>
        new Proxy(real, {
          get(target, prop, receiver) {
            if (prop === 'appendMessages' && failing) {
              return async () => {
                throw new MailError('UNAVAILABLE', 'database is busy');
              };
            }
            const value = Reflect.get(target, prop, receiver) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    const c = await LmtpClient.connect(f.port);
    try {
      failing = true;
      await c.reply();
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<s@example.net>');
      assert.match(await c.command('RCPT TO:<alice@example.org>'), /^250 /);
      assert.match(await c.command('RCPT TO:<bob@example.org>'), /^250 /);
      await c.command('DATA');
      c.write('Subject: t\r\n\r\nbody\r\n.\r\n');
      assert.match(await c.reply(), /^451 4\.3\.0 /);
      assert.match(await c.reply(), /^451 4\.3\.0 /);
    } finally {
      c.close();
      await stopFixture(f);
    }
  });

  test('a closed repository answers 4xx at RCPT, never 5xx', async () => {
    const f = await startFixture();
    const c = await LmtpClient.connect(f.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<s@example.net>');
      await f.repo.close();
      assert.match(await c.command('RCPT TO:<alice@example.org>'), /^451 4\.3\.0 /);
    } finally {
      c.close();
      await stopFixture(f);
    }
  });
});
