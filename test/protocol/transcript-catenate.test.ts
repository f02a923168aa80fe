// Transcripts for CATENATE (RFC 4469) with URL-PARTIAL (RFC 5550) and
// MULTIAPPEND (RFC 3502): a message built from TEXT literals (synchronizing
// and not, one larger than any in-memory literal) and relative IMAP URLs of
// whole messages, sections (HEADER, n.MIME, n, HEADER.FIELDS) and partial
// ranges; the exact bytes stored are checked. Errors the RFC names:
// NO [BADURL <url>] with the first bad URL (no such message/mailbox/part,
// wrong UIDVALIDITY, absolute URL, relative URL with nothing selected), and
// NO [TOOBIG] for a result over the limit; a NUL in a plain TEXT literal;
// TRYCREATE. A failed message makes the whole MULTIAPPEND fail. A URL may
// come as a literal, with APPEND and REPLACE.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from './transcript.js';

const LIMIT = 300_000;
const HEADER = message(['From: Bob <bar@example.org>', 'Subject: About our holiday trip', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="XX"', '']);
const PART1_MIME = 'Content-Type: text/plain; charset=us-ascii\r\n\r\n';
// A part's body ends before the CRLF that precedes its boundary (RFC 2046 5.1.1).
const PART1 = 'Our travel agent has sent the updated schedule.';
const PART2_MIME = 'Content-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n';
const PART2 = 'UEsDBAoAAAAAAA==';
const ORIGINAL = HEADER + '--XX\r\n' + PART1_MIME + PART1 + '\r\n--XX\r\n' + PART2_MIME + PART2 + '\r\n--XX--\r\n';

describe('CATENATE (RFC 4469) and URL-PARTIAL (RFC 5550)', () => {
  let ts: TestServer;
  let validity = 0;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob'], configure: (c) => (c.limits.maxMessageSize = LIMIT) });
    await ts.deliver('alice', 'INBOX', Buffer.from(ORIGINAL));
    const alice = await ts.repo.directory.findAccount('alice');
    const inbox = await ts.repo.store.getMailbox(alice!.id, 'INBOX');
    validity = inbox!.uidValidity;
    await ts.deliver('bob', 'INBOX', Buffer.from(ORIGINAL));
  });
  after(async () => {
    await ts.close();
  });

  /** The stored bytes of `uid` in alice's `mailbox`. */
  async function stored(mailbox: string, uid: number): Promise<string> {
    const alice = await ts.repo.directory.findAccount('alice');
    const box = await ts.repo.store.getMailbox(alice!.id, mailbox);
    const [meta] = await ts.repo.store.fetchMessages(box!.id, [{ start: uid, end: uid }]);
    assert.ok(meta, `message ${uid} in ${mailbox}`);
    return (await ts.blobs.readBuffer(meta.blobId)).toString('utf8');
  }

  test('advertised with URL-PARTIAL and MULTIAPPEND', async () => {
    const c = await ts.login();
    c.send('a CAPABILITY\r\n');
    const caps = (await c.expectMatch(/^\* CAPABILITY /)).split(' ');
    for (const cap of ['CATENATE', 'URL-PARTIAL', 'MULTIAPPEND']) assert.ok(caps.includes(cap), cap);
    await c.expect(['a OK CAPABILITY completed']);
  });

  test('replacing a part, as in RFC 4469 example 1: sections, synchronizing TEXT literals, exact bytes', async () => {
    const c = await ts.login();
    const boundary = '\r\n--XX\r\n';
    const end = '\r\n--XX--\r\n';
    c.send(`a APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "/INBOX;UIDVALIDITY=${validity}/;UID=1/;section=HEADER" TEXT {${boundary.length}}\r\n`);
    await c.expect(['+ Ready for literal']);
    c.send(`${boundary} URL "/INBOX;UIDVALIDITY=${validity}/;UID=1/;section=1.MIME" URL "/INBOX/;UID=1/;Section=1" TEXT {${end.length}}\r\n`);
    await c.expect(['+ Ready for literal']);
    c.send(`${end})\r\n`);
    await c.expect(['a OK [APPENDUID %d 1] APPEND completed']);
    assert.equal(await stored('Drafts', 1), HEADER + boundary + PART1_MIME + PART1 + end);
    await c.run('b STATUS Drafts (MESSAGES)', ['* STATUS Drafts (MESSAGES 1)', 'b OK STATUS completed']);
  });

  test('whole messages, HEADER.FIELDS, ;PARTIAL= ranges and a streamed 200 kB TEXT literal', async () => {
    const c = await ts.login();
    const big = 'z'.repeat(200_000);
    const url = (rest: string): string => `URL "/INBOX/;UID=1${rest}"`;
    c.send(
      `a APPEND Sent CATENATE (${url('/;SECTION=HEADER.FIELDS%20(subject%20From)')} TEXT {4+}\r\nab\r\n ${url('/;SECTION=1/;PARTIAL=4.6')} ` +
        `${url('/;PARTIAL=0.4')} ${url('/;section=2/;partial=8')} ${url('/;SECTION=1/;PARTIAL=1000.5')} TEXT {${big.length}+}\r\n${big} ${url('')})\r\n`,
    );
    await c.expect(['a OK [APPENDUID %d 1] APPEND completed']);
    const expected =
      'From: Bob <bar@example.org>\r\nSubject: About our holiday trip\r\n\r\n' + 'ab\r\n' + PART1.slice(4, 10) + ORIGINAL.slice(0, 4) + PART2.slice(8) + '' + big + ORIGINAL;
    assert.equal(await stored('Sent', 1), expected);
  });

  test('relative ";UID=" URLs use the selected mailbox; without one they are BADURL', async () => {
    const c = await ts.login();
    c.send('a APPEND Drafts CATENATE (URL ";UID=1/;SECTION=1")\r\n');
    await c.expect(['a NO [BADURL ;UID=1/;SECTION=1] Bad URL: no mailbox is selected']);
    c.send('b SELECT INBOX\r\n');
    await c.until('b');
    c.send('c APPEND Drafts CATENATE (URL ";UID=1/;SECTION=1" TEXT {2+}\r\n!!)\r\n');
    await c.expect(['c OK [APPENDUID %d 2] APPEND completed']);
    assert.equal(await stored('Drafts', 2), PART1 + '!!');
  });

  test('BADURL names the first URL that failed, and nothing is stored', async () => {
    const c = await ts.login();
    const cases: Array<[string, string]> = [
      [`/INBOX;UIDVALIDITY=${validity}/;UID=99`, 'no such message'],
      [`/INBOX;UIDVALIDITY=${validity + 1}/;UID=1`, 'UIDVALIDITY does not match'],
      ['/INBOX/;UID=1/;SECTION=1.5.9', 'no such body part'],
      ['/INBOX/;UID=1/;SECTION=3', 'no such body part'],
      ['/Nowhere/;UID=1', 'no such mailbox'],
      ['imap://bob@petrel.test/INBOX/;UID=1', 'only relative IMAP URLs to this server are supported'],
      ['/INBOX;UID=1', 'not a message or message part URL'],
      ['/INBOX/;UID=1/;PARTIAL=5.0', 'invalid PARTIAL range'],
      ['/INBOX/;UID=1/;SECTION=1]x', 'invalid character in URL at offset 24'],
    ];
    let n = 0;
    for (const [url, why] of cases) {
      const tag = `t${n++}`;
      c.send(`${tag} APPEND Trash CATENATE (TEXT {3+}\r\nabc URL "${url}" URL "/INBOX/;UID=98")\r\n`);
      await c.expect([`${tag} NO [BADURL ${url.replace(']', '%5D')}] Bad URL: ${why}`]);
    }
    await c.run('z STATUS Trash (MESSAGES)', ['* STATUS Trash (MESSAGES 0)', 'z OK STATUS completed']);
  });

  test("another user's mailbox is reachable by URL only with the read right (RFC 4314 \"r\")", async () => {
    const c = await ts.login('bob');
    // bob's own INBOX message 1 is fine; "/Sent" is bob's own Sent, where there is none.
    c.send('a APPEND Drafts CATENATE (URL "/INBOX/;UID=1/;SECTION=1")\r\n');
    await c.expect(['a OK [APPENDUID %d 1] APPEND completed']);
    c.send('b APPEND Drafts CATENATE (URL "/Sent/;UID=1")\r\n');
    await c.expect(['b NO [BADURL /Sent/;UID=1] Bad URL: no such message']);
    const aliceInbox = '/Other%20Users/alice/INBOX/;UID=1/;SECTION=1';
    c.send(`c APPEND Drafts CATENATE (URL "${aliceInbox}")\r\n`);
    await c.expect([`c NO [BADURL ${aliceInbox}] Bad URL: no such mailbox`]);
    const alice = await ts.repo.directory.findAccount('alice');
    const inbox = await ts.repo.store.getMailbox(alice!.id, 'INBOX');
    await ts.repo.store.setAcl(inbox!.id, 'bob', 'l');
    c.send(`d APPEND Drafts CATENATE (URL "${aliceInbox}")\r\n`);
    await c.expect([`d NO [BADURL ${aliceInbox}] Bad URL: no such mailbox`]);
    await ts.repo.store.setAcl(inbox!.id, 'bob', 'lr');
    c.send(`e APPEND Drafts CATENATE (URL "${aliceInbox}")\r\n`);
    await c.expect(['e OK [APPENDUID %d 2] APPEND completed']);
  });

  test('TOOBIG for a catenated message over the limit; NUL only in literal8; TRYCREATE', async () => {
    const c = await ts.login();
    const urls = Array(Math.ceil(LIMIT / ORIGINAL.length) + 1).fill('URL "/INBOX/;UID=1"').join(' ');
    c.send(`a APPEND Trash CATENATE (${urls})\r\n`);
    await c.expect([`a NO [TOOBIG] Catenated message too large (limit ${LIMIT} octets)`]);
    c.send('b APPEND Trash CATENATE (TEXT {3+}\r\na\0b)\r\n');
    await c.expect(['b NO Message contains NUL; use a literal8 (~{n})']);
    c.send('c APPEND Trash CATENATE (TEXT ~{3+}\r\na\0b URL "/INBOX/;UID=1/;SECTION=2")\r\n');
    await c.expect(['c OK [APPENDUID %d 1] APPEND completed']);
    assert.equal(await stored('Trash', 1), 'a\0b' + PART2);
    c.send('d APPEND Nowhere CATENATE (URL "/INBOX/;UID=1")\r\n');
    await c.expect(['d NO [TRYCREATE] Mailbox does not exist']);
  });

  test('a URL sent as a literal (RFC 4469 5: url = "URL" SP astring), synchronizing or not', async () => {
    const c = await ts.login();
    c.send('a APPEND Trash CATENATE (URL {13+}\r\n/INBOX/;UID=1)\r\n');
    await c.expect(['a OK [APPENDUID %d 2] APPEND completed']);
    assert.equal(await stored('Trash', 2), ORIGINAL);
    const url = '/INBOX/;UID=1/;SECTION=1';
    c.send(`b APPEND Trash CATENATE (TEXT {4}\r\n`);
    await c.expect(['+ Ready for literal']);
    c.send(`ab:  URL {${url.length}}\r\n`);
    await c.expect(['+ Ready for literal']);
    c.send(`${url} URL {${url.length}+}\r\n${url})\r\n`);
    await c.expect(['b OK [APPENDUID %d 3] APPEND completed']);
    assert.equal(await stored('Trash', 3), 'ab: ' + PART1 + PART1);
    // A bad URL in a literal is named in BADURL as any other.
    c.send('c APPEND Trash CATENATE (URL {14+}\r\n/INBOX/;UID=99)\r\n');
    await c.expect(['c NO [BADURL /INBOX/;UID=99] Bad URL: no such message']);
    // A mailbox named URL is no CATENATE URL: its message literal is message data.
    await c.run('d CREATE URL', ['d OK [MAILBOXID (%s)] CREATE completed']);
    c.send('e APPEND URL {3+}\r\nxyz\r\n');
    await c.expect(['e OK [APPENDUID %d 1] APPEND completed']);
    assert.equal(await stored('URL', 1), 'xyz');
    // REPLACE takes one too (RFC 8508 4.2).
    c.send('f SELECT Trash\r\n');
    await c.until('f');
    c.send('g UID REPLACE 3 Trash CATENATE (TEXT {4+}\r\ncd:  URL {13+}\r\n/Trash/;UID=3)\r\n');
    await c.expect(['* OK [APPENDUID %d 4] Replacement Message ready', '* 4 EXISTS', '* 3 EXPUNGE', 'g OK UID REPLACE completed']);
    assert.equal(await stored('Trash', 4), 'cd: ab: ' + PART1 + PART1);
  });

  test('MULTIAPPEND with CATENATE: all messages or none', async () => {
    const c = await ts.login();
    const m = message(['Subject: plain', '', 'x']);
    c.send(`a APPEND Junk {${m.length}+}\r\n${m} CATENATE (URL "/INBOX/;UID=1/;SECTION=1") (\\Flagged) CATENATE (URL "/INBOX/;UID=77")\r\n`);
    await c.expect(['a NO [BADURL /INBOX/;UID=77] Bad URL: no such message']);
    c.send(`a2 APPEND Junk {${m.length}+}\r\n${m} {3+}\r\na\0b\r\n`);
    await c.expect(['a2 NO Message contains NUL; use a literal8 (~{n})']);
    c.send(`a3 APPEND Junk {${m.length}+}\r\n${m} {${LIMIT + 1}}\r\n`);
    await c.expect([`a3 NO [TOOBIG] Message too large (limit ${LIMIT} octets)`]);
    await c.run('b STATUS Junk (MESSAGES UIDNEXT)', ['* STATUS Junk (MESSAGES 0 UIDNEXT 1)', 'b OK STATUS completed']);
    c.send(`c APPEND Junk {${m.length}+}\r\n${m} CATENATE (URL "/INBOX/;UID=1/;SECTION=1") (\\Flagged) CATENATE (TEXT {2+}\r\nhi)\r\n`);
    await c.expect(['c OK [APPENDUID %d 1:3] APPEND completed']);
    assert.equal(await stored('Junk', 1), m);
    assert.equal(await stored('Junk', 2), PART1);
    assert.equal(await stored('Junk', 3), 'hi');
  });
});
