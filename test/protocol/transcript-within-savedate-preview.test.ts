// Transcripts: SEARCH OLDER / YOUNGER (WITHIN, RFC 5032), save dates (FETCH
// SAVEDATE and the SAVED* search keys, RFC 8514), and FETCH PREVIEW (RFC 8970),
// which is answered from the stored index without reading the message blob.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compileSearch, type SearchColumns, type SearchDialect } from '../../src/mail/search.js';
import { capabilityList, message, recordBlobReads, startTestServer, type Client, type TestServer } from './transcript.js';
import { HTML_MESSAGE, PICTURE_MESSAGE, PLAIN_MESSAGE } from './preview-messages.js';

const OLD_MSG = message(['From: old@example.com', 'Subject: ancient', '', 'From the archive.']);
const NEW_MSG = message(['From: new@example.com', 'Subject: fresh', '', 'Just arrived.']);

/** APPENDs `msg` with an explicit INTERNALDATE, using a non-synchronising literal. */
async function appendAt(c: Client, tag: string, mailbox: string, date: string, msg: string, uid: number): Promise<void> {
  await c.run(`${tag} APPEND ${mailbox} "${date}" {${Buffer.byteLength(msg)}+}\r\n${msg}`, [
    `${tag} OK [APPENDUID %d ${uid}] APPEND completed`,
  ]);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An IMAP date ("d-Mon-yyyy") of `t`'s day in the server's (local) time zone, the day SAVEDON compares. */
function localImapDay(t: Date): string {
  return `${t.getDate()}-${MONTHS[t.getMonth()]}-${t.getFullYear()}`;
}

/** Parses an IMAP date-time ("dd-Mon-yyyy hh:mm:ss +zzzz"). */
function parseDateTime(s: string): Date {
  const m = /^ ?(\d{1,2})-([A-Z][a-z]{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  assert.ok(m, `a date-time: ${s}`);
  const utc = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9])) * 60000;
  return new Date(utc - offset);
}

describe('WITHIN: SEARCH OLDER / YOUNGER', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    c = await ts.login();
    await appendAt(c, 'p1', 'INBOX', '01-Jan-2001 12:00:00 +0000', OLD_MSG, 1);
    // Delivered now: its INTERNALDATE is the current time.
    await ts.deliver('alice', 'INBOX', NEW_MSG);
    await appendAt(c, 'p2', 'INBOX', '01-Jan-2099 12:00:00 +0000', NEW_MSG, 3);
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('advertised', async () => {
    c.send('cap CAPABILITY\r\n');
    const caps = await capabilityList(c);
    assert.ok(caps.includes('WITHIN'), caps.join(' '));
  });

  test('OLDER matches old INTERNALDATEs, YOUNGER recent (and future) ones', async () => {
    await c.run('a SEARCH OLDER 86400', ['* SEARCH 1', 'a OK SEARCH completed']);
    await c.run('b SEARCH YOUNGER 86400', ['* SEARCH 2 3', 'b OK SEARCH completed']);
    await c.run('c UID SEARCH NOT OLDER 86400', ['* SEARCH 2 3', 'c OK UID SEARCH completed']);
    await c.run('d SEARCH OR OLDER 86400 SUBJECT nothing-like-this', ['* SEARCH 1', 'd OK SEARCH completed']);
    await c.run('e SEARCH YOUNGER 86400 SINCE 1-Jan-2098', ['* SEARCH 3', 'e OK SEARCH completed']);
    // 30 years back reaches 2001-01-01 from any date before 2031.
    await c.run('f SEARCH YOUNGER 946080000 OLDER 86400', ['* SEARCH 1', 'f OK SEARCH completed']);
    await c.run('h SEARCH NOT YOUNGER 946080000', ['* SEARCH', 'h OK SEARCH completed']);
    await c.run('g SEARCH RETURN (COUNT) OLDER 86400', ['* ESEARCH (TAG "g") COUNT 1', 'g OK SEARCH completed']);
  });

  test('the interval is a non-zero number', async () => {
    await c.run('a SEARCH OLDER 0', ['a BAD Expected number of seconds, found 0']);
  });

  test('SORT uses the same search keys', async () => {
    await c.run('a SORT (REVERSE ARRIVAL) UTF-8 YOUNGER 86400', ['* SORT 3 2', 'a OK SORT completed']);
    await c.run('b UID SORT (SUBJECT) UTF-8 OLDER 86400', ['* SORT 1', 'b OK UID SORT completed']);
  });
});

