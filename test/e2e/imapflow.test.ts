// End to end with imapflow, a widely used Node IMAP client, against the real
// server process.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { startServer, type RunningServer } from './harness.js';

const MESSAGE = (subject: string, body = 'Hello from the test.') =>
  Buffer.from(
    `From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: ${subject}\r\n` +
      `Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`,
  );

function client(server: RunningServer, user = 'alice', pass = 'secret'): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.imapPort,
    secure: false,
    auth: { user, pass },
    logger: false,
    disableAutoIdle: true,
    tls: { rejectUnauthorized: false },
  });
}

describe('imapflow against petrel serve', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ users: { alice: 'secret', bob: 'hunter2' } });
  });
  after(async () => {
    await server?.cleanup();
  });

  test('login, default folders, append, fetch, flags, search, move, expunge', async () => {
    const c = client(server);
    await c.connect();
    try {
      const list = await c.list();
      const byPath = new Map(list.map((m) => [m.path, m]));
      for (const [name, use] of [
        ['INBOX', undefined],
        ['Drafts', '\\Drafts'],
        ['Sent', '\\Sent'],
        ['Trash', '\\Trash'],
        ['Junk', '\\Junk'],
        ['Archive', '\\Archive'],
      ] as const) {
        assert.ok(byPath.has(name), `${name} exists`);
        if (use) assert.equal(byPath.get(name)!.specialUse, use);
      }

      const appended = await c.append('INBOX', MESSAGE('first'), ['\\Seen']);
      assert.ok(appended && appended.uid === 1, 'APPENDUID gives uid 1');
      await c.append('INBOX', MESSAGE('second', 'needle in the body'));

      const box = await c.mailboxOpen('INBOX');
      assert.equal(box.exists, 2);
      assert.equal(box.uidNext, 3);

      const msgs = await c.fetchAll('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, size: true });
      assert.deepEqual(
        msgs.map((m) => [m.uid, m.envelope?.subject, [...(m.flags ?? [])]]),
        [
          [1, 'first', ['\\Seen']],
          [2, 'second', []],
        ],
      );
      assert.equal(msgs[0]!.envelope?.from?.[0]?.address, 'alice@example.org');
      assert.equal(msgs[0]!.bodyStructure?.type, 'text/plain');
      assert.equal(msgs[0]!.size, MESSAGE('first').length);

      const full = await c.fetchOne('2', { source: true }, { uid: true });
      assert.ok(full && full.source);
      assert.deepEqual(full.source, MESSAGE('second', 'needle in the body'));

      assert.deepEqual(await c.search({ body: 'needle' }, { uid: true }), [2]);
      assert.deepEqual(await c.search({ seen: false }, { uid: true }), [2]);
      assert.deepEqual(await c.search({ subject: 'FIRST' }, { uid: true }), [1]);

      await c.messageFlagsAdd('2', ['\\Flagged', '$Important'], { uid: true });
      const flagged = await c.fetchOne('2', { flags: true }, { uid: true });
      assert.ok(flagged && flagged.flags?.has('\\Flagged') && flagged.flags.has('$Important'));

      const moved = await c.messageMove('1', 'Archive', { uid: true });
      assert.ok(moved && moved.uidMap?.get(1) === 1, 'COPYUID maps uid 1 to 1 in Archive');
      const status = await c.status('Archive', { messages: true, uidNext: true });
      assert.ok(status);
      assert.equal(status.messages, 1);

      await c.messageDelete('1:*');
      const after = await c.status('INBOX', { messages: true });
      assert.ok(after);
      assert.equal(after.messages, 0);
    } finally {
      await c.logout();
    }
  });

  test('IDLE on one connection sees an APPEND made on another', async () => {
    const watcher = client(server, 'bob', 'hunter2');
    const writer = client(server, 'bob', 'hunter2');
    await watcher.connect();
    await writer.connect();
    try {
      await watcher.mailboxOpen('INBOX');
      const seen = once(watcher, 'exists');
      const idling = watcher.idle();
      await writer.append('INBOX', MESSAGE('for bob'));
      const [event] = (await seen) as [{ path: string; count: number }];
      assert.equal(event.path, 'INBOX');
      assert.equal(event.count, 1);
      await watcher.noop(); // ends IDLE
      await idling;
    } finally {
      await writer.logout();
      await watcher.logout();
    }
  });

  test('a delivery through LMTP-less local delivery (petrel deliver) reaches an IDLE client at once', async () => {
    const watcher = client(server, 'bob', 'hunter2');
    await watcher.connect();
    try {
      const box = await watcher.mailboxOpen('INBOX');
      const before = box.exists;
      const seen = once(watcher, 'exists');
      const idling = watcher.idle();
      const r = await server.cli(['deliver', 'bob'], MESSAGE('delivered'));
      assert.equal(r.code, 0, r.stderr);
      const [event] = (await seen) as [{ count: number }];
      assert.equal(event.count, before + 1);
      await watcher.noop();
      await idling;
    } finally {
      await watcher.logout();
    }
  });

  test('wrong password is refused with AUTHENTICATIONFAILED', async () => {
    const c = client(server, 'alice', 'wrong');
    await assert.rejects(c.connect(), (err: Error & { authenticationFailed?: boolean; serverResponseCode?: string }) => {
      assert.equal(err.authenticationFailed, true);
      assert.equal(err.serverResponseCode, 'AUTHENTICATIONFAILED');
      return true;
    });
  });
});
