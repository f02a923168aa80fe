// imapflow against the APPEND family: it turns UTF8=ACCEPT on by itself
// (RFC 6855) and then speaks UTF-8 mailbox names and searches without
// CHARSET; it reads APPENDLIMIT (RFC 7889) from CAPABILITY and refuses a
// larger message itself; its APPEND gets [APPENDUID]. (imapflow has no CATENATE or REPLACE: those are
// covered by the transcripts.) In-process server, like the transcripts.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../protocol/transcript.js';

const LIMIT = 100_000;
const UTF8_MESSAGE = Buffer.from(
  'From: Jörg <joerg@example.org>\r\nTo: Zoë <zoe@example.org>\r\nSubject: Grüße aus Köln\r\n' +
    'Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo €\r\n',
);

describe('imapflow with UTF8=ACCEPT and APPENDLIMIT', () => {
  let ts: TestServer;
  let c: ImapFlow;
  before(async () => {
    ts = await startTestServer({ configure: (cfg) => (cfg.limits.maxMessageSize = LIMIT) });
    c = new ImapFlow({ host: '127.0.0.1', port: ts.port, secure: false, auth: { user: 'alice', pass: 'secret' }, logger: false, disableAutoIdle: true });
    await c.connect();
  });
  after(async () => {
    await c?.logout().catch(() => undefined);
    await ts.close();
  });

  test('imapflow enabled UTF8=ACCEPT and sees APPENDLIMIT', () => {
    assert.ok(c.enabled.has('UTF8=ACCEPT'), [...c.enabled].join(' '));
    assert.ok(c.capabilities.has(`APPENDLIMIT=${LIMIT}`) || c.capabilities.get('APPENDLIMIT') === LIMIT, [...c.capabilities.keys()].join(' '));
  });

  test('UTF-8 mailbox names, an 8-bit header APPEND with APPENDUID, fetch and search back', async () => {
    await c.mailboxCreate('Reisen/Köln');
    const listed = (await c.list()).map((m) => m.path);
    assert.ok(listed.includes('Reisen/Köln'), listed.join(', '));
    const appended = await c.append('Reisen/Köln', UTF8_MESSAGE, ['\\Seen']);
    assert.ok(appended, 'APPEND answered');
    assert.equal(appended.uid, 1, 'APPENDUID gave the new UID');
    const status = await c.status('Reisen/Köln', { messages: true });
    assert.ok(status && status.messages === 1, 'STATUS MESSAGES 1');
    const lock = await c.getMailboxLock('Reisen/Köln');
    try {
      const msg = await c.fetchOne('1', { envelope: true, source: true }, { uid: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'Grüße aus Köln');
      assert.equal(msg.envelope?.from?.[0]?.name, 'Jörg');
      assert.ok(msg.source?.equals(UTF8_MESSAGE));
      // No CHARSET once UTF8=ACCEPT is on (a CHARSET would get BAD, RFC 6855 3).
      assert.deepEqual(await c.search({ subject: 'Köln' }, { uid: true }), [1]);
    } finally {
      lock.release();
    }
  });

  test('imapflow refuses an APPEND over the advertised APPENDLIMIT before sending it', async () => {
    const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(LIMIT, 0x61)]);
    await assert.rejects(c.append('INBOX', big), /APPENDLIMIT=100000/);
    const status = await c.status('INBOX', { messages: true });
    assert.ok(status && status.messages === 0, 'STATUS MESSAGES 0');
  });
});