describe('WITHIN: the comparison is to the second, inclusive (RFC 5032 2)', () => {
  const dialect: SearchDialect = {
    placeholder: () => '?',
    contains: (h, n) => `${h} LIKE ${n}`,
    headerHas: (t, f, v) => `has(${t}, ${f}, ${v})`,
    inJsonRanges: (c, j) => `in(${c}, ${j})`,
  };
  const cols: SearchColumns = {
    uid: 'uid',
    modseq: 'modseq',
    systemFlags: 'flags',
    keywords: 'kw',
    internalDate: 'idate',
    saveDate: 'sdate',
    size: 'size',
    blobId: 'blob',
    sentDay: 'sent',
    headerText: 'hdr',
    bodyText: 'body',
  };
  const now = Date.UTC(2026, 0, 2, 0, 0, 0) + 750; // mid-second
  const target = Date.UTC(2026, 0, 1, 0, 0, 0); // now - 86400 s, to the second

  test('OLDER: INTERNALDATE at or before the target second', () => {
    const q = compileSearch({ kind: 'age', op: 'older', seconds: 86400 }, dialect, cols, now);
    assert.equal(q.sql, '(idate < ?)');
    assert.deepEqual(q.params, [target + 1000]);
  });

  test('YOUNGER: INTERNALDATE at or after the target second', () => {
    const q = compileSearch({ kind: 'age', op: 'younger', seconds: 86400 }, dialect, cols, now);
    assert.equal(q.sql, '(idate >= ?)');
    assert.deepEqual(q.params, [target]);
  });
});

describe('SAVEDATE', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    c = await ts.login();
    await c.run('m CREATE Kept', ['m OK [MAILBOXID (%s)] CREATE completed']);
    await appendAt(c, 'p1', 'INBOX', '01-Jan-2001 12:00:00 +0000', OLD_MSG, 1);
    await ts.deliver('alice', 'INBOX', NEW_MSG);
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('advertised', async () => {
    c.send('cap CAPABILITY\r\n');
    const caps = await capabilityList(c);
    assert.ok(caps.includes('SAVEDATE'), caps.join(' '));
  });

  test('FETCH SAVEDATE is when the message was saved, not its INTERNALDATE', async () => {
    const before = Date.now();
    c.send('a FETCH 1 (INTERNALDATE SAVEDATE)\r\n');
    const line = await c.expectMatch(/^\* 1 FETCH \(INTERNALDATE " 1-Jan-2001 12:00:00 \+0000" SAVEDATE "[^"]+"\)$/);
    await c.expect(['a OK FETCH completed']);
    const saved = parseDateTime(/SAVEDATE "([^"]+)"/.exec(line)![1]!);
    // Saved during this test run (the date-time has one-second resolution).
    assert.ok(saved.getTime() > before - 10 * 60_000 && saved.getTime() <= Date.now(), line);
    c.send('b UID FETCH 2 SAVEDATE\r\n');
    await c.expectMatch(/^\* 2 FETCH \(UID 2 SAVEDATE "[ \d]\d-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} \+0000"\)$/);
    await c.expect(['b OK UID FETCH completed']);
  });

  test('SAVEDBEFORE / SAVEDON / SAVEDSINCE compare the save date; BEFORE / ON / SINCE the INTERNALDATE', async () => {
    await c.run('a SEARCH BEFORE 1-Jan-2002', ['* SEARCH 1', 'a OK SEARCH completed']);
    await c.run('b SEARCH SAVEDBEFORE 1-Jan-2002', ['* SEARCH', 'b OK SEARCH completed']);
    await c.run('c SEARCH SINCE 1-Jan-2002', ['* SEARCH 2', 'c OK SEARCH completed']);
    await c.run('d SEARCH SAVEDSINCE 1-Jan-2002', ['* SEARCH 1 2', 'd OK SEARCH completed']);
    await c.run('e SEARCH ON 1-Jan-2001', ['* SEARCH 1', 'e OK SEARCH completed']);
    await c.run('f SEARCH SAVEDON 1-Jan-2001', ['* SEARCH', 'f OK SEARCH completed']);
    // The save day as the server counts days (local time), taken from the save date itself.
    c.send('g FETCH 1 SAVEDATE\r\n');
    const fetched = await c.until('g');
    const saved = parseDateTime(/SAVEDATE "([^"]+)"/.exec(fetched[0]!)![1]!);
    const day = localImapDay(saved);
    await c.run(`h SEARCH SAVEDON ${day} NOT SAVEDBEFORE ${day}`, ['* SEARCH 1 2', 'h OK SEARCH completed']);
    await c.run(`i SEARCH SAVEDBEFORE ${day}`, ['* SEARCH', 'i OK SEARCH completed']);
  });

  test('SAVEDATESUPPORTED matches every message', async () => {
    await c.run('a SEARCH SAVEDATESUPPORTED', ['* SEARCH 1 2', 'a OK SEARCH completed']);
    await c.run('b SEARCH NOT SAVEDATESUPPORTED', ['* SEARCH', 'b OK SEARCH completed']);
    await c.run('c SEARCH RETURN (COUNT) SAVEDATESUPPORTED', ['* ESEARCH (TAG "c") COUNT 2', 'c OK SEARCH completed']);
  });

  test('a COPY gets its own save date, and keeps its INTERNALDATE', async () => {
    await c.run('a COPY 1 Kept', ['a OK [COPYUID %d 1 1] COPY completed']);
    c.send('b SELECT Kept\r\n');
    await c.until('b');
    await c.run('c FETCH 1 INTERNALDATE', ['* 1 FETCH (INTERNALDATE " 1-Jan-2001 12:00:00 +0000")', 'c OK FETCH completed']);
    await c.run('d SEARCH SAVEDSINCE 1-Jan-2002 BEFORE 1-Jan-2002', ['* SEARCH 1', 'd OK SEARCH completed']);
    await c.run('e SEARCH SAVEDBEFORE 1-Jan-2002', ['* SEARCH', 'e OK SEARCH completed']);
  });
});

