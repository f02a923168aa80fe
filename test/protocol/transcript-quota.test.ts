// Transcripts for QUOTA (RFC 9208): GETQUOTAROOT / GETQUOTA on the account's
// one root "", [OVERQUOTA] on APPEND and COPY (all or nothing), MOVE within
// the account, STATUS DELETED / DELETED-STORAGE, usage dropping after
// EXPUNGE, and SETQUOTA refused with [NOPERM].

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from './transcript.js';

const M = (n: number): string => message([`Subject: message ${n}`, '', `body ${n}`]);

describe('QUOTA (RFC 9208)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['q1', 'q2', 'q3'] });
  });
  after(async () => {
    await ts.close();
  });

  test('advertised; GETQUOTAROOT and GETQUOTA without and with limits', async () => {
    await ts.deliver('q1', 'INBOX', M(1));
    await ts.deliver('q1', 'INBOX', M(2));
    const c = await ts.login('q1');
    c.send('a CAPABILITY\r\n');
    const caps = await c.expectMatch(/^\* CAPABILITY /);
    for (const cap of ['QUOTA', 'QUOTA=RES-STORAGE', 'QUOTA=RES-MESSAGE']) assert.ok(caps.split(' ').includes(cap), cap);
    assert.ok(!caps.split(' ').includes('QUOTASET'), 'SETQUOTA is not offered');
    await c.expect(['a OK CAPABILITY completed']);
    await c.run('b GETQUOTAROOT INBOX', ['* QUOTAROOT INBOX ""', '* QUOTA "" ()', 'b OK GETQUOTAROOT completed']);
    await ts.repo.directory.setQuota('q1', { storage: 10, messages: 5 });
    await c.run('c GETQUOTA ""', ['* QUOTA "" (STORAGE 1 10 MESSAGE 2 5)', 'c OK GETQUOTA completed']);
    await c.run('d getquotaroot "Not/There"', ['* QUOTAROOT Not/There ""', '* QUOTA "" (STORAGE 1 10 MESSAGE 2 5)', 'd OK GETQUOTAROOT completed']);
    await c.run('e GETQUOTA "#user/q1"', ['e NO [NONEXISTENT] No such quota root']);
    await c.run('f SETQUOTA "" (STORAGE 512)', ['f NO [NOPERM] Quota limits are set by the administrator (petrel user quota)']);
    await c.run('g SETQUOTA "" (STORAGE)', ['g BAD Expected SP after resource name']);
    await c.run('h GETQUOTA', ['h BAD Expected SP after GETQUOTA']);
  });

  test('APPEND over quota: NO [OVERQUOTA], nothing stored; at the limit OK', async () => {
    await ts.deliver('q2', 'INBOX', M(1));
    await ts.repo.directory.setQuota('q2', { storage: 2, messages: 2 }); // 2048 octets
    const c = await ts.login('q2');
    const big = message(['Subject: big', '', 'x'.repeat(3000)]);
    c.send(`a APPEND INBOX {${Buffer.byteLength(big)}+}\r\n${big}\r\n`);
    await c.expect(['a NO [OVERQUOTA] Quota exceeded']);
    const small = M(2);
    c.send(`b APPEND INBOX {${Buffer.byteLength(small)}+}\r\n${small}\r\n`);
    await c.expect(['b OK [APPENDUID %d 2] APPEND completed']);
    c.send(`c APPEND INBOX {${Buffer.byteLength(small)}+}\r\n${small}\r\n`);
    await c.expect(['c NO [OVERQUOTA] Quota exceeded']);
    await c.run('d STATUS INBOX (MESSAGES UIDNEXT)', ['* STATUS INBOX (MESSAGES 2 UIDNEXT 3)', 'd OK STATUS completed']);
    await c.run('e GETQUOTA ""', ['* QUOTA "" (STORAGE 1 2 MESSAGE 2 2)', 'e OK GETQUOTA completed']);
  });

  test('COPY over quota fails whole; MOVE within the account is allowed; usage drops after EXPUNGE', async () => {
    for (let i = 1; i <= 3; i++) await ts.deliver('q3', 'INBOX', M(i));
    await ts.repo.directory.setQuota('q3', { storage: null, messages: 4 });
    const c = await ts.login('q3');
    await c.run('a CREATE Saved', ['a OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('b SELECT INBOX', [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
      '* 3 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 1] First unseen',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 4] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      'b OK [READ-WRITE] SELECT completed',
    ]);
    await c.run('c COPY 1:3 Saved', ['c NO [OVERQUOTA] Quota exceeded']);
    await c.run('d STATUS Saved (MESSAGES UIDNEXT)', ['* STATUS Saved (MESSAGES 0 UIDNEXT 1)', 'd OK STATUS completed']);
    await c.run('e GETQUOTA ""', ['* QUOTA "" (MESSAGE 3 4)', 'e OK GETQUOTA completed']);
    await c.run('f STORE 1:2 +FLAGS.SILENT (\\Deleted)', ['f OK STORE completed']);
    const size1 = Buffer.byteLength(M(1));
    const size2 = Buffer.byteLength(M(2));
    await c.run('g STATUS INBOX (DELETED DELETED-STORAGE)', [
      `* STATUS INBOX (DELETED 2 DELETED-STORAGE ${Math.ceil((size1 + size2) / 1024)})`,
      'g OK STATUS completed',
    ]);
    await c.run('h EXPUNGE', ['* 2 EXPUNGE', '* 1 EXPUNGE', 'h OK EXPUNGE completed']);
    await c.run('i GETQUOTA ""', ['* QUOTA "" (MESSAGE 1 4)', 'i OK GETQUOTA completed']);
    await c.run('j COPY 1 Saved', ['j OK [COPYUID %d 3 1] COPY completed']);
    // At the limit (2 of 2): MOVE adds nothing to the account, so it is allowed.
    await ts.repo.directory.setQuota('q3', { storage: null, messages: 2 });
    const moved = await (async () => {
      c.send('k MOVE 1 Saved\r\n');
      return c.until('k');
    })();
    assert.match(moved.at(-1)!, /^k OK /);
    await c.run('m GETQUOTA ""', ['* QUOTA "" (MESSAGE 2 2)', 'm OK GETQUOTA completed']);
  });
});
