// Transcripts: SORT / UID SORT (RFC 5256) with every criterion, REVERSE and
// ties, SORT=DISPLAY (RFC 5957), ESORT (RFC 5267) and THREAD ORDEREDSUBJECT /
// REFERENCES. Six messages, appended with chosen INTERNALDATEs after one
// expunged message, so UIDs are MSN + 1.
//
// Sent dates (UTC): 1 Jan 2 10:00, 2 Jan 2 10:30, 3 none (INTERNALDATE Jan 5),
// 4 Jan 2 04:00, 5 Jan 3 00:00, 6 Jan 1 12:00.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const pad = (n: number): string => 'x'.repeat(n);

const MESSAGES: Array<[string, string[]]> = [
  [
    '10-Jan-2023 00:00:00 +0000',
    ['From: "Zoe" <zoe@b.example>', 'To: amy@x.example', 'Cc: carl@x.example', 'Subject: Lunch', 'Date: Mon, 2 Jan 2023 10:00:00 +0000', 'Message-ID: <m1@x>', '', pad(900)],
  ],
  [
    '08-Jan-2023 00:00:00 +0000',
    ['From: =?UTF-8?Q?=C3=84rne?= <bert@a.example>', 'To: Bob <bob@x.example>', 'Subject: Re: lunch', 'Date: Mon, 2 Jan 2023 09:30:00 -0100', 'Message-ID: <m2@x>', 'In-Reply-To: <m1@x>', '', pad(100)],
  ],
  ['05-Jan-2023 00:00:00 +0000', ['From: adam@c.example', 'Message-ID: <m3@x>', '', pad(500)]],
  [
    '09-Jan-2023 00:00:00 +0000',
    ['From: Carl <carl@x.example>', 'To: Dan <aaron@x.example>', 'Cc: bob@x.example', 'Subject: [list] Fwd: Lunch', 'Date: Sun, 1 Jan 2023 23:00:00 -0500', 'Message-ID: <m4@x>', 'References: <gone@x>', '', pad(300)],
  ],
  [
    '07-Jan-2023 00:00:00 +0000',
    ['From: "Bob" <zoe@a.example>', 'To: amy@x.example', 'Subject: Report', 'Date: Tue, 3 Jan 2023 00:00:00 +0000', 'Message-ID: <"m5"@x>', 'References: <gone@x>', '', pad(700)],
  ],
  [
    '07-Jan-2023 00:00:00 +0000',
    ['To: zed@x.example', 'Subject: Re: Report', 'Date: Sun, 1 Jan 2023 12:00:00 +0000', 'Message-ID: <m6@x>', 'References: <m5@x>', '', pad(1100)],
  ],
];

async function append(c: Client, tag: string, date: string, data: string): Promise<void> {
  c.send(`${tag} APPEND INBOX "${date}" {${Buffer.byteLength(data)}}\r\n`);
  await c.expectMatch(/^\+ /);
  c.send(data + '\r\n');
  await c.expectMatch(new RegExp(`^${tag} OK `));
}