const LONG_WORDS = Array.from({ length: 60 }, (_, i) => `word${i}`).join('  \r\n');

describe('PREVIEW', () => {
  let ts: TestServer;
  let c: Client;
  let reads: Array<{ blobId: string }> = [];
  before(async () => {
    ts = await startTestServer();
    await ts.deliver('alice', 'INBOX', PLAIN_MESSAGE);
    await ts.deliver('alice', 'INBOX', message(['From: a@example.com', 'Subject: long', '', LONG_WORDS]));
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

  test('advertised', async () => {
    c.send('cap CAPABILITY\r\n');
    const caps = await capabilityList(c);
    assert.ok(caps.includes('PREVIEW'), caps.join(' '));
  });

  test('FETCH PREVIEW: text/plain with whitespace collapsed; empty string when there is no text', async () => {
    reads.length = 0;
    await c.run('a FETCH 1 (PREVIEW)', ['* 1 FETCH (PREVIEW "Hello there, see you tomorrow.")', 'a OK FETCH completed']);
    await c.run('b UID FETCH 4 PREVIEW', ['* 4 FETCH (UID 4 PREVIEW "")', 'b OK UID FETCH completed']);
    assert.deepEqual(reads, []);
  });

  test('HTML markup removed, UTF-8 unchanged (a literal for an IMAP4rev1 client)', async () => {
    reads.length = 0;
    const text = 'Café & crème';
    await c.run('a FETCH 3 PREVIEW', [`* 3 FETCH (PREVIEW {${Buffer.byteLength(text)}}`, `${text})`, 'a OK FETCH completed']);
    assert.deepEqual(reads, []);
  });

  test('IMAP4rev2 sessions get UTF-8 previews as quoted strings', async () => {
    const d = await ts.login();
    await d.run('a ENABLE IMAP4rev2', ['* ENABLED IMAP4rev2', 'a OK ENABLE completed']);
    d.send('s EXAMINE INBOX\r\n');
    await d.until('s');
    await d.run('b FETCH 3 PREVIEW', ['* 3 FETCH (PREVIEW "Café & crème")', 'b OK FETCH completed']);
    await d.run('c LOGOUT', ['* BYE Logging out', 'c OK LOGOUT completed']);
  });

  test('at most 200 characters (RFC 8970 3.3)', async () => {
    c.send('a FETCH 2 PREVIEW\r\n');
    const line = await c.expectMatch(/^\* 2 FETCH \(PREVIEW "[^"]*"\)$/);
    await c.expect(['a OK FETCH completed']);
    const preview = /PREVIEW "([^"]*)"/.exec(line)![1]!;
    assert.ok(preview.startsWith('word0 word1 word2 '), preview);
    assert.ok(preview.length <= 200 && preview.length > 150, `${preview.length} characters`);
  });

  test('PREVIEW (LAZY) answers from the index at once, never NIL', async () => {
    reads.length = 0;
    await c.run('a FETCH 1,4 (UID PREVIEW (LAZY))', [
      '* 1 FETCH (UID 1 PREVIEW "Hello there, see you tomorrow.")',
      '* 4 FETCH (UID 4 PREVIEW "")',
      'a OK FETCH completed',
    ]);
    await c.run('b FETCH 1 (FLAGS PREVIEW (LAZY) RFC822.SIZE)', [
      '* 1 FETCH (FLAGS () PREVIEW "Hello there, see you tomorrow." RFC822.SIZE %d)',
      'b OK FETCH completed',
    ]);
    assert.deepEqual(reads, []);
  });

  test('an unknown preview modifier is a syntax error', async () => {
    c.send('a FETCH 1 (PREVIEW (EAGER))\r\n');
    await c.expectMatch(/^a BAD /);
  });
});
