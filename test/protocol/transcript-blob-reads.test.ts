// Parse once, at ingest (ARCHITECTURE decision 1): FETCH of FLAGS, ENVELOPE,
// BODYSTRUCTURE, INTERNALDATE and RFC822.SIZE never reads the message blob,
// and BODY[n] reads exactly the byte range of part n.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ByteRange } from '../../src/mail/ports.js';
import { message, recordBlobReads, startTestServer, type Client, type TestServer } from './transcript.js';

const MSG = message([
  'From: a@example.com',
  'Subject: parts',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="B"',
  '',
  '--B',
  'Content-Type: text/plain',
  '',
  'first part',
  '--B',
  'Content-Type: text/plain',
  '',
  'second part',
  '--B--',
]);

describe('FETCH reads from the blob only what it must', () => {
  let ts: TestServer;
  let c: Client;
  let reads: Array<{ blobId: string; range: ByteRange | undefined }> = [];

  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', MSG);
    reads = recordBlobReads(ts.blobs);
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('FLAGS, ENVELOPE, BODYSTRUCTURE, BODY, INTERNALDATE, RFC822.SIZE: no blob read', async () => {
    reads.length = 0;
    c.send('a FETCH 1 (FLAGS ENVELOPE BODYSTRUCTURE BODY INTERNALDATE RFC822.SIZE UID)\r\n');
    const lines = await c.until('a');
    assert.match(lines.at(-1)!, /^a OK/);
    assert.deepEqual(reads, []);
  });

  test('BODY[2] reads exactly the second part', async () => {
    reads.length = 0;
    c.send('b FETCH 1 (BODY.PEEK[2])\r\n');
    const lines = await c.until('b');
    assert.match(lines.at(-1)!, /^b OK/);
    const start = MSG.indexOf('second part');
    assert.deepEqual(
      reads.map((r) => r.range),
      [{ start, end: start + 'second part'.length }],
    );
  });
});