describe('SORT and THREAD', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', message(['Subject: gone', '', 'x']), ['\\Deleted']);
    c = await ts.login();
    for (const [i, [date, lines]] of MESSAGES.entries()) await append(c, `p${i}`, date, message(lines));
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
    await c.run('x EXPUNGE', ['* 1 EXPUNGE', 'x OK EXPUNGE completed']);
  });
  after(async () => {
    await ts.close();
  });

  test('capabilities are advertised', async () => {
    c.send('a CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY .* SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES( |$)/);
    await c.expect(['a OK CAPABILITY completed']);
  });

  test('each sort criterion, with ties by sequence number', async () => {
    await c.run('a SORT (ARRIVAL) UTF-8 ALL', ['* SORT 3 5 6 2 4 1', 'a OK SORT completed']);
    await c.run('b SORT (DATE) UTF-8 ALL', ['* SORT 6 4 1 2 5 3', 'b OK SORT completed']);
    await c.run('c SORT (SIZE) UTF-8 ALL', ['* SORT 2 4 3 5 1 6', 'c OK SORT completed']);
    // Missing From (6) is the empty string and sorts first; zoe ties (1, 5).
    await c.run('d SORT (FROM) UTF-8 ALL', ['* SORT 6 3 2 4 1 5', 'd OK SORT completed']);
    await c.run('e SORT (TO) UTF-8 ALL', ['* SORT 3 4 1 5 2 6', 'e OK SORT completed']);
    await c.run('f SORT (CC) UTF-8 ALL', ['* SORT 2 3 5 6 4 1', 'f OK SORT completed']);
    // Base subjects: '' (3), LUNCH (1 2 4), REPORT (5 6).
    await c.run('g SORT (SUBJECT) US-ASCII ALL', ['* SORT 3 1 2 4 5 6', 'g OK SORT completed']);
  });

  test('DISPLAYFROM / DISPLAYTO use the decoded display name, else the address', async () => {
    // '' < ADAM@C.EXAMPLE < ÄRNE (A + U+0308 after NFKD) < BOB < CARL < ZOE
    await c.run('a SORT (DISPLAYFROM) UTF-8 ALL', ['* SORT 6 3 2 5 4 1', 'a OK SORT completed']);
    await c.run('b SORT (DISPLAYTO) UTF-8 ALL', ['* SORT 3 1 5 2 4 6', 'b OK SORT completed']);
  });

  test('REVERSE reverses one criterion only', async () => {
    // 5 and 6 arrived at the same time: still in sequence order.
    await c.run('a SORT (REVERSE ARRIVAL) UTF-8 ALL', ['* SORT 1 4 2 5 6 3', 'a OK SORT completed']);
    await c.run('b SORT (REVERSE FROM) UTF-8 ALL', ['* SORT 1 5 4 2 3 6', 'b OK SORT completed']);
    await c.run('c SORT (SUBJECT REVERSE DATE) UTF-8 ALL', ['* SORT 3 2 1 4 5 6', 'c OK SORT completed']);
    await c.run('d SORT (FROM SIZE) UTF-8 ALL', ['* SORT 6 3 2 4 5 1', 'd OK SORT completed']);
    await c.run('e SORT (FROM REVERSE SIZE) UTF-8 ALL', ['* SORT 6 3 2 4 1 5', 'e OK SORT completed']);
  });

  test('search criteria, UID SORT, charsets', async () => {
    await c.run('a SORT (REVERSE DATE) UTF-8 FROM zoe', ['* SORT 5 1', 'a OK SORT completed']);
    await c.run('b UID SORT (DATE) UTF-8 ALL', ['* SORT 7 5 2 3 6 4', 'b OK UID SORT completed']);
    await c.run('c SORT (DATE) UTF-8 SUBJECT nothing-like-this', ['* SORT', 'c OK SORT completed']);
    await c.run('d SORT (DATE) KOI8-R ALL', ['d NO [BADCHARSET ("UTF-8" "US-ASCII")] Unsupported charset']);
    await c.run('e SORT (NAME) UTF-8 ALL', ['e BAD Unknown sort criterion NAME']);
    await c.run('f SORT (DATE) UTF-8 2:4', ['* SORT 4 2 3', 'f OK SORT completed']);
  });

  test('ESORT: RETURN options answered with ESEARCH in sort order', async () => {
    await c.run('a SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL', ['* ESEARCH (TAG "a") MIN 6 MAX 3 COUNT 6 ALL 6,4,1:2,5,3', 'a OK SORT completed']);
    await c.run('b UID SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL', ['* ESEARCH (TAG "b") UID ALL 2,5,3,6:7,4', 'b OK UID SORT completed']);
    await c.run('c SORT RETURN (COUNT) (DATE) UTF-8 FROM nobody', ['* ESEARCH (TAG "c") COUNT 0', 'c OK SORT completed']);
    await c.run('d SORT RETURN (MIN) (SIZE) UTF-8 FROM nobody', ['* ESEARCH (TAG "d")', 'd OK SORT completed']);
    await c.run('e SORT RETURN (SAVE) (SIZE) UTF-8 FROM zoe', ['e OK SORT completed']);
    await c.run('f UID SEARCH $', ['* SEARCH 2 6', 'f OK UID SEARCH completed']);
  });

  test('THREAD ORDEREDSUBJECT', async () => {
    // REPORT (6, 5) starts Jan 1, LUNCH (4, 1, 2) Jan 2, '' (3) Jan 5.
    await c.run('a THREAD ORDEREDSUBJECT UTF-8 ALL', ['* THREAD (6 5)(4 (1)(2))(3)', 'a OK THREAD completed']);
    await c.run('b UID THREAD ORDEREDSUBJECT UTF-8 ALL', ['* THREAD (7 6)(5 (2)(3))(4)', 'b OK UID THREAD completed']);
    await c.run('c THREAD ORDEREDSUBJECT UTF-8 FROM nobody', ['* THREAD', 'c OK THREAD completed']);
  });

  test('THREAD REFERENCES: dummy parent and subject merge', async () => {
    // 4 and 5 reference the missing <gone@x> (a dummy parent); 6 replies to 5 (quoted id);
    // 2 replies to 1 by In-Reply-To. The dummy's thread subject (its earliest child, 4) is
    // LUNCH, so 1's thread is merged under the dummy (RFC 5256 step 5).
    await c.run('a THREAD REFERENCES UTF-8 ALL', ['* THREAD ((4)(1 2)(5 6))(3)', 'a OK THREAD completed']);
    await c.run('b UID THREAD REFERENCES UTF-8 ALL', ['* THREAD ((5)(2 3)(6 7))(4)', 'b OK UID THREAD completed']);
    // Only the searched messages are threaded: 4 alone under the dummy is promoted to the
    // top; it is a forward ("Fwd:") of the same base subject as 1, which is not, so 4
    // becomes 1's child (step 5.C) and sorts before 2 by sent date.
    await c.run('c THREAD REFERENCES UTF-8 1:4', ['* THREAD (1 (4)(2))(3)', 'c OK THREAD completed']);
    await c.run('d THREAD REFERENCES KOI8-R ALL', ['d NO [BADCHARSET ("UTF-8" "US-ASCII")] Unsupported charset']);
    await c.run('e THREAD XYZ UTF-8 ALL', ['e BAD Unknown threading algorithm XYZ']);
  });

  // Last: a MODSEQ search enables CONDSTORE for the rest of the session.
  test('MODSEQ search key: SORT and ESORT carry the highest MODSEQ (RFC 7162 3.1.9, 3.1.10)', async () => {
    const fetched = await (async () => {
      c.send('f FETCH 1:6 (MODSEQ)\r\n');
      return c.until('f');
    })();
    // FETCH MODSEQ enables CONDSTORE too; the values are the store's, read back here.
    const modseqs = fetched.filter((l) => /^\* \d+ FETCH /.test(l)).map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1]));
    assert.equal(modseqs.length, 6);
    const max = Math.max(...modseqs);
    const maxOf = (seqs: number[]) => Math.max(...seqs.map((s) => modseqs[s - 1]!));
    await c.run('a SORT (DATE) UTF-8 MODSEQ 1', [`* SORT 6 4 1 2 5 3 (MODSEQ ${max})`, 'a OK SORT completed']);
    await c.run('b SORT (DATE) UTF-8 MODSEQ 1 FROM nobody', ['* SORT', 'b OK SORT completed']);
    await c.run('c SORT RETURN (ALL) (REVERSE SIZE) UTF-8 MODSEQ 1 FROM zoe', [`* ESEARCH (TAG "c") ALL 1,5 MODSEQ ${maxOf([1, 5])}`, 'c OK SORT completed']);
    await c.run('d SORT RETURN (MIN) (SIZE) UTF-8 MODSEQ 1', [`* ESEARCH (TAG "d") MIN 2 MODSEQ ${maxOf([2])}`, 'd OK SORT completed']);
    await c.run('e THREAD ORDEREDSUBJECT UTF-8 MODSEQ 1 FROM zoe', ['* THREAD (1)(5)', 'e OK THREAD completed']);
  });
});
