// The LMTP server against the real embedded storage (SQLite + files +
// Ingest), spoken to over a raw socket, as an MTA would.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { MailError } from '../../src/mail/errors.js';
import type { Directory, MailStore } from '../../src/mail/ports.js';
import type { Account } from '../../src/mail/types.js';
import { messagesIn, startLmtpFixture, stopLmtpFixture, type LmtpFixture } from './lmtp-fixture.js';
import { LmtpClient } from './wire-clients.js';

type Fixture = LmtpFixture;
const startFixture = (options: { store?: (s: MailStore) => MailStore } = {}): Promise<Fixture> => startLmtpFixture({ maxMessageSize: 2000, ...options });
const stopFixture = stopLmtpFixture;

/** `real` with findAccount going through `find` (a Proxy: the Directory's other methods pass through untouched). */
function findingWith(real: Directory, find: (name: string) => Promise<Account | null>): Directory {
  return new Proxy(real, { get: (target, key, receiver) => (key === 'findAccount' ? find : Reflect.get(target, key, receiver)) });
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

  test('each recipient is looked up once, at RCPT TO (DATA delivers to what it found)', async () => {
    const lookups: string[] = [];
    const counted = await startLmtpFixture({
      maxMessageSize: 2000,
      directory: (real) =>
        findingWith(real, (name) => {
          lookups.push(name);
          return real.findAccount(name);
        }),
    });
    // With their INBOXes there: a delivery that has to create one asks the directory again (next test).
    for (const account of [counted.alice, counted.bob]) await counted.repo.store.createMailbox(account.id, 'INBOX');
    const c = await LmtpClient.connect(counted.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<sender@example.net>');
      assert.match(await c.command('RCPT TO:<alice@example.org>'), /^250 /);
      assert.match(await c.command('RCPT TO:<bob@example.org>'), /^250 /);
      const atRcpt = lookups.length;
      assert.match(await c.command('DATA'), /^354 /);
      c.write(Buffer.from(MESSAGE + '.\r\n', 'utf8'));
      for (let i = 0; i < 2; i++) assert.match(await c.reply(), /^250 2\.\d\.\d /, `recipient ${i}`);
      assert.equal(lookups.length, atRcpt, `no lookup after RCPT: ${lookups.join(', ')}`);
      assert.match(await c.command('QUIT'), /^221 /);
      assert.equal((await messagesIn(counted, counted.alice)).length, 1);
      assert.equal((await messagesIn(counted, counted.bob)).length, 1);
    } finally {
      c.close();
      await stopLmtpFixture(counted);
    }
  });

  test('an account moved away between RCPT TO and DATA gets no new INBOX in the old repository: 451', async () => {
    let moved = false;
    const f2 = await startLmtpFixture({
      maxMessageSize: 2000,
      // After RCPT TO the directory says the account lives in another repository (a `petrel user move` finished).
      directory: (real) =>
        findingWith(real, async (name) => {
          const account = await real.findAccount(name);
          return account && moved ? { ...account, repository: 'elsewhere' } : account;
        }),
    });
    const c = await LmtpClient.connect(f2.port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      await c.command('MAIL FROM:<sender@example.net>');
      assert.match(await c.command('RCPT TO:<alice@example.org>'), /^250 /);
      moved = true;
      assert.match(await c.command('DATA'), /^354 /);
      c.write(Buffer.from(MESSAGE + '.\r\n', 'utf8'));
      assert.match(await c.reply(), /^451 4\.\d\.\d /);
      assert.match(await c.command('QUIT'), /^221 /);
      assert.equal(await f2.repo.store.getMailbox(f2.alice.id, 'INBOX'), null, 'no INBOX made in the old repository');
    } finally {
      c.close();
      await stopLmtpFixture(f2);
    }
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
