import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { indexMessage, MessageIndexer } from '../../../src/mime/indexer.js';
import type { MessageIndex, MimePart } from '../../../src/mime/types.js';
import * as fx from './fixtures.js';

const body = (data: Buffer, p: MimePart): string => data.subarray(p.bodyStart, p.bodyEnd).toString('utf8');
const head = (data: Buffer, p: MimePart): string => data.subarray(p.headerStart, p.bodyStart).toString('utf8');

/** Offsets ordered and inside the message, size consistent, children inside their parent. */
function checkInvariants(index: MessageIndex): void {
  const walk = (p: MimePart, lo: number, hi: number): void => {
    assert.ok(lo <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= hi);
    assert.equal(p.size, p.bodyEnd - p.bodyStart);
    for (const c of p.children ?? []) walk(c, p.bodyStart, p.bodyEnd);
    if (p.message) {
      assert.equal(p.message.root.headerStart, p.bodyStart);
      walk(p.message.root, p.bodyStart, p.bodyEnd);
    }
  };
  walk(index.root, 0, index.size);
}

describe('indexMessage', () => {
  test('simple text message', () => {
    const data = fx.simpleText;
    const ix = indexMessage(data);
    checkInvariants(ix);
    assert.equal(ix.version, 1);
    assert.equal(ix.size, data.length);
    const r = ix.root;
    assert.equal(r.headerStart, 0);
    assert.ok(head(data, r).endsWith('Message-ID: <1234@example.org>\r\n\r\n'));
    assert.equal(body(data, r), 'Hi Bob,\r\n\r\nLunch tomorrow at noon?\r\n');
    assert.deepEqual([r.type, r.subtype, r.params, r.encoding], ['text', 'plain', [['charset', 'us-ascii']], '7bit']);
    assert.equal(r.lines, 3);
    assert.equal(ix.envelope.subject, 'Lunch tomorrow?');
    assert.equal(ix.envelope.date, 'Tue, 2 Jan 2024 09:30:15 -0500');
    assert.deepEqual(ix.envelope.from, [{ name: 'Alice Example', adl: null, mailbox: 'alice', host: 'example.org' }]);
    assert.deepEqual(ix.envelope.sender, ix.envelope.from);
    assert.deepEqual(ix.envelope.replyTo, ix.envelope.from);
    assert.deepEqual(ix.envelope.to, [
      { name: 'Bob', adl: null, mailbox: 'bob', host: 'example.com' },
      { name: null, adl: null, mailbox: 'carol', host: 'example.net' },
    ]);
    assert.equal(ix.envelope.cc, null);
    assert.equal(ix.envelope.messageId, '<1234@example.org>');
    assert.equal(ix.sentDate, Date.UTC(2024, 0, 2, 14, 30, 15));
    assert.equal(ix.sentDateOffset, -300);
    assert.equal(ix.bodyText, 'Hi Bob,\r\n\r\nLunch tomorrow at noon?\r\n');
    assert.equal(ix.preview, 'Hi Bob, Lunch tomorrow at noon?');
    assert.deepEqual(
      ix.headers.map((h) => h.name),
      ['return-path', 'date', 'from', 'to', 'subject', 'message-id'],
    );
    assert.equal(ix.truncatedParts, 0);
  });

  test('multipart/alternative: exact part bodies, QP and HTML search text', () => {
    const data = fx.alternative;
    const ix = indexMessage(data);
    checkInvariants(ix);
    const [plain, html] = ix.root.children!;
    assert.equal(ix.root.children!.length, 2);
    assert.deepEqual([ix.root.type, ix.root.subtype, ix.root.params], ['multipart', 'alternative', [['boundary', '=_alt_42']]]);
    assert.equal(body(data, plain!), 'Caf=E9 sale =\r\ntoday');
    assert.equal(head(data, plain!), 'Content-Type: text/plain; charset="iso-8859-1"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n');
    assert.equal(plain!.lines, 2);
    assert.equal(plain!.encoding, 'quoted-printable');
    assert.deepEqual(plain!.params, [['charset', 'iso-8859-1']]);
    assert.equal(body(data, html!), '<html><head><style>p{}</style></head><body><p>Caf&eacute; &amp; <b>sale</b></p></body></html>');
    assert.equal(html!.lines, 1);
    assert.match(ix.bodyText, /^Café sale today\n/);
    assert.match(ix.bodyText, /& +sale/);
    assert.doesNotMatch(ix.bodyText, /<b>|p\{\}/);
    assert.equal(ix.preview.slice(0, 15), 'Café sale today');
  });

  test('multipart/mixed with an attachment: RFC 2231 params stay raw, content fields', () => {
    const data = fx.mixedAttachment;
    const ix = indexMessage(data);
    checkInvariants(ix);
    const [text, pdf] = ix.root.children!;
    assert.equal(body(data, text!), 'See attached.\r\n');
    assert.equal(text!.lines, 1);
    assert.deepEqual([pdf!.type, pdf!.subtype, pdf!.encoding], ['application', 'pdf', 'base64']);
    assert.deepEqual(pdf!.params, [['name', 'report.pdf']]);
    assert.equal(body(data, pdf!), 'JVBERi0xLjQK\r\nJSVFT0YK');
    assert.equal(pdf!.size, 22);
    assert.deepEqual(pdf!.disposition, {
      type: 'attachment',
      params: [
        ['filename*0*', "utf-8''R%C3%A9sum"],
        ['filename*1', '.pdf'],
        ['size', '12'],
      ],
    });
    assert.equal(pdf!.id, '<part2@example.org>');
    assert.equal(pdf!.description, 'The report');
    assert.equal(pdf!.md5, 'Q2hlY2sgSW50ZWdyaXR5IQ==');
    assert.deepEqual(pdf!.language, ['en', 'fr']);
    assert.equal(pdf!.location, 'http://example.org/report.pdf');
    assert.equal(ix.bodyText, 'See attached.\r\n');
  });

  test('nested message/rfc822 with its own multipart', () => {
    const data = fx.nestedMessage;
    const ix = indexMessage(data);
    checkInvariants(ix);
    const [first, msg] = ix.root.children!;
    assert.equal(head(data, first!), '\r\n');
    assert.equal(body(data, first!), 'Forwarded below.');
    assert.deepEqual([msg!.type, msg!.subtype], ['message', 'rfc822']);
    assert.ok(body(data, msg!).startsWith('From: "Orig, Sender"'));
    assert.ok(body(data, msg!).endsWith('--b2--\r\n'));
    assert.equal(msg!.lines, 15);
    const inner = msg!.message!;
    assert.equal(inner.envelope.subject, 'Hello');
    assert.equal(inner.envelope.date, '5 Mar 24 08:00 GMT');
    assert.deepEqual(inner.envelope.from, [{ name: 'Orig, Sender', adl: null, mailbox: 'orig', host: 'example.com' }]);
    assert.deepEqual(inner.envelope.to, [
      { name: null, adl: null, mailbox: 'group', host: null },
      { name: null, adl: null, mailbox: 'a', host: 'x.example' },
      { name: null, adl: null, mailbox: 'b', host: 'y.example' },
      { name: null, adl: null, mailbox: null, host: null },
      { name: null, adl: null, mailbox: 'c', host: 'z.example' },
    ]);
    assert.deepEqual([inner.root.type, inner.root.subtype], ['multipart', 'alternative']);
    const [ip, ih] = inner.root.children!;
    assert.equal(body(data, ip!), 'inner plain');
    assert.equal(body(data, ih!), '<p>inner html</p>');
    assert.match(ix.bodyText, /Forwarded below\.\ninner plain\n *inner html/);
  });

  test('multipart/digest: children default to message/rfc822', () => {
    const data = fx.digest;
    const ix = indexMessage(data);
    checkInvariants(ix);
    const [m1, t2] = ix.root.children!;
    assert.deepEqual([m1!.type, m1!.subtype, m1!.params], ['message', 'rfc822', []]);
    assert.equal(m1!.message!.envelope.subject, 'one');
    assert.equal(body(data, m1!.message!.root), 'first');
    assert.deepEqual([t2!.type, t2!.subtype], ['text', 'plain']);
    assert.equal(body(data, t2!), 'not a message');
    // Close delimiter at the very end without a line break.
    assert.equal(ix.root.bodyEnd, data.length);
  });

  test('bare LF line ends', () => {
    const data = fx.bareLf;
    const ix = indexMessage(data);
    checkInvariants(ix);
    const [p] = ix.root.children!;
    assert.equal(head(data, p!), 'Content-Type: text/plain\n\n');
    assert.equal(body(data, p!), 'line one\nline two');
    assert.equal(p!.lines, 2);
    assert.equal(ix.envelope.subject, 'bare');
  });

  test('missing close delimiter: the last part ends at the end of the message', () => {
    const data = fx.missingClose;
    const ix = indexMessage(data);
    checkInvariants(ix);
    const [a, b] = ix.root.children!;
    assert.equal(body(data, a!), 'first');
    assert.equal(body(data, b!), 'second, never closed\r\n');
    assert.equal(b!.bodyEnd, data.length);
  });

  test('bad base64 and quoted-printable are decoded best effort', () => {
    const ix = indexMessage(fx.badEncodings);
    checkInvariants(ix);
    assert.equal(ix.bodyText, 'hello world\na=ZZb=3\r\nc=4');
  });

  test('encoded-word headers in several charsets are decoded for search, raw in the envelope', () => {
    const ix = indexMessage(fx.encodedWords);
    const h = Object.fromEntries(ix.headers.map((f) => [f.name, f.value]));
    assert.equal(h['from'], 'André <andre@example.fr>');
    assert.equal(h['to'], 'Привет <privet@example.ru>');
    assert.equal(h['subject'], 'てすと café');
    assert.equal(h['x-sjis'], 'テスト');
    assert.equal(h['x-gb'], '中文');
    assert.equal(h['x-unknown'], 'Qaplaé');
    assert.equal(ix.envelope.from![0]!.name, '=?iso-8859-1?Q?Andr=E9?=');
    assert.equal(ix.envelope.subject, '=?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?= =?utf-8?q?_caf=C3=A9?=');
  });

  test('8-bit headers: UTF-8 when valid, else Latin-1', () => {
    const utf8 = Buffer.concat([Buffer.from('Subject: '), Buffer.from('Grüße', 'utf8'), Buffer.from('\r\n\r\nx')]);
    assert.equal(indexMessage(utf8).envelope.subject, 'Grüße');
    const latin1 = Buffer.concat([Buffer.from('Subject: '), Buffer.from('Grüße', 'latin1'), Buffer.from('\r\n\r\nx')]);
    assert.equal(indexMessage(latin1).envelope.subject, 'Grüße');
  });

  test('header without body and without blank line', () => {
    const data = Buffer.from('Subject: only a header\r\nFrom: a@b.example\r\n');
    const ix = indexMessage(data);
    checkInvariants(ix);
    assert.equal(ix.root.bodyStart, data.length);
    assert.equal(ix.root.size, 0);
    assert.equal(ix.envelope.subject, 'only a header');
    const noEol = indexMessage(Buffer.from('Subject: x'));
    assert.equal(noEol.envelope.subject, 'x');
    assert.equal(noEol.root.bodyStart, 10);
  });

  test('empty message and a message that is only a blank line', () => {
    const empty = indexMessage(Buffer.alloc(0));
    checkInvariants(empty);
    assert.equal(empty.size, 0);
    assert.equal(empty.envelope.from, null);
    const blank = indexMessage(Buffer.from('\r\nbody'));
    assert.equal(blank.root.bodyStart, 2);
    assert.equal(body(Buffer.from('\r\nbody'), blank.root), 'body');
    assert.equal(blank.root.lines, 1);
  });

  test('transport padding after delimiters, empty parts, header-only parts, preamble and epilogue', () => {
    const data = fx.crlf(
      'Content-Type: multipart/mixed; boundary="pad"',
      '',
      'preamble --pad is not a delimiter',
      '--pad  \t',
      '--pad',
      'Content-Type: text/plain',
      '--pad',
      'Content-Type: text/plain',
      '',
      '--pad',
      '',
      'x',
      '--pad-- ',
      '--pad',
      'epilogue',
    );
    const ix = indexMessage(data);
    checkInvariants(ix);
    const kids = ix.root.children!;
    assert.equal(kids.length, 4);
    assert.equal(kids[0]!.size, 0);
    assert.equal(head(data, kids[1]!), 'Content-Type: text/plain');
    assert.equal(kids[1]!.size, 0);
    assert.equal(head(data, kids[2]!), 'Content-Type: text/plain\r\n');
    assert.equal(kids[2]!.size, 0);
    assert.equal(body(data, kids[3]!), 'x');
    assert.equal(ix.root.bodyEnd, data.length);
  });

  test('multipart without boundary or without any part gets one synthesized child', () => {
    const data = fx.crlf('Content-Type: multipart/mixed', '', 'just text', '');
    const ix = indexMessage(data);
    checkInvariants(ix);
    assert.equal(ix.root.children!.length, 1);
    assert.equal(body(data, ix.root.children![0]!), 'just text\r\n');
    assert.equal(ix.root.children![0]!.lines, 1);
    const data2 = fx.crlf('Content-Type: multipart/mixed; boundary=nope', '', 'no delimiters', '');
    assert.equal(indexMessage(data2).root.children!.length, 1);
  });

  test('invalid Content-Type falls back to text/plain; charset=us-ascii', () => {
    const ix = indexMessage(fx.crlf('Content-Type: garbage', '', 'x'));
    assert.deepEqual([ix.root.type, ix.root.subtype, ix.root.params], ['text', 'plain', [['charset', 'us-ascii']]]);
    const ix2 = indexMessage(fx.crlf('Content-Type: Text/HTML (comment); Charset="UTF-8"', '', 'x'));
    assert.deepEqual([ix2.root.type, ix2.root.subtype, ix2.root.params], ['text', 'html', [['charset', 'UTF-8']]]);
  });

  test('base64-encoded message/rfc822 stays opaque but keeps a message structure', () => {
    const data = fx.crlf('Content-Type: message/rfc822', 'Content-Transfer-Encoding: base64', '', 'U3ViamVjdDogeA0KDQp5', '');
    const ix = indexMessage(data);
    checkInvariants(ix);
    assert.ok(ix.root.message);
    assert.equal(ix.root.message.envelope.subject, null);
    assert.equal(body(data, ix.root.message.root), 'U3ViamVjdDogeA0KDQp5\r\n');
  });

  test('part count and depth limits make the rest opaque and count truncatedParts', () => {
    const parts: string[] = ['Content-Type: multipart/mixed; boundary=b', ''];
    for (let i = 0; i < 20; i++) parts.push('--b', '', `part ${i}`);
    parts.push('--b--', '');
    const ix = indexMessage(fx.crlf(...parts), { maxParts: 5 });
    checkInvariants(ix);
    assert.equal(ix.root.children!.length, 4);
    assert.equal(ix.truncatedParts, 16);

    let nested = '';
    for (let i = 0; i < 10; i++) nested += `Content-Type: multipart/mixed; boundary=n${i}\r\n\r\n--n${i}\r\n`;
    nested += '\r\ndeep\r\n';
    const deep = indexMessage(Buffer.from(nested), { maxDepth: 4 });
    checkInvariants(deep);
    assert.equal(deep.truncatedParts, 1);
    let depth = 0;
    for (let p: MimePart | undefined = deep.root; p; p = p.children?.[0]) depth++;
    assert.equal(depth, 5); // 4 real levels + the synthesized child of the opaque multipart
  });

  test('bodyText is bounded by maxBodyText', () => {
    const data = fx.crlf('', 'a'.repeat(5000));
    const ix = indexMessage(data, { maxBodyText: 100 });
    assert.equal(ix.bodyText, 'a'.repeat(100));
  });

  test('any chunking gives the identical index (property)', () => {
    const longLine = fx.crlf(
      'Content-Type: multipart/mixed; boundary=L',
      '',
      '--L',
      '',
      'x'.repeat(70_000) + '\r',
      '--L',
      'Content-Type: text/plain',
      '',
      'y'.repeat(140_000),
      '--L--',
    );
    const samples = [...fx.allFixtures, longLine];
    const whole = samples.map((s) => JSON.stringify(indexMessage(s)));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: samples.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 30 }),
        (which, sizes) => {
          const data = samples[which]!;
          const indexer = new MessageIndexer();
          let pos = 0;
          let k = 0;
          while (pos < data.length) {
            const n = Math.max(1, sizes[k++ % sizes.length]! % (which === samples.length - 1 ? 40_000 : 17));
            indexer.write(data.subarray(pos, pos + n));
            pos += n;
          }
          assert.equal(JSON.stringify(indexer.finish()), whole[which]);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('byte-at-a-time writes', () => {
    for (const data of fx.allFixtures) {
      const indexer = new MessageIndexer();
      for (let i = 0; i < data.length; i++) indexer.write(data.subarray(i, i + 1));
      assert.deepEqual(indexer.finish(), indexMessage(data));
    }
  });
});

describe('MessageIndexer.headerEightBit', () => {
  /** The definition the APPEND check used to read back from the blob: an octet >= 0x80 in root's header range. */
  const inHeaderRange = (data: Buffer, index: MessageIndex): boolean =>
    data.subarray(index.root.headerStart, index.root.bodyStart).some((b) => b >= 0x80);

  test('fixtures and edge cases: the header range decides, not the body', () => {
    const cases = [
      ...fx.allFixtures,
      fx.crlf('Subject: caf\u00e9', '', 'body'),
      fx.crlf('Subject: plain', '', 'caf\u00e9 only in the body'),
      Buffer.from('Subject: no blank line, \xff at the end', 'latin1'),
      Buffer.concat([Buffer.from('X-Long: '), Buffer.alloc(300 * 1024, 0x61), Buffer.from('\xe9\r\n\r\nbody', 'latin1')]),
      Buffer.alloc(0),
    ];
    for (const data of cases) {
      const indexer = new MessageIndexer();
      indexer.write(data);
      const index = indexer.finish();
      assert.equal(indexer.headerEightBit, inHeaderRange(data, index), data.subarray(0, 60).toString('latin1'));
    }
  });

  test('any bytes, any chunking (property)', () => {
    const line = fc.oneof(
      fc.constant(''),
      fc.stringMatching(/^[A-Za-z-]{1,12}: [ -~]{0,30}$/),
      fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a).toString('latin1').replace(/[\r\n]/g, '')),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }), fc.boolean(), (lines, sizes, lf) => {
        const data = Buffer.from(lines.join(lf ? '\n' : '\r\n'), 'latin1');
        const indexer = new MessageIndexer();
        for (let pos = 0, k = 0; pos < data.length; k++) {
          const n = sizes[k % sizes.length]!;
          indexer.write(data.subarray(pos, pos + n));
          pos += n;
        }
        const index = indexer.finish();
        assert.equal(indexer.headerEightBit, inHeaderRange(data, index));
      }),
      { numRuns: 500 },
    );
  });
});

