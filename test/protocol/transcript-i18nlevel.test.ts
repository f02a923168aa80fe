// Transcripts: I18NLEVEL=1 (RFC 5255 4.3): advertised once authenticated,
// SEARCH compares with i;unicode-casemap (RFC 5255 4.6, RFC 5051), UTF-8 is
// a SEARCH charset, and there is no COMPARATOR command (that is level 2).
// Search strings are sent as UTF-8 literals, byte for byte.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const UTF8_BODY = ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit'];

/** A non-synchronizing literal (LITERAL+) of the UTF-8 bytes of `s`. */
function literal(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from(`{${bytes.length}+}\r\n`), bytes]);
}

describe('I18NLEVEL=1', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    // 1: "Straße", the fi ligature, U+01C4, a circled digit, e + combining acute.
    await ts.deliver(
      'alice',
      'INBOX',
      Buffer.from(message(['Subject: =?utf-8?q?Stra=C3=9Fe?=', ...UTF8_BODY, '', '\ufb01nance: \u01c4emal \u2460, cafe\u0301'])),
    );
    // 2: the same words in ASCII, and a precomposed é.
    await ts.deliver('alice', 'INBOX', Buffer.from(message(['Subject: Strasse', ...UTF8_BODY, '', 'finance: Dzemal 1, caf\u00e9'])));
    // 3: Turkish dotted capital I and dotless small i.
    await ts.deliver('alice', 'INBOX', Buffer.from(message(['Subject: Izmir', ...UTF8_BODY, '', '\u0130zmir \u0131\u015f\u0131k'])));
    c = await ts.login();
    c.send('s SELECT INBOX\r\n');
    await c.until('s');
  });
  after(async () => {
    await ts.close();
  });

  /** SEARCH CHARSET UTF-8 `key` with `value` as a literal; exactly `lines` back. */
  async function search(tag: string, key: string, value: string, lines: string[]): Promise<void> {
    c.send(Buffer.concat([Buffer.from(`${tag} SEARCH CHARSET UTF-8 ${key} `), literal(value), Buffer.from('\r\n')]));
    await c.expect(lines);
  }

  test('advertised in CAPABILITY once authenticated', async () => {
    c.send('a CAPABILITY\r\n');
    const lines = await c.until('a');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\* CAPABILITY IMAP4rev1 .* THREAD=REFS I18NLEVEL=1 BINARY( |$)/);
    assert.equal(lines[1], 'a OK CAPABILITY completed');
  });

  test('SEARCH matches per i;unicode-casemap', async () => {
    // ß has no simple titlecase: "straße" is not "strasse".
    await search('a', 'SUBJECT', 'STRAßE', ['* SEARCH 1', 'a OK SEARCH completed']);
    await search('b', 'SUBJECT', 'strasse', ['* SEARCH 2', 'b OK SEARCH completed']);
    // The ligature decomposes to a small "fi", which is not titlecased again.
    await search('c', 'BODY', '\ufb01NANCE', ['* SEARCH 1', 'c OK SEARCH completed']);
    await search('d', 'BODY', 'finance', ['* SEARCH 2', 'd OK SEARCH completed']);
    // U+01C6 and U+01C4 share the titlecase U+01C5 (RFC 5051's example); ① is 1.
    await search('e', 'BODY', '\u01c6EMAL 1', ['* SEARCH 1', 'e OK SEARCH completed']);
    // Precomposed é and e + U+0301 decompose alike; "cafe" is a prefix of both.
    await search('f', 'BODY', 'CAF\u00c9', ['* SEARCH 1 2', 'f OK SEARCH completed']);
    await search('g', 'TEXT', 'cafe', ['* SEARCH 1 2', 'g OK SEARCH completed']);
    // ı titlecases to I; İ decomposes to I + U+0307, so "izmir" is only in message 3's subject.
    await search('h', 'BODY', 'I\u015eIK', ['* SEARCH 3', 'h OK SEARCH completed']);
    await search('i', 'BODY', 'izmir', ['* SEARCH', 'i OK SEARCH completed']);
    await search('j', 'TEXT', 'izmir', ['* SEARCH 3', 'j OK SEARCH completed']);
    await search('k', 'BODY', 'i\u0307zmir', ['* SEARCH 3', 'k OK SEARCH completed']);
  });

  test('level 1 has no COMPARATOR command', async () => {
    await c.run('a COMPARATOR', ['a BAD Unknown command COMPARATOR']);
  });
});
