// Transcripts for APPENDLIMIT (RFC 7889): the server-wide limit
// (limits.max_message_size) advertised as APPENDLIMIT=<n> before and after
// login, the per-mailbox STATUS APPENDLIMIT item (3.1) and through LIST
// RETURN (STATUS (APPENDLIMIT)) (3.2), and [TOOBIG] for a larger APPEND (4),
// before a synchronizing literal is sent and after a non-synchronizing one.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from './transcript.js';

const LIMIT = 2048;

describe('APPENDLIMIT (RFC 7889)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ configure: (c) => (c.limits.maxMessageSize = LIMIT) });
  });
  after(async () => {
    await ts.close();
  });

  test('APPENDLIMIT=<n> is advertised before and after login', async () => {
    const c = await ts.connect();
    c.send('a CAPABILITY\r\n');
    const before = await c.expectMatch(/^\* CAPABILITY /);
    assert.ok(before.split(' ').includes(`APPENDLIMIT=${LIMIT}`), before);
    await c.expect(['a OK CAPABILITY completed']);
    c.send('b LOGIN alice secret\r\n');
    const login = await c.expectMatch(/^b OK \[CAPABILITY [^\]]+\] Logged in$/);
    assert.ok(login.includes(` APPENDLIMIT=${LIMIT}`), login);
    assert.equal(login.split(' ').filter((w) => w.startsWith('APPENDLIMIT')).length, 1);
  });

  test('STATUS (APPENDLIMIT) and LIST RETURN (STATUS (APPENDLIMIT))', async () => {
    const alice = await ts.repo.directory.findAccount('alice');
    await ts.repo.store.createMailbox(alice!.id, 'Projects');
    await ts.repo.store.createMailbox(alice!.id, 'Projects/2026');
    const c = await ts.login();
    await c.run('b STATUS INBOX (APPENDLIMIT)', [`* STATUS INBOX (APPENDLIMIT ${LIMIT})`, 'b OK STATUS completed']);
    await c.run('c status Projects/2026 (MESSAGES appendlimit UIDNEXT)', [`* STATUS Projects/2026 (MESSAGES 0 APPENDLIMIT ${LIMIT} UIDNEXT 1)`, 'c OK STATUS completed']);
    await c.run('d LIST "" "Projects*" RETURN (STATUS (APPENDLIMIT))', [
      '* LIST (\\HasChildren) "/" Projects',
      `* STATUS Projects (APPENDLIMIT ${LIMIT})`,
      '* LIST (\\HasNoChildren) "/" Projects/2026',
      `* STATUS Projects/2026 (APPENDLIMIT ${LIMIT})`,
      'd OK LIST completed',
    ]);
    await c.run('e STATUS Nowhere (APPENDLIMIT)', ['e NO [NONEXISTENT] Mailbox does not exist']);
  });

  test('an APPEND over the limit: NO [TOOBIG], nothing stored; at the limit: OK', async () => {
    const c = await ts.login();
    // Synchronizing: refused before the client sends the data (no continuation).
    c.send(`a APPEND INBOX {${LIMIT + 1}}\r\n`);
    await c.expect([`a NO [TOOBIG] Message too large (limit ${LIMIT} octets)`]);
    // Non-synchronizing: the data is read and dropped, then the same answer.
    const big = message(['Subject: big', '', 'x'.repeat(LIMIT)]);
    c.send(`b APPEND INBOX {${Buffer.byteLength(big)}+}\r\n${big}\r\n`);
    await c.expect([`b NO [TOOBIG] Message too large (limit ${LIMIT} octets)`]);
    await c.run('c STATUS INBOX (MESSAGES)', ['* STATUS INBOX (MESSAGES 0)', 'c OK STATUS completed']);
    const head = 'Subject: fits\r\n\r\n';
    const exact = head + 'y'.repeat(LIMIT - head.length);
    c.send(`d APPEND INBOX {${LIMIT}+}\r\n${exact}\r\n`);
    await c.expect(['d OK [APPENDUID %d 1] APPEND completed']);
    await c.run('e STATUS INBOX (MESSAGES SIZE)', [`* STATUS INBOX (MESSAGES 1 SIZE ${LIMIT})`, 'e OK STATUS completed']);
  });
});