describe('text bodies taken many lines at a time (identity encodings)', () => {
  // A chunk holding many lines takes the fast path (collectBodyLines); one
  // byte at a time every line goes through line(). Both must give the same
  // index, also when the search-text budget runs out in the middle of a run
  // of lines, and next to lines that start with "--" but are no boundary.
  const crlfText = ['first line', '', '--not a boundary', 'caf\u00e9 line', '-- ', 'last'].join('\r\n');
  const lfText = ['one', '--', 'two', '', ''].join('\n');
  const messages = [
    ...fx.allFixtures,
    Buffer.from(`Subject: t\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${crlfText}\r\n`),
    Buffer.from(`Subject: t\n\n${lfText}`),
    Buffer.from(`Subject: t\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n${crlfText}`),
    Buffer.from(
      `Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\n${crlfText}\r\n--b\r\n` +
        `Content-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>${lfText}</p>\r\n\r\n--b--\r\nepilogue\r\n`,
    ),
  ];
  const oneByteAtATime = (data: Buffer, options: { maxBodyText: number }): MessageIndex => {
    const indexer = new MessageIndexer(options);
    for (let i = 0; i < data.length; i++) indexer.write(data.subarray(i, i + 1));
    return indexer.finish();
  };

  test('the same index as line by line, with any search-text budget', () => {
    for (const data of messages) {
      for (const maxBodyText of [0, 1, 7, 25, 64, 2 * 1024 * 1024]) {
        const whole = indexMessage(data, { maxBodyText });
        assert.deepEqual(whole, oneByteAtATime(data, { maxBodyText }), `${data.subarray(0, 40).toString('latin1')} / ${maxBodyText}`);
      }
    }
  });

  test('a body cut by the budget inside a run of lines keeps exactly the budget', () => {
    const data = Buffer.from(`Subject: t\r\n\r\n${'abcdefghij\r\n'.repeat(10)}`);
    const ix = indexMessage(data, { maxBodyText: 25 });
    assert.equal(ix.bodyText, 'abcdefghij\r\nabcdefghij\r\na');
    assert.equal(ix.root.lines, 10);
  });
});
