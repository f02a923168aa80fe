// Transcripts: PARTIAL (RFC 9394) for SEARCH, UID SEARCH, SORT and UID SORT
// (RFC 5267 4.4) and the UID FETCH modifier (RFC 9394 3.3), with the
// interaction with SAVE (3.2, table 1) and the errors the grammar names.
// Six messages after one expunged message, so UID = MSN + 1.

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

describe('PARTIAL', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', message(['Subject: gone', '', 'x']), ['\\Deleted']);
    // Sizes grow with n, so SORT (REVERSE SIZE) is the reverse of mailbox order.
    for (let n = 1; n <= 6; n++) await ts.deliver('alice', 'INBOX', message([`Subject: m${n}`, '', 'x'.repeat(n * 10)]), n % 2 === 0 ? ['\\Seen'] : []);
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
    await c.run('x EXPUNGE', ['* 1 EXPUNGE', 'x OK EXPUNGE completed']);
  });
  after(async () => {
    await ts.close();
  });

  test('is advertised', async () => {
    c.send('a CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY .* PARTIAL( |$)/);
    await c.expect(['a OK CAPABILITY completed']);
  });

  test('SEARCH and UID SEARCH: windows from the first and from the last result', async () => {
    await c.run('a UID SEARCH RETURN (PARTIAL 1:2) ALL', ['* ESEARCH (TAG "a") UID PARTIAL (1:2 2:3)', 'a OK UID SEARCH completed']);
    await c.run('b SEARCH RETURN (PARTIAL 1:2) ALL', ['* ESEARCH (TAG "b") PARTIAL (1:2 1:2)', 'b OK SEARCH completed']);
    await c.run('c UID SEARCH RETURN (PARTIAL -1:-2) ALL', ['* ESEARCH (TAG "c") UID PARTIAL (-1:-2 6:7)', 'c OK UID SEARCH completed']);
    // The range is echoed as given; 3:2 is 2:3.
    await c.run('d SEARCH RETURN (PARTIAL 3:2) ALL', ['* ESEARCH (TAG "d") PARTIAL (3:2 2:3)', 'd OK SEARCH completed']);
    await c.run('e SEARCH RETURN (PARTIAL -2:-1) UNSEEN', ['* ESEARCH (TAG "e") PARTIAL (-2:-1 3,5)', 'e OK SEARCH completed']);
  });

  test('ranges beyond the results: what exists, or NIL', async () => {
    await c.run('a SEARCH RETURN (PARTIAL 5:100) ALL', ['* ESEARCH (TAG "a") PARTIAL (5:100 5:6)', 'a OK SEARCH completed']);
    await c.run('b UID SEARCH RETURN (PARTIAL 7:9) ALL', ['* ESEARCH (TAG "b") UID PARTIAL (7:9 NIL)', 'b OK UID SEARCH completed']);
    await c.run('c UID SEARCH RETURN (PARTIAL -5:-100) ALL', ['* ESEARCH (TAG "c") UID PARTIAL (-5:-100 2:3)', 'c OK UID SEARCH completed']);
    await c.run('d SEARCH RETURN (PARTIAL -7:-8) ALL', ['* ESEARCH (TAG "d") PARTIAL (-7:-8 NIL)', 'd OK SEARCH completed']);
    await c.run('e SEARCH RETURN (PARTIAL 1:10) SUBJECT nothing', ['* ESEARCH (TAG "e") PARTIAL (1:10 NIL)', 'e OK SEARCH completed']);
  });

  test('with MIN, MAX and COUNT', async () => {
    await c.run('a SEARCH RETURN (MIN MAX COUNT PARTIAL 2:3) ALL', ['* ESEARCH (TAG "a") MIN 1 MAX 6 COUNT 6 PARTIAL (2:3 2:3)', 'a OK SEARCH completed']);
  });

  test('SAVE: "$" holds the window, with MIN/MAX; with COUNT all found messages (table 1)', async () => {
    await c.run('a UID SEARCH RETURN (SAVE PARTIAL 2:3) ALL', ['* ESEARCH (TAG "a") UID PARTIAL (2:3 3:4)', 'a OK UID SEARCH completed']);
    await c.run('b UID SEARCH $', ['* SEARCH 3 4', 'b OK UID SEARCH completed']);
    await c.run('c UID SEARCH RETURN (SAVE MAX PARTIAL 1:1) ALL', ['* ESEARCH (TAG "c") UID MAX 7 PARTIAL (1:1 2)', 'c OK UID SEARCH completed']);
    await c.run('d UID SEARCH $', ['* SEARCH 2 7', 'd OK UID SEARCH completed']);
    await c.run('e UID SEARCH RETURN (SAVE COUNT PARTIAL 1:1) ALL', ['* ESEARCH (TAG "e") UID COUNT 6 PARTIAL (1:1 2)', 'e OK UID SEARCH completed']);
    await c.run('f UID SEARCH $', ['* SEARCH 2 3 4 5 6 7', 'f OK UID SEARCH completed']);
  });

  test('SORT and UID SORT: windows of the sorted list', async () => {
    await c.run('a SORT RETURN (PARTIAL 1:2) (REVERSE SIZE) UTF-8 ALL', ['* ESEARCH (TAG "a") PARTIAL (1:2 6,5)', 'a OK SORT completed']);
    await c.run('b UID SORT RETURN (PARTIAL -1:-3) (REVERSE SIZE) UTF-8 ALL', ['* ESEARCH (TAG "b") UID PARTIAL (-1:-3 4,3,2)', 'b OK UID SORT completed']);
    await c.run('c UID SORT RETURN (COUNT PARTIAL 6:9) (SIZE) UTF-8 ALL', ['* ESEARCH (TAG "c") UID COUNT 6 PARTIAL (6:9 7)', 'c OK UID SORT completed']);
    await c.run('d SORT RETURN (PARTIAL 9:10) (SIZE) UTF-8 ALL', ['* ESEARCH (TAG "d") PARTIAL (9:10 NIL)', 'd OK SORT completed']);
  });

  test('UID FETCH (PARTIAL): only that window of the set, before CHANGEDSINCE', async () => {
    await c.run('a UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)', ['* 5 FETCH (UID 6 FLAGS ())', '* 6 FETCH (UID 7 FLAGS (\\Seen))', 'a OK UID FETCH completed']);
    await c.run('b UID FETCH 3:100 (FLAGS) (PARTIAL 1:2)', ['* 2 FETCH (UID 3 FLAGS (\\Seen))', '* 3 FETCH (UID 4 FLAGS ())', 'b OK UID FETCH completed']);
    await c.run('c UID FETCH 1:* (FLAGS) (PARTIAL 10:20)', ['c OK UID FETCH completed']);
    // The last three, then only those changed since 1 (all are): order of modifiers does not matter.
    await c.run('d UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 PARTIAL -1:-3)', [
      '* OK [HIGHESTMODSEQ %d] Highest',
      '* 4 FETCH (UID 5 MODSEQ (%d) FLAGS (\\Seen))',
      '* 5 FETCH (UID 6 MODSEQ (%d) FLAGS ())',
      '* 6 FETCH (UID 7 MODSEQ (%d) FLAGS (\\Seen))',
      'd OK UID FETCH completed',
    ]);
  });

  test('errors the grammar names', async () => {
    // One PARTIAL or one ALL, not both, nor two PARTIALs (3.1).
    await c.run('a SEARCH RETURN (PARTIAL 1:2 ALL) ALL', ['a BAD At most one PARTIAL or ALL return option is allowed']);
    await c.run('b SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL', ['b BAD At most one PARTIAL or ALL return option is allowed']);
    await c.run('c SORT RETURN (ALL PARTIAL 1:2) (SIZE) UTF-8 ALL', ['c BAD At most one PARTIAL or ALL return option is allowed']);
    // partial-range: nz-number ":" nz-number, or both negative; no "*".
    await c.run('d SEARCH RETURN (PARTIAL 0:2) ALL', ['d BAD Expected partial range start, found 0']);
    await c.run('e SEARCH RETURN (PARTIAL -1:2) ALL', ["e BAD Expected '-' (both ends of a partial range have the same sign), found '2)'"]);
    await c.run('f SEARCH RETURN (PARTIAL 1:*) ALL', ["f BAD Expected partial range end, found '*)'"]);
    await c.run('g SEARCH RETURN (PARTIAL) ALL', ['g BAD Expected SP after PARTIAL']);
    // The FETCH modifier exists for UID FETCH only (3.3).
    await c.run('h FETCH 1:* (FLAGS) (PARTIAL 1:2)', ['h BAD PARTIAL is only allowed with UID FETCH']);
    await c.run('i UID FETCH 1:* (FLAGS) (PARTIAL 1:2 PARTIAL 1:2)', ['i BAD PARTIAL given twice']);
  });
});
