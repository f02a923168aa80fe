// Transcripts: UIDONLY (RFC 9586). After ENABLE UIDONLY no message number
// goes either way: commands with them get BAD [UIDREQUIRED], FETCH data comes
// as UIDFETCH (for UID FETCH/STORE and unsolicited flag changes), expunges as
// VANISHED; EXISTS is unchanged. Mailbox: UIDs 2..5 (UID 1 expunged first).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

describe('UIDONLY', () => {
  let ts: TestServer;
  let c: Client;
  let other: Client;
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', message(['Subject: gone', '', 'x']), ['\\Deleted']);
    for (let n = 1; n <= 4; n++) await ts.deliver('alice', 'INBOX', message([`Subject: m${n}`, '', 'body']));
    other = await ts.login();
    other.send('o SELECT INBOX\r\n');
    await other.until('o');
    await other.run('o2 EXPUNGE', ['* 1 EXPUNGE', 'o2 OK EXPUNGE completed']);
    c = await ts.login();
  });
  after(async () => {
    await ts.close();
  });

  test('is advertised and enabled', async () => {
    c.send('a CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY .* UIDONLY( |$)/);
    await c.expect(['a OK CAPABILITY completed']);
    await c.run('b ENABLE UIDONLY', ['* ENABLED UIDONLY', 'b OK ENABLE completed']);
    // Enabling twice reports nothing new (RFC 5161).
    await c.run('c ENABLE UIDONLY', ['* ENABLED', 'c OK ENABLE completed']);
  });

  test('SELECT: no [UNSEEN n] (a message number)', async () => {
    await c.run('a SELECT INBOX', [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
      '* 4 EXISTS',
      '* 0 RECENT',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 6] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      'a OK [READ-WRITE] SELECT completed',
    ]);
  });

  test('commands with message numbers: BAD [UIDREQUIRED]', async () => {
    await c.run('07 FETCH 10000:14589 (UID FLAGS)', ['07 BAD [UIDREQUIRED] FETCH with message numbers is not allowed once UIDONLY is enabled; use UID FETCH']);
    await c.run('a STORE 1 +FLAGS (\\Seen)', ['a BAD [UIDREQUIRED] STORE with message numbers is not allowed once UIDONLY is enabled; use UID STORE']);
    await c.run('b SEARCH ALL', ['b BAD [UIDREQUIRED] SEARCH with message numbers is not allowed once UIDONLY is enabled; use UID SEARCH']);
    await c.run('c COPY 1 Trash', ['c BAD [UIDREQUIRED] COPY with message numbers is not allowed once UIDONLY is enabled; use UID COPY']);
    await c.run('d MOVE 1 Trash', ['d BAD [UIDREQUIRED] MOVE with message numbers is not allowed once UIDONLY is enabled; use UID MOVE']);
    await c.run('e SORT (DATE) UTF-8 ALL', ['e BAD [UIDREQUIRED] SORT with message numbers is not allowed once UIDONLY is enabled; use UID SORT']);
    await c.run('f THREAD REFERENCES UTF-8 ALL', ['f BAD [UIDREQUIRED] THREAD with message numbers is not allowed once UIDONLY is enabled; use UID THREAD']);
    // 3.5: the "<sequence set>" search key, also inside the UID forms.
    await c.run('g UID SEARCH 1:2', ['g BAD [UIDREQUIRED] Message numbers are not allowed in search criteria once UIDONLY is enabled']);
    await c.run('h UID SORT (DATE) UTF-8 NOT 1', ['h BAD [UIDREQUIRED] Message numbers are not allowed in search criteria once UIDONLY is enabled']);
    await c.run('i UID SEARCH UID 2:3', ['* SEARCH 2 3', 'i OK UID SEARCH completed']);
    await c.run('j UID SEARCH RETURN (ALL) ALL', ['* ESEARCH (TAG "j") UID ALL 2:5', 'j OK UID SEARCH completed']);
  });

  test('UID FETCH / UID STORE answer with UIDFETCH; UID only when asked for', async () => {
    await c.run('10 UID FETCH 3:4 (FLAGS)', ['* 3 UIDFETCH (FLAGS ())', '* 4 UIDFETCH (FLAGS ())', '10 OK UID FETCH completed']);
    await c.run('11 UID FETCH 2 (UID FLAGS)', ['* 2 UIDFETCH (UID 2 FLAGS ())', '11 OK UID FETCH completed']);
    await c.run('12 UID STORE 2 +FLAGS (\\Answered)', ['* 2 UIDFETCH (FLAGS (\\Answered))', '12 OK STORE completed']);
    await c.run('13 UID STORE 2 +FLAGS.SILENT (\\Draft)', ['13 OK STORE completed']);
    // Setting \Seen by fetching the body is reported in the same UIDFETCH.
    await c.run('14 UID FETCH 5 (BODY[TEXT])', ['* 5 UIDFETCH (BODY[TEXT] {6}', 'body', ' FLAGS (\\Seen))', '14 OK UID FETCH completed']);
  });

  test('changes by others: UIDFETCH, VANISHED, EXISTS', async () => {
    other.send('o STORE 2 +FLAGS (\\Flagged)\r\n');
    await other.until('o');
    await c.run('a NOOP', ['* 3 UIDFETCH (FLAGS (\\Flagged))', 'a OK NOOP completed']);
    other.send('o3 STORE 1 +FLAGS (\\Deleted)\r\n');
    await other.until('o3');
    await other.run('o4 EXPUNGE', ['* 1 EXPUNGE', 'o4 OK EXPUNGE completed']);
    await ts.deliver('alice', 'INBOX', message(['Subject: new', '', 'x']));
    // The flag change of UID 2 is not told: it was expunged.
    await c.run('b NOOP', ['* VANISHED 2', '* 4 EXISTS', 'b OK NOOP completed']);
  });

  test('EXPUNGE and UID MOVE answer with VANISHED', async () => {
    await c.run('a UID STORE 3 +FLAGS.SILENT (\\Deleted)', ['a OK STORE completed']);
    await c.run('b EXPUNGE', ['* VANISHED 3', 'b OK EXPUNGE completed']);
    await c.run('15 UID MOVE 4 Trash', ['* OK [COPYUID %d 4 1] Moved', '* VANISHED 4', '15 OK MOVE completed']);
    await c.run('c UID EXPUNGE 1:*', ['c OK EXPUNGE completed']);
  });

  test('with CONDSTORE: MODSEQ in UIDFETCH; QRESYNC without sequence match data only', async () => {
    await c.run('a ENABLE QRESYNC', ['* ENABLED QRESYNC', '* OK [HIGHESTMODSEQ %d] Highest', 'a OK ENABLE completed']);
    await c.run('b UID FETCH 5 (FLAGS) (CHANGEDSINCE 1)', ['* 5 UIDFETCH (MODSEQ (%d) FLAGS (\\Seen))', 'b OK UID FETCH completed']);
    await c.run('c SELECT INBOX (QRESYNC (1 1 2:9 (1:2 5:6)))', ['c BAD [UIDREQUIRED] QRESYNC message sequence match data are not allowed once UIDONLY is enabled']);
    c.send('d SELECT INBOX (QRESYNC (1 1 2:9))\r\n');
    const lines = await c.until('d');
    assert.equal(lines[lines.length - 1], 'd OK [READ-WRITE] SELECT completed');
    assert.ok(!lines.some((l) => / FETCH /.test(l)), lines.join('\n'));
  });
});
