// Transcripts: THREAD=REFS, Dovecot 2.3's variant of REFERENCES (after
// draft-ietf-morg-inthread): the same parent/child links and child order, but
// no gathering of threads by subject (RFC 5256 step 5), and threads ordered by
// their newest message's sent date; a thread whose first message is missing
// comes first among equal dates (Dovecot compares such dummies as UID 0).

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

function mail(id: string, subject: string, date: string, refs: string | null): string {
  return message([
    'From: a@example.com',
    `Subject: ${subject}`,
    `Date: ${date}`,
    `Message-ID: <${id}@x>`,
    ...(refs === null ? [] : [`References: <${refs}@x>`]),
    '',
    'body',
  ]);
}

describe('THREAD REFS', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    const messages = [
      mail('a', 'alpha', 'Wed, 01 Jan 2020 10:00:00 +0000', null),
      mail('b', 'beta', 'Thu, 02 Jan 2020 08:00:00 +0000', null),
      mail('c', 'Re: alpha', 'Sun, 05 Jan 2020 08:00:00 +0000', 'a'),
      // Same subject as 2: REFERENCES gathers them, REFS does not.
      mail('d', 'beta', 'Fri, 03 Jan 2020 08:00:00 +0000', null),
      // 5 and 6 answer a message that is not there: a dummy with two children.
      mail('e', 'gamma', 'Wed, 01 Jan 2020 09:00:00 +0000', 'missing'),
      mail('f', 'Re: gamma', 'Fri, 03 Jan 2020 12:00:00 +0000', 'missing'),
      // A dummy with one child, sent at the same second as 2.
      mail('g', 'delta', 'Thu, 02 Jan 2020 08:00:00 +0000', 'gone'),
      // An earlier second reply to 1.
      mail('h', 'Re: alpha', 'Sat, 04 Jan 2020 08:00:00 +0000', 'a'),
    ];
    for (const m of messages) await ts.deliver('alice', 'INBOX', m);
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('advertised after THREAD=REFERENCES', async () => {
    c.send('cap CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY .* THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS( |$)/);
    await c.expect(['cap OK CAPABILITY completed']);
  });

  test('threads by newest message, no subject gathering; REFERENCES for comparison', async () => {
    await c.run('a THREAD REFS UTF-8 ALL', ['* THREAD (7)(2)(4)((5)(6))(1 (8)(3))', 'a OK THREAD completed']);
    await c.run('b THREAD REFERENCES UTF-8 ALL', ['* THREAD ((5)(6))(1 (8)(3))((2)(4))(7)', 'b OK THREAD completed']);
  });

  test('UID THREAD REFS and a search key', async () => {
    await c.run('a UID THREAD REFS UTF-8 ALL', ['* THREAD (7)(2)(4)((5)(6))(1 (8)(3))', 'a OK UID THREAD completed']);
    // Without 3, the alpha thread's newest message is 8 (4 Jan): still after 6 (3 Jan 12:00).
    await c.run('b THREAD REFS UTF-8 NOT 3', ['* THREAD (7)(2)(4)((5)(6))(1 8)', 'b OK THREAD completed']);
    await c.run('e THREAD REFS UTF-8 1:4', ['* THREAD (2)(4)(1 3)', 'e OK THREAD completed']);
    await c.run('c thread refs utf-8 SUBJECT beta', ['* THREAD (2)(4)', 'c OK THREAD completed']);
    await c.run('d THREAD REFS UTF-8 FROM nobody', ['* THREAD', 'd OK THREAD completed']);
  });
});
