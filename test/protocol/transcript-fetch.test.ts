// Transcripts: FETCH of MIME parts (BODY[n], n.MIME, n.HEADER/TEXT of an
// attached message), BINARY and BINARY.SIZE, literal8, UNKNOWN-CTE, large
// bodies streamed; APPEND of large, too large and binary messages.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const MULTI = message([
  'From: a@example.com',
  'Subject: multi',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="XX"',
  '',
  '--XX',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9',
  '--XX',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  'AAECAw==',
  '--XX',
  'Content-Type: message/rfc822',
  '',
  'Subject: inner',
  '',
  'inner body',
  '--XX',
  'Content-Type: text/plain',
  'Content-Transfer-Encoding: x-uuencode',
  '',
  'begin 644 x',
  '--XX--',
]);

describe('FETCH body parts and APPEND data', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer({ configure: (cfg) => (cfg.limits.maxMessageSize = 4 * 1024 * 1024) });
    await ts.deliver('alice', 'INBOX', MULTI);
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  test('BODY[section] of parts', async () => {
    await c.run('a FETCH 1 (BODY.PEEK[1] BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT])', [
      '* 1 FETCH (BODY[1] {9}',
      'caf=C3=A9 BODY[3.HEADER] {18}',
      'Subject: inner',
      '',
      ' BODY[3.TEXT] {10}',
      'inner body)',
      'a OK FETCH completed',
    ]);
    await c.run('b FETCH 1 BODY.PEEK[1.MIME]', [
      '* 1 FETCH (BODY[1.MIME] {88}',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      ')',
      'b OK FETCH completed',
    ]);
    await c.run('c FETCH 1 BODY.PEEK[9]', ['* 1 FETCH (BODY[9] {0}', ')', 'c OK FETCH completed']);
    await c.run('d FETCH 1 FLAGS', ['* 1 FETCH (FLAGS ())', 'd OK FETCH completed']);
  });

  test('BINARY decodes; NUL gets literal8; unknown encodings get UNKNOWN-CTE', async () => {
    await c.run('a FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.SIZE[2])', [
      '* 1 FETCH (BINARY[1] {5}',
      'café BINARY.SIZE[1] 5 BINARY.SIZE[2] 4)',
      'a OK FETCH completed',
    ]);
    c.send('b FETCH 1 BINARY.PEEK[2]\r\n');
    await c.expect(['* 1 FETCH (BINARY[2] ~{4}']);
    const rest = await c.line();
    assert.equal(rest, '\x00\x01\x02\x03)');
    await c.expect(['b OK FETCH completed']);
    await c.run('c FETCH 1 BINARY.PEEK[4]', ['c NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding x-uuencode']);
    // BINARY without PEEK sets \Seen.
    await c.run('d FETCH 1 BINARY[1]<1.2>', ['* 1 FETCH (BINARY[1]<1> {2}', 'af FLAGS (\\Seen))', 'd OK FETCH completed']);
  });

  test('large APPEND is spooled, and FETCH streams it back', async () => {
    const line = 'x'.repeat(76);
    const body = Array.from({ length: 40000 }, (_, i) => `${i} ${line}`);
    const raw = message(['Subject: big', '', ...body]);
    assert.ok(raw.length > 3_000_000);
    await c.run(`a APPEND INBOX {${raw.length}}`, ['+ Ready for literal']);
    c.send(raw);
    await c.run('', ['* 2 EXISTS', 'a OK [APPENDUID %d 2] APPEND completed']);
    await c.run('b FETCH 2 RFC822.SIZE', [`* 2 FETCH (RFC822.SIZE ${raw.length})`, 'b OK FETCH completed']);
    c.send('c FETCH 2 BODY.PEEK[TEXT]<100000.1000000>\r\n');
    const lines = await c.until('c');
    assert.equal(lines[0], '* 2 FETCH (BODY[TEXT]<100000> {1000000}');
    assert.equal(lines[lines.length - 1], 'c OK FETCH completed');
    const got = lines.slice(1, -1).join('\r\n');
    const text = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    assert.equal(got, text.slice(100000, 1100000) + ')');
  });

  test('too large APPEND is refused before the literal is read', async () => {
    await c.run('a APPEND INBOX {5000000}', ['a NO [TOOBIG] Message too large (limit 4194304 octets)']);
    // LITERAL+: an oversized {n+} is answered at once, then read and discarded.
    const size = 4 * 1024 * 1024 + 1;
    await c.run(`b APPEND INBOX {${size}+}\r\n${'y'.repeat(size)}\r\n`, ['b NO [TOOBIG] Message too large (limit 4194304 octets)']);
    // The connection still works.
    await c.run('c NOOP', ['c OK NOOP completed']);
  });

  test('NUL only in literal8; MULTIAPPEND is atomic', async () => {
    await c.run('a APPEND INBOX {9+}\r\nA: b\r\n\r\n\x00', ['a NO Message contains NUL; use a literal8 (~{n})']);
    await c.run('b APPEND INBOX ~{9+}\r\nA: b\r\n\r\n\x00', ['* 3 EXISTS', 'b OK [APPENDUID %d 3] APPEND completed']);
    const m = 'Subject: m\r\n\r\nm\r\n';
    await c.run(`c APPEND INBOX (\\Seen) {${m.length}+}\r\n${m} (\\Draft) "21-Nov-2026 10:00:00 +0000" {${m.length}+}\r\n${m}`, [
      '* 5 EXISTS',
      'c OK [APPENDUID %d 4:5] APPEND completed',
    ]);
    await c.run('d FETCH 4:5 (FLAGS INTERNALDATE)', [
      '* 4 FETCH (FLAGS (\\Seen) INTERNALDATE %t)',
      '* 5 FETCH (FLAGS (\\Draft) INTERNALDATE "21-Nov-2026 10:00:00 +0000")',
      'd OK FETCH completed',
    ]);
    // A MULTIAPPEND whose second message is refused stores neither.
    await c.run(`e APPEND INBOX {${m.length}+}\r\n${m} {9+}\r\nA: b\r\n\r\n\x00`, ['e NO Message contains NUL; use a literal8 (~{n})']);
    await c.run('f STATUS INBOX (MESSAGES)', ['* STATUS INBOX (MESSAGES 5)', 'f OK STATUS completed']);
  });

  test('large BODY[n] and BINARY[n] stream whole and partial, decoded across chunk boundaries', async () => {
    // Decoded text (CRLF lines, so the line-based client reads it back exactly), far above the streaming threshold.
    const text = Array.from({ length: 12000 }, (_, i) => `line ${i} of the attachment ${'z'.repeat(i % 37)}`).join('\r\n');
    const encoded = Buffer.from(text).toString('base64').replace(/.{76}/g, '$&\r\n');
    const raw = message([
      'Subject: big attachment',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--B',
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: base64',
      '',
      encoded,
      '--B--',
    ]);
    assert.ok(text.length > 500_000);
    await ts.deliver('alice', 'INBOX', raw);
    await c.run('n NOOP', ['* 6 EXISTS', 'n OK NOOP completed']);
    const fetchData = async (tag: string, item: string, head: string): Promise<string> => {
      c.send(`${tag} FETCH 6 (${item})\r\n`);
      const lines = await c.until(tag);
      assert.equal(lines[0], head);
      assert.equal(lines[lines.length - 1], `${tag} OK FETCH completed`);
      const got = lines.slice(1, -1).join('\r\n');
      assert.ok(got.endsWith(')'));
      return got.slice(0, -1);
    };
    assert.equal(await fetchData('a', 'BODY.PEEK[2]', `* 6 FETCH (BODY[2] {${encoded.length}}`), encoded);
    assert.equal(await fetchData('b', 'BINARY.PEEK[2]', `* 6 FETCH (BINARY[2] {${text.length}}`), text);
    assert.equal(await fetchData('c', 'BINARY.PEEK[2]<262000.10000>', '* 6 FETCH (BINARY[2]<262000> {10000}'), text.slice(262000, 272000));
    const tail = text.length - 100;
    assert.equal(await fetchData('d', `BINARY.PEEK[2]<${tail}.1000>`, `* 6 FETCH (BINARY[2]<${tail}> {100}`), text.slice(tail));
    await c.run('e FETCH 6 BINARY.SIZE[2]', [`* 6 FETCH (BINARY.SIZE[2] ${text.length})`, 'e OK FETCH completed']);
  });
});

describe('APPEND before login', () => {
  test('the literal is refused without being read', async () => {
    const ts = await startTestServer();
    try {
      const c = await ts.connect();
      await c.run('a APPEND INBOX {100}', ['a BAD APPEND not allowed in the not authenticated state']);
      await c.run('b NOOP', ['b OK NOOP completed']);
    } finally {
      await ts.close();
    }
  });
});
