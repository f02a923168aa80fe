// Transcripts: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4): RETURN (UPDATE)
// keeps the result up to date with ESEARCH ADDTO/REMOVEFROM as the mailbox
// changes (by other sessions, by this one, during IDLE), REMOVEFROM before
// the EXPUNGE, ADDTO after the EXISTS; context positions for SORT; tag reuse
// (BAD), the NOUPDATE limit, CANCELUPDATE, and the end of contexts with the
// selection. Mailbox: UIDs 2..5 (UID 1 expunged first), sizes growing.

import { after, before, describe, test } from 'node:test';
import { SORT_CONTEXT_LIMIT } from '../../src/imap/search-context.js';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const sized = (subject: string, n: number): string => message([`Subject: ${subject}`, '', 'x'.repeat(n)]);

describe('CONTEXT=SEARCH and CONTEXT=SORT', () => {
  let ts: TestServer;
  let c: Client;
  let other: Client;
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', sized('gone', 1), ['\\Deleted']);
    for (let n = 1; n <= 4; n++) await ts.deliver('alice', 'INBOX', sized(`m${n}`, n * 100));
    other = await ts.login();
    other.send('o SELECT INBOX\r\n');
    await other.until('o');
    await other.run('o1 EXPUNGE', ['* 1 EXPUNGE', 'o1 OK EXPUNGE completed']);
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('are advertised', async () => {
    c.send('a CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY .* CONTEXT=SEARCH CONTEXT=SORT( |$)/);
    await c.expect(['a OK CAPABILITY completed']);
  });

  test('CONTEXT is a hint; alone it means ALL', async () => {
    await c.run('h1 SEARCH RETURN (CONTEXT COUNT) ALL', ['* ESEARCH (TAG "h1") COUNT 4', 'h1 OK SEARCH completed']);
    await c.run('h2 UID SEARCH RETURN (CONTEXT) ALL', ['* ESEARCH (TAG "h2") UID ALL 2:5', 'h2 OK UID SEARCH completed']);
  });

  test('UID SEARCH context: ADDTO after the FETCH, REMOVEFROM before it, for changes by others and by itself', async () => {
    await c.run('a UID SEARCH RETURN (UPDATE) FLAGGED', ['* ESEARCH (TAG "a") UID', 'a OK UID SEARCH completed']);
    other.send('o2 STORE 2 +FLAGS (\\Flagged)\r\n');
    await other.until('o2');
    await c.run('n1 NOOP', ['* 2 FETCH (FLAGS (\\Flagged))', '* ESEARCH (TAG "a") UID ADDTO (0 3)', 'n1 OK NOOP completed']);
    await c.run('s1 UID STORE 4 +FLAGS (\\Flagged)', ['* 3 FETCH (UID 4 FLAGS (\\Flagged))', '* ESEARCH (TAG "a") UID ADDTO (0 4)', 's1 OK STORE completed']);
    other.send('o3 STORE 2 -FLAGS (\\Flagged)\r\n');
    await other.until('o3');
    await c.run('n2 NOOP', ['* ESEARCH (TAG "a") UID REMOVEFROM (0 3)', '* 2 FETCH (FLAGS ())', 'n2 OK NOOP completed']);
    // Another searching command with UPDATE may not reuse the tag (4.3); nothing changes.
    await c.run('a UID SORT RETURN (UPDATE) (SIZE) UTF-8 ALL', ['a BAD Tag reuse']);
    await c.run('a SEARCH RETURN (UPDATE COUNT) ALL', ['a BAD Tag reuse']);
  });

  test('SEARCH context (message numbers): REMOVEFROM before EXPUNGE, ADDTO after EXISTS, own EXPUNGE', async () => {
    await c.run('b SEARCH RETURN (UPDATE COUNT) UNSEEN', ['* ESEARCH (TAG "b") COUNT 4', 'b OK SEARCH completed']);
    other.send('o4 UID STORE 2 +FLAGS (\\Deleted)\r\n');
    await other.until('o4');
    await other.run('o5 UID EXPUNGE 2', ['* 1 EXPUNGE', 'o5 OK EXPUNGE completed']);
    await c.run('n1 NOOP', ['* ESEARCH (TAG "b") REMOVEFROM (0 1)', '* 1 EXPUNGE', 'n1 OK NOOP completed']);
    await ts.deliver('alice', 'INBOX', sized('small', 10));
    await c.run('n2 NOOP', ['* 4 EXISTS', '* ESEARCH (TAG "b") ADDTO (0 4)', 'n2 OK NOOP completed']);
    // UIDs 3 4 5 6 are MSNs 1 2 3 4; UID 4 is in "a" (flagged) and "b" (unseen).
    await c.run('s1 UID STORE 4 +FLAGS.SILENT (\\Deleted)', ['s1 OK STORE completed']);
    await c.run('x EXPUNGE', ['* ESEARCH (TAG "a") UID REMOVEFROM (0 4)', '* ESEARCH (TAG "b") REMOVEFROM (0 2)', '* 2 EXPUNGE', 'x OK EXPUNGE completed']);
  });

  test('SORT contexts: context positions in sort order; NOUPDATE past the limit', async () => {
    // UIDs 3 (size ~220), 5 (~420), 6 (~30) are MSNs 1 2 3.
    await c.run('s1 UID SORT RETURN (UPDATE ALL) (REVERSE SIZE) UTF-8 ALL', ['* ESEARCH (TAG "s1") UID ALL 5,3,6', 's1 OK UID SORT completed']);
    await c.run('s2 SORT RETURN (UPDATE ALL) (SIZE) UTF-8 ALL', ['* ESEARCH (TAG "s2") ALL 3,1:2', 's2 OK SORT completed']);
    for (let i = 2; i < SORT_CONTEXT_LIMIT; i++) await c.run(`f${i} SORT RETURN (UPDATE COUNT) (SIZE) UTF-8 ALL`, [`* ESEARCH (TAG "f${i}") COUNT 3`, `f${i} OK SORT completed`]);
    await c.run('s3 UID SORT RETURN (UPDATE MIN) (SIZE) UTF-8 ALL', ['* ESEARCH (TAG "s3") UID MIN 6', '* NO [NOUPDATE "s3"] Too many update contexts', 's3 OK UID SORT completed']);
    // The biggest message: first for REVERSE SIZE, last for SIZE.
    await ts.deliver('alice', 'INBOX', sized('big', 1000));
    await c.run('n1 NOOP', [
      '* 4 EXISTS',
      '* ESEARCH (TAG "b") ADDTO (0 4)',
      '* ESEARCH (TAG "s1") UID ADDTO (1 7)',
      '* ESEARCH (TAG "s2") ADDTO (4 4)',
      'n1 OK NOOP completed',
    ]);
    // UID 3 (MSN 1) goes: third for REVERSE SIZE (7 5 3 6), second for SIZE (6 3 5 7).
    other.send('o6 UID STORE 3 +FLAGS (\\Deleted)\r\n');
    await other.until('o6');
    await other.run('o7 UID EXPUNGE 3', ['* 1 EXPUNGE', 'o7 OK EXPUNGE completed']);
    await c.run('n2 NOOP', [
      '* ESEARCH (TAG "b") REMOVEFROM (0 1)',
      '* ESEARCH (TAG "s1") UID REMOVEFROM (3 3)',
      '* ESEARCH (TAG "s2") REMOVEFROM (2 1)',
      '* 1 EXPUNGE',
      'n2 OK NOOP completed',
    ]);
  });

  test('CANCELUPDATE stops contexts; unknown tags and unquoted tags are BAD', async () => {
    await c.run('c1 CANCELUPDATE "s1" "b"', ['c1 OK CANCELUPDATE completed']);
    await c.run('c2 CANCELUPDATE "s1"', ['c2 BAD No update context for tag "s1"']);
    await c.run('c3 CANCELUPDATE s2', ['c3 BAD CANCELUPDATE takes quoted tags']);
    c.send('c4 CANCELUPDATE\r\n');
    await c.expectMatch(/^c4 BAD /);
    // UIDs 5 6 7 are MSNs 1 2 3; sizes: 6 < 5 < 8 < 7.
    await ts.deliver('alice', 'INBOX', sized('medium', 600));
    await c.run('n1 NOOP', ['* 4 EXISTS', '* ESEARCH (TAG "s2") ADDTO (3 4)', 'n1 OK NOOP completed']);
    // The tag is free again.
    await c.run('s1 UID SEARCH RETURN (UPDATE PARTIAL -1:-2) ALL', ['* ESEARCH (TAG "s1") UID PARTIAL (-1:-2 7:8)', 's1 OK UID SEARCH completed']);
  });

  test('updates arrive during IDLE', async () => {
    await c.run('i IDLE', ['+ idling']);
    await ts.deliver('alice', 'INBOX', sized('during idle', 50));
    // Contexts in the order they were made: s2 is older than the new s1.
    await c.expect(['* 5 EXISTS', '* ESEARCH (TAG "s2") ADDTO (2 5)', '* ESEARCH (TAG "s1") UID ADDTO (0 9)']);
    await c.run('DONE', ['i OK IDLE terminated']);
  });

  test('contexts end with the selection', async () => {
    c.send('r SELECT INBOX\r\n');
    await c.until('r');
    await ts.deliver('alice', 'INBOX', sized('after reselect', 50));
    await c.run('n NOOP', ['* 6 EXISTS', 'n OK NOOP completed']);
    await c.run('c1 CANCELUPDATE "s2"', ['c1 BAD No update context for tag "s2"']);
    await c.run('s2 SEARCH RETURN (UPDATE COUNT) ALL', ['* ESEARCH (TAG "s2") COUNT 6', 's2 OK SEARCH completed']);
  });
});
