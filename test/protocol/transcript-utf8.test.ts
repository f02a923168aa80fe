// Transcripts for UTF8=ACCEPT (RFC 6855): advertised; ENABLE UTF8=ACCEPT in
// the authenticated state only (3); after it UTF-8 mailbox names and quoted
// strings both ways, invalid UTF-8 answered BAD (3), SEARCH with CHARSET
// answered BAD (3); the UTF8 (literal8) APPEND data (4), also as a CATENATE
// part; without ENABLE (an IMAP4rev1 client) names stay modified UTF-7 and
// an APPEND with 8-bit header octets is answered NO (4); an IMAP4rev2 client
// may append such messages (RFC 9051 6.3.12).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from './transcript.js';

const U8 = message(['Subject: Grüße aus Köln', 'From: Jörg <jörg@bücher.example>', '', 'Hallo']);
const ASCII = message(['Subject: plain', '', 'body with ümlaut is fine in the body']);
const len = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('UTF8=ACCEPT (RFC 6855)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol', 'dave'] });
  });
  after(async () => {
    await ts.close();
  });

  test('advertised; ENABLE answers ENABLED once; UTF-8 names both ways after it', async () => {
    const c = await ts.login('alice');
    c.send('a CAPABILITY\r\n');
    const caps = await c.expectMatch(/^\* CAPABILITY /);
    assert.ok(caps.split(' ').includes('UTF8=ACCEPT'), caps);
    assert.ok(!caps.split(' ').includes('UTF8=ONLY'));
    await c.expect(['a OK CAPABILITY completed']);
    const alice = await ts.repo.directory.findAccount('alice');
    await ts.repo.store.createMailbox(alice!.id, 'été');
    await ts.repo.store.createMailbox(alice!.id, 'Ελληνικά');
    await ts.repo.store.createMailbox(alice!.id, 'Ελληνικά/Αρχείο');
    // Before ENABLE: modified UTF-7 (RFC 3501 5.1.3), as an IMAP4rev1 client expects.
    await c.run('b LIST "" "&AOk-*"', ['* LIST (\\HasNoChildren) "/" &AOk-t&AOk-', 'b OK LIST completed']);
    await c.run('c STATUS &AOk-t&AOk- (MESSAGES)', ['* STATUS &AOk-t&AOk- (MESSAGES 0)', 'c OK STATUS completed']);
    await c.run('d ENABLE UTF8=ACCEPT', ['* ENABLED UTF8=ACCEPT', 'd OK ENABLE completed']);
    await c.run('e ENABLE utf8=accept', ['* ENABLED', 'e OK ENABLE completed']);
    await c.run('f LIST "" "é*"', ['* LIST (\\HasNoChildren) "/" "été"', 'f OK LIST completed']);
    await c.run('g STATUS "été" (MESSAGES)', ['* STATUS "été" (MESSAGES 0)', 'g OK STATUS completed']);
    // The UTF-7 spelling is now just a name that does not exist.
    await c.run('h STATUS "&AOk-t&AOk-" (MESSAGES)', ['h NO [NONEXISTENT] Mailbox does not exist']);
    c.send(`i APPEND "Ελληνικά/Αρχείο" {${len(ASCII)}+}\r\n${ASCII}\r\n`);
    await c.expect(['i OK [APPENDUID %d 1] APPEND completed']);
    await c.run('j LIST "" "Ελληνικά/*" RETURN (STATUS (MESSAGES))', [
      '* LIST (\\HasNoChildren) "/" "Ελληνικά/Αρχείο"',
      '* STATUS "Ελληνικά/Αρχείο" (MESSAGES 1)',
      'j OK LIST completed',
    ]);
    // Net-Unicode (RFC 6855 3, RFC 9051 5.1): no C1 controls or line separators, NFC only.
    for (const [tag, bad] of [['m1', 'a\u0085b'], ['m2', 'a\u2028b'], ['m3', 'cafe\u0301']]) {
      await c.run(`${tag} CREATE "${bad}"`, [`${tag} NO [CANNOT] Invalid mailbox name`]);
    }
    // RFC 6855 3: octets with the high bit set that are not UTF-8 get BAD.
    c.send(Buffer.concat([Buffer.from('k STATUS "caf'), Buffer.from([0xe9]), Buffer.from('" (MESSAGES)\r\n')]));
    await c.expect(['k BAD Invalid UTF-8 in mailbox name']);
    c.send('l SELECT "été"\r\n');
    const sel = await c.until('l');
    assert.match(sel.at(-1)!, /^l OK \[READ-WRITE\] SELECT completed$/);
  });

  test('APPEND UTF8 (literal8) with 8-bit headers after ENABLE; FETCH returns UTF-8; SEARCH CHARSET is BAD', async () => {
    const c = await ts.login('bob');
    await c.run('a ENABLE UTF8=ACCEPT', ['* ENABLED UTF8=ACCEPT', 'a OK ENABLE completed']);
    c.send(`b APPEND INBOX UTF8 (~{${len(U8)}+}\r\n${U8})\r\n`);
    await c.expect(['b OK [APPENDUID %d 1] APPEND completed']);
    c.send('c SELECT INBOX\r\n');
    await c.until('c');
    await c.run('d FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])', [
      '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {30}',
      'Subject: Grüße aus Köln',
      '',
      ')',
      'd OK FETCH completed',
    ]);
    await c.run('e SEARCH SUBJECT "Köln"', ['* SEARCH 1', 'e OK SEARCH completed']);
    await c.run('f SEARCH CHARSET UTF-8 SUBJECT "Köln"', ['f BAD SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT']);
    // A UTF8 part inside CATENATE (RFC 6855 4: cat-part =/ utf8-literal).
    c.send(`g APPEND INBOX CATENATE (UTF8 (~{${len(U8)}+}\r\n${U8}))\r\n`);
    await c.expect(['* 2 EXISTS', 'g OK [APPENDUID %d 2] APPEND completed']);
  });

  test('without ENABLE (IMAP4rev1): 8-bit header octets in APPEND get NO, in any form; 8-bit bodies are fine', async () => {
    const c = await ts.login('carol');
    c.send(`a APPEND INBOX {${len(U8)}+}\r\n${U8}\r\n`);
    await c.expect(['a NO Message header has 8-bit characters: ENABLE UTF8=ACCEPT first (RFC 6855)']);
    c.send(`b APPEND INBOX UTF8 (~{${len(U8)}+}\r\n${U8})\r\n`);
    await c.expect(['b NO Message header has 8-bit characters: ENABLE UTF8=ACCEPT first (RFC 6855)']);
    c.send(`c APPEND INBOX UTF8 (~{${len(ASCII)}+}\r\n${ASCII})\r\n`);
    await c.expect(['c OK [APPENDUID %d 1] APPEND completed']);
    await c.run('d STATUS INBOX (MESSAGES)', ['* STATUS INBOX (MESSAGES 1)', 'd OK STATUS completed']);
    // ENABLE UTF8=ACCEPT is for the authenticated state only: once selected it is not enabled.
    c.send('e SELECT INBOX\r\n');
    await c.until('e');
    await c.run('f ENABLE UTF8=ACCEPT', ['* ENABLED', 'f OK ENABLE completed']);
    c.send(`g APPEND INBOX {${len(U8)}+}\r\n${U8}\r\n`);
    await c.expect(['g NO Message header has 8-bit characters: ENABLE UTF8=ACCEPT first (RFC 6855)']);
    await c.run('h SEARCH CHARSET UTF-8 ALL', ['* SEARCH 1', 'h OK SEARCH completed']);
  });

  test('an IMAP4rev2 client may append 8-bit headers', async () => {
    const c = await ts.login('dave');
    await c.run('a ENABLE IMAP4rev2', ['* ENABLED IMAP4rev2', 'a OK ENABLE completed']);
    c.send(`b APPEND INBOX {${len(U8)}+}\r\n${U8}\r\n`);
    await c.expect(['b OK [APPENDUID %d 1] APPEND completed']);
  });
});
