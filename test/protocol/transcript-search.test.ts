// Transcripts: SEARCH / UID SEARCH keys, CHARSET, ESEARCH RETURN options,
// SAVE and "$" (RFC 9051 6.4.4, RFC 4731, RFC 5182).

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

describe('SEARCH', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', message(['From: Bob <bob@example.com>', 'Subject: lunch plans', '', 'Shall we eat?']), ['\\Seen']);
    await ts.deliver('alice', 'INBOX', message(['From: carol@example.org', 'Subject: Report', '', 'The quarterly report is attached.']), ['\\Flagged']);
    await ts.deliver('alice', 'INBOX', message(['From: bob@example.com', 'Subject: Re: lunch plans', '', 'Yes, noon.']));
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('plain SEARCH for IMAP4rev1', async () => {
    await c.run('a SEARCH ALL', ['* SEARCH 1 2 3', 'a OK SEARCH completed']);
    await c.run('b SEARCH UNSEEN', ['* SEARCH 2 3', 'b OK SEARCH completed']);
    await c.run('c SEARCH FROM bob SUBJECT LUNCH', ['* SEARCH 1 3', 'c OK SEARCH completed']);
    await c.run('d SEARCH OR FLAGGED SEEN', ['* SEARCH 1 2', 'd OK SEARCH completed']);
    await c.run('e SEARCH NOT 1:2', ['* SEARCH 3', 'e OK SEARCH completed']);
    await c.run('f UID SEARCH BODY quarterly', ['* SEARCH 2', 'f OK UID SEARCH completed']);
    await c.run('g SEARCH CHARSET UTF-8 TEXT noon', ['* SEARCH 3', 'g OK SEARCH completed']);
    await c.run('h SEARCH CHARSET KOI8-R TEXT noon', ['h NO [BADCHARSET ("UTF-8" "US-ASCII")] Unsupported charset']);
    await c.run('i SEARCH RECENT', ['* SEARCH', 'i OK SEARCH completed']);
    await c.run('j SEARCH NEW', ['* SEARCH', 'j OK SEARCH completed']);
    await c.run('k SEARCH 2:* UID 1:2', ['* SEARCH 2', 'k OK SEARCH completed']);
    await c.run('l SEARCH LARGER 10000', ['* SEARCH', 'l OK SEARCH completed']);
  });

  test('ESEARCH with RETURN options, SAVE and $', async () => {
    await c.run('a SEARCH RETURN (MIN MAX COUNT) ALL', ['* ESEARCH (TAG "a") MIN 1 MAX 3 COUNT 3', 'a OK SEARCH completed']);
    await c.run('b UID SEARCH RETURN () UNSEEN', ['* ESEARCH (TAG "b") UID ALL 2:3', 'b OK UID SEARCH completed']);
    await c.run('c SEARCH RETURN (COUNT) LARGER 10000', ['* ESEARCH (TAG "c") COUNT 0', 'c OK SEARCH completed']);
    await c.run('d SEARCH RETURN (SAVE) FROM bob', ['d OK SEARCH completed']);
    await c.run('e FETCH $ UID', ['* 1 FETCH (UID 1)', '* 3 FETCH (UID 3)', 'e OK FETCH completed']);
    await c.run('f SEARCH RETURN (SAVE MIN) FROM bob', ['* ESEARCH (TAG "f") MIN 1', 'f OK SEARCH completed']);
    await c.run('g UID FETCH $ UID', ['* 1 FETCH (UID 1)', 'g OK UID FETCH completed']);
    await c.run('h SEARCH RETURN (SAVE ALL) CHARSET KOI8-R TEXT x', ['h NO [BADCHARSET ("UTF-8" "US-ASCII")] Unsupported charset']);
    await c.run('i FETCH $ UID', ['i OK FETCH completed']);
    await c.run('j SEARCH RETURN (SAVE) SUBJECT report', ['j OK SEARCH completed']);
    await c.run('k SEARCH $ FLAGGED', ['* SEARCH 2', 'k OK SEARCH completed']);
  });

  test('IMAP4rev2 sessions get ESEARCH for a plain SEARCH', async () => {
    const d = await ts.login();
    await d.run('a ENABLE IMAP4rev2', ['* ENABLED IMAP4rev2', 'a OK ENABLE completed']);
    d.send('s SELECT INBOX\r\n');
    await d.until('s');
    await d.run('b SEARCH SEEN', ['* ESEARCH (TAG "b") ALL 1', 'b OK SEARCH completed']);
    await d.run('c UID SEARCH FLAGGED', ['* ESEARCH (TAG "c") UID ALL 2', 'c OK UID SEARCH completed']);
    await d.run('d SEARCH DRAFT', ['* ESEARCH (TAG "d")', 'd OK SEARCH completed']);
    // A new SELECT resets "$".
    await d.run('e SEARCH RETURN (SAVE) ALL', ['e OK SEARCH completed']);
    d.send('s2 SELECT INBOX\r\n');
    await d.until('s2');
    await d.run('f FETCH $ UID', ['f OK FETCH completed']);
  });
});
