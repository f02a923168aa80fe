// End to end with imapflow's QRESYNC support (RFC 7162) against the real
// server process: a client notes UIDVALIDITY and HIGHESTMODSEQ, goes away,
// another client changes flags, expunges and appends, and the first client
// reconnects with SELECT (QRESYNC ...) and learns exactly those changes;
// then, while it stays connected, expunges by others arrive as VANISHED.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow, type MailboxObject } from 'imapflow';
import { startServer, type RunningServer } from './harness.js';

const MESSAGE = (subject: string): Buffer =>
  Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`);

function client(server: RunningServer, qresync: boolean): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.imapPort,
    secure: false,
    auth: { user: 'alice', pass: 'secret' },
    logger: false,
    disableAutoIdle: true,
    qresync,
  });
}

interface FlagsEvent {
  uid?: number;
  modseq?: bigint;
  flags: Set<string>;
}

interface ExpungeEvent {
  uid?: number;
  seq?: number;
  vanished: boolean;
  earlier?: boolean;
}

describe('imapflow QRESYNC resync', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ users: { alice: 'secret' } });
  });
  after(async () => {
    await server?.cleanup();
  });

  test('reconnecting with QRESYNC learns exactly the flag changes, expunges and new mail', async () => {
    // 1. First sync: five messages; note UIDVALIDITY and HIGHESTMODSEQ.
    const first = client(server, true);
    await first.connect();
    for (let i = 1; i <= 5; i++) await first.append('INBOX', MESSAGE(`m${i}`));
    const opened = await first.mailboxOpen('INBOX');
    assert.ok(first.enabled.has('QRESYNC'), 'QRESYNC enabled');
    assert.equal(opened.exists, 5);
    const uidValidity = opened.uidValidity;
    const seenModseq = opened.highestModseq;
    assert.equal(typeof seenModseq, 'bigint');
    await first.logout();

    // 2. Meanwhile another client: a flag on 2, \Deleted (kept) on 3, 4 and 5 expunged, a new message.
    const other = client(server, false);
    await other.connect();
    await other.mailboxOpen('INBOX');
    await other.messageFlagsAdd('2', ['\\Flagged'], { uid: true });
    await other.messageFlagsAdd('3', ['\\Deleted'], { uid: true });
    await other.messageDelete('4:5', { uid: true });
    const appended = await other.append('INBOX', MESSAGE('m6'), ['\\Seen']);
    assert.equal(appended && appended.uid, 6);
    await other.logout();

    // 3. Reconnect with SELECT INBOX (QRESYNC (uidvalidity modseq)).
    const again = client(server, true);
    const flags: FlagsEvent[] = [];
    const expunged: ExpungeEvent[] = [];
    again.on('flags', (e: FlagsEvent) => flags.push(e));
    again.on('expunge', (e: ExpungeEvent) => expunged.push(e));
    await again.connect();
    try {
      // imapflow sends QRESYNC when given these (not in its typings).
      const box = (await again.mailboxOpen('INBOX', { uidValidity, changedSince: seenModseq } as object)) as MailboxObject & { qresync?: boolean };
      assert.equal(box.qresync, true, 'imapflow accepted the resync');
      assert.equal(box.exists, 4);
      assert.ok(box.highestModseq! > seenModseq!);
      assert.deepEqual(
        expunged.map((e) => [e.uid, e.vanished, e.earlier]),
        [
          [4, true, true],
          [5, true, true],
        ],
      );
      // Changed since: 2 (flagged), 3 (deleted flag) and the new 6; each with UID and MODSEQ.
      assert.deepEqual(
        flags.map((f) => [f.uid, [...f.flags].sort()]),
        [
          [2, ['\\Flagged']],
          [3, ['\\Deleted']],
          [6, ['\\Seen']],
        ],
      );
      for (const f of flags) assert.ok(typeof f.modseq === 'bigint' && f.modseq > seenModseq!, 'MODSEQ after the noted one');
      assert.equal(flags.map((f) => f.modseq!).reduce((a, b) => (a > b ? a : b)), box.highestModseq);

      // 4. Live: another session expunges; the QRESYNC session hears VANISHED (not EARLIER).
      expunged.length = 0;
      flags.length = 0;
      const third = client(server, false);
      await third.connect();
      await third.mailboxOpen('INBOX');
      await third.messageDelete('3', { uid: true });
      await third.messageFlagsAdd('1', ['\\Answered'], { uid: true });
      await third.logout();
      await again.noop();
      assert.deepEqual(
        expunged.map((e) => [e.uid, e.vanished, e.earlier]),
        [[3, true, false]],
      );
      assert.deepEqual(
        flags.map((f) => [f.uid, [...f.flags]]),
        [[1, ['\\Answered']]],
      );
      assert.ok(typeof flags[0]!.modseq === 'bigint');
      const status = await again.status('INBOX', { highestModseq: true, messages: true });
      assert.ok(status, 'STATUS answered');
      assert.equal(status.messages, 3);
      // The flag change was the last change: its MODSEQ is the mailbox's HIGHESTMODSEQ.
      assert.equal(status.highestModseq, flags[0]!.modseq);
    } finally {
      await again.logout();
    }
  });
});
