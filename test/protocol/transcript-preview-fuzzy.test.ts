// Transcripts: the pre-RFC 8970 preview forms Dovecot 2.3 still offers,
// PREVIEW=FUZZY (draft-ietf-extra-imap-fetch-preview: FETCH PREVIEW (FUZZY))
// and SNIPPET=FUZZY (draft-slusarz-imap-fetch-snippet: FETCH SNIPPET (FUZZY)),
// both answered "<name> (FUZZY text)" from the same stored preview as RFC 8970's
// PREVIEW, which keeps its own answer form.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { capabilityList, recordBlobReads, startTestServer, type Client, type TestServer } from './transcript.js';
import { HTML_MESSAGE, PICTURE_MESSAGE, PLAIN_MESSAGE } from './preview-messages.js';

const HELLO = 'Hello there, see you tomorrow.';

describe('PREVIEW=FUZZY and SNIPPET=FUZZY', () => {
  let ts: TestServer;
  let c: Client;
  let reads: Array<{ blobId: string }> = [];
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', PLAIN_MESSAGE);
    await ts.deliver('alice', 'INBOX', HTML_MESSAGE);
    await ts.deliver('alice', 'INBOX', PICTURE_MESSAGE);
    // Every read through the BlobStore port is recorded: previews come from the stored index.
    reads = recordBlobReads(ts.blobs);
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('advertised next to PREVIEW', async () => {
    c.send('cap CAPABILITY\r\n');
    const caps = await capabilityList(c);
    for (const cap of ['PREVIEW', 'PREVIEW=FUZZY', 'SNIPPET=FUZZY']) assert.ok(caps.includes(cap), `${cap} in ${caps.join(' ')}`);
  });

  test('PREVIEW (FUZZY) and PREVIEW (LAZY=FUZZY) answer in the draft form', async () => {
    reads.length = 0;
    await c.run('a FETCH 1 (PREVIEW (FUZZY))', [`* 1 FETCH (PREVIEW (FUZZY "${HELLO}"))`, 'a OK FETCH completed']);
    await c.run('b FETCH 1,3 (UID PREVIEW (LAZY=FUZZY))', [
      `* 1 FETCH (UID 1 PREVIEW (FUZZY "${HELLO}"))`,
      '* 3 FETCH (UID 3 PREVIEW (FUZZY ""))',
      'b OK FETCH completed',
    ]);
    await c.run('c fetch 1 preview (lazy fuzzy)', [`* 1 FETCH (PREVIEW (FUZZY "${HELLO}"))`, 'c OK FETCH completed']);
    assert.deepEqual(reads, []);
  });

  test('SNIPPET, with or without (FUZZY), answers SNIPPET (FUZZY text)', async () => {
    reads.length = 0;
    await c.run('a FETCH 1 (SNIPPET (FUZZY))', [`* 1 FETCH (SNIPPET (FUZZY "${HELLO}"))`, 'a OK FETCH completed']);
    await c.run('b UID FETCH 3 SNIPPET (LAZY=FUZZY)', ['* 3 FETCH (UID 3 SNIPPET (FUZZY ""))', 'b OK UID FETCH completed']);
    await c.run('c FETCH 1 SNIPPET', [`* 1 FETCH (SNIPPET (FUZZY "${HELLO}"))`, 'c OK FETCH completed']);
    assert.deepEqual(reads, []);
  });

  test('RFC 8970 forms keep the RFC answer, in the same FETCH as the draft forms', async () => {
    await c.run('a FETCH 1 (FLAGS PREVIEW SNIPPET (FUZZY) PREVIEW (FUZZY) PREVIEW (LAZY))', [
      `* 1 FETCH (FLAGS () PREVIEW "${HELLO}" SNIPPET (FUZZY "${HELLO}") PREVIEW (FUZZY "${HELLO}") PREVIEW "${HELLO}")`,
      'a OK FETCH completed',
    ]);
  });

  test('UTF-8 text is a literal inside the FUZZY list for an IMAP4rev1 client, quoted for IMAP4rev2', async () => {
    const text = 'Café & crème';
    await c.run('a FETCH 2 (SNIPPET (FUZZY))', [`* 2 FETCH (SNIPPET (FUZZY {${Buffer.byteLength(text)}}`, `${text}))`, 'a OK FETCH completed']);
    const d = await ts.login();
    await d.run('a ENABLE IMAP4rev2', ['* ENABLED IMAP4rev2', 'a OK ENABLE completed']);
    d.send('s EXAMINE INBOX\r\n');
    await d.until('s');
    await d.run('b FETCH 2 PREVIEW (FUZZY)', [`* 2 FETCH (PREVIEW (FUZZY "${text}"))`, 'b OK FETCH completed']);
    await d.run('c LOGOUT', ['* BYE Logging out', 'c OK LOGOUT completed']);
  });

  test('an unknown algorithm or modifier is a syntax error', async () => {
    c.send('a FETCH 1 (PREVIEW (FUZZY=BUZZY))\r\n');
    await c.expectMatch(/^a BAD /);
    c.send('b FETCH 1 (SNIPPET (FUZZY EAGER))\r\n');
    await c.expectMatch(/^b BAD /);
    c.send('c FETCH 1 (PREVIEW (LAZY FUZZY=BUZZY))\r\n');
    await c.expectMatch(/^c BAD /);
  });
});
