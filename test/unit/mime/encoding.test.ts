import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCharset, isKnownCharset } from '../../../src/mime/charset.js';
import { decodeEncodedWords } from '../../../src/mime/encoded-words.js';
import { createTransferDecoder, decodedSize, decodeTransfer } from '../../../src/mime/transfer-encoding.js';

test('decodeEncodedWords: table', () => {
  const cases: Array<[string, string]> = [
    ['plain text', 'plain text'],
    ['=?utf-8?B?w6k=?=', 'é'],
    ['=?UTF-8?Q?caf=C3=A9_au_lait?=', 'café au lait'],
    ['=?iso-8859-1?q?a?= =?iso-8859-1?q?b?=', 'ab'],
    ['=?iso-8859-1?q?a?=\t \t=?iso-8859-1?q?b?= c', 'ab c'],
    ['x =?iso-8859-1?q?a?= y', 'x a y'],
    ['=?utf-8?B?w6?= =?utf-8?B?qQ==?=', 'é'], // one character split over two words (bytes C3 | A9)
    ['=?utf-8?q?=C3?= =?utf-8?q?=A9?=', 'é'],
    ['=?iso-8859-2?Q?=B1?=', 'ą'],
    ['=?windows-1251?B?z/Do4uXy?=', 'Привет'],
    ['=?koi8-r?B?8NLJ18XU?=', 'Привет'],
    ['=?euc-kr?B?x9Gx2w==?=', '한글'],
    ['=?big5?B?pKSk5Q==?=', '中文'],
    ['=?utf-8*en?q?hi?=', 'hi'],
    ['=?x-unknown?q?=E9?=', 'é'],
    ['=?utf-8?x?bad?=', '=?utf-8?x?bad?='],
    ['=?utf-8?q?unterminated', '=?utf-8?q?unterminated'],
    ['=?iso-8859-1?q?a?= =?utf-8?q?b?=', 'ab'],
  ];
  for (const [input, expected] of cases) assert.equal(decodeEncodedWords(input), expected, input);
});

test('charsets: known labels and the Latin-1 fallback', () => {
  assert.ok(isKnownCharset('iso-8859-15'));
  assert.ok(isKnownCharset('shift_jis'));
  assert.ok(isKnownCharset('gb18030'));
  assert.ok(!isKnownCharset('utf-7'));
  assert.equal(decodeCharset(Buffer.from([0xe9]), 'utf-7'), 'é');
  assert.equal(decodeCharset(Buffer.from('é'), 'us-ascii'), 'é');
  assert.equal(decodeCharset(Buffer.from([0xe9]), 'us-ascii'), 'é');
  assert.equal(decodeCharset(Buffer.from([0x82, 0xa0]), 'shift_jis'), 'あ');
});

test('base64: chunked, whitespace and junk skipped, padding mid-stream', () => {
  const cases: Array<[string, string]> = [
    ['aGVsbG8gd29ybGQ=', 'hello world'],
    ['aGVs\r\nbG8g\r\nd29y bGQ=', 'hello world'],
    ['aGVs!!bG8g*d29y\x01bGQ', 'hello world'],
    ['aGk=aGk=', 'hihi'],
    ['aGk', 'hi'],
    ['a', ''],
    ['', ''],
  ];
  for (const [input, expected] of cases) {
    assert.equal(decodeTransfer(Buffer.from(input, 'latin1'), 'base64')!.toString(), expected, input);
    const d = createTransferDecoder('BASE64')!;
    const parts = [...Buffer.from(input, 'latin1')].map((b) => d.push(Buffer.from([b])));
    assert.equal(Buffer.concat([...parts, d.end()]).toString(), expected, `bytewise ${input}`);
  }
});

/** The plain byte-at-a-time decoder the streaming one must equal: skip junk, "=" ends a group of 2 or 3. */
function referenceBase64(input: Buffer): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const out: number[] = [];
  let quad = 0;
  let have = 0;
  const flush = (): void => {
    if (have === 2) out.push((quad >> 4) & 0xff);
    if (have === 3) out.push((quad >> 10) & 0xff, (quad >> 2) & 0xff);
    quad = 0;
    have = 0;
  };
  for (const c of input) {
    const ch = String.fromCharCode(c);
    const v = ch === '-' ? 62 : ch === '_' ? 63 : alphabet.indexOf(ch);
    if (v >= 0) {
      quad = (quad << 6) | v;
      if (++have === 4) {
        out.push((quad >> 16) & 0xff, (quad >> 8) & 0xff, quad & 0xff);
        quad = 0;
        have = 0;
      }
    } else if (ch === '=' && have >= 2) flush();
  }
  flush();
  return Buffer.from(out);
}

test('base64: random input in random chunks decodes as the byte loop does', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pool = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_AQgw/+09zZ', 'latin1');
  const junk = [0x0d, 0x0a, 0x20, 0x09, 0x3d, 0x2a, 0x00, 0x80, 0xff, 0xc3];
  for (let round = 0; round < 400; round++) {
    // Small inputs, then larger ones, then some over the decoder's native slice size (32 KB) in large chunks.
    const size = rand(round < 300 ? 40 : round < 390 ? 3000 : 200_000);
    const input = Buffer.alloc(size);
    const junkRate = [0, 2, 10, 50][round % 4]!;
    for (let i = 0; i < size; i++) input[i] = rand(100) < junkRate ? junk[rand(junk.length)]! : pool[rand(pool.length)]!;
    const d = createTransferDecoder('base64')!;
    const parts: Buffer[] = [];
    for (let i = 0; i < size; ) {
      const n = 1 + rand(round >= 390 ? 100_000 : round % 2 ? 7 : 600);
      parts.push(d.push(input.subarray(i, i + n)));
      i += n;
    }
    parts.push(d.end());
    assert.deepEqual(Buffer.concat(parts), referenceBase64(input), `round ${round}: ${input.toString('latin1')}`);
  }
});

test('base64: a large attachment in 64 KB chunks', () => {
  const raw = Buffer.alloc(1_000_003);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919 + (i >> 8)) & 0xff;
  const text = raw.toString('base64').replace(/.{76}/g, '$&\r\n');
  const encoded = Buffer.from(text);
  const d = createTransferDecoder('base64')!;
  const parts: Buffer[] = [];
  for (let i = 0; i < encoded.length; i += 65536) parts.push(d.push(encoded.subarray(i, i + 65536)));
  parts.push(d.end());
  assert.deepEqual(Buffer.concat(parts), raw);
});

test('base64 with reuseOutput: the same bytes, every chunk decoded into one buffer (valid until the next push)', () => {
  const raw = Buffer.alloc(700_001);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 104729 + (i >> 5)) & 0xff;
  // Padding mid-stream too: concatenated base64 (the byte loop's path) must still come out right.
  const text = raw.subarray(0, 300_001).toString('base64') + raw.subarray(300_001).toString('base64');
  const encoded = Buffer.from(text.replace(/.{76}/g, '$&\r\n'));
  const d = createTransferDecoder('base64', { reuseOutput: true })!;
  const copies: Buffer[] = [];
  const backings = new Set<ArrayBuffer>();
  for (let i = 0; i < encoded.length; i += 65536) {
    const out = d.push(encoded.subarray(i, i + 65536));
    backings.add(out.buffer as ArrayBuffer);
    copies.push(Buffer.from(out)); // consumed before the next push
  }
  copies.push(Buffer.from(d.end()));
  assert.deepEqual(Buffer.concat(copies), raw);
  assert.ok(backings.size <= 3, `outputs share their memory (${backings.size} buffers for ${copies.length} chunks)`);
});

test('quoted-printable: soft breaks, trailing space, bad escapes kept', () => {
  const cases: Array<[string, string]> = [
    ['caf=C3=A9', 'café'],
    ['soft=\r\nbreak', 'softbreak'],
    ['soft=  \r\nbreak', 'softbreak'],
    ['trailing   \r\nspace', 'trailing\r\nspace'],
    ['lf only=\nx\ny', 'lf onlyx\ny'],
    ['bad =ZZ =4', 'bad =ZZ =4'],
    ['lower =c3=a9', 'lower é'],
    ['end=', 'end'],
    ['a\x00b', 'a\x00b'],
  ];
  for (const [input, expected] of cases) {
    assert.equal(decodeTransfer(Buffer.from(input, 'latin1'), 'quoted-printable')!.toString('utf8'), expected, input);
    const d = createTransferDecoder('quoted-printable')!;
    const parts = [...Buffer.from(input, 'latin1')].map((b) => Buffer.from(d.push(Buffer.from([b]))));
    assert.equal(Buffer.concat([...parts, d.end()]).toString('utf8'), expected, `bytewise ${input}`);
  }
  // A line longer than the decoder's look-ahead, with no line break at all.
  const long = Buffer.from('=41'.repeat(10_000) + '=');
  const d = createTransferDecoder('quoted-printable')!;
  const out = Buffer.concat([d.push(long.subarray(0, 12_345)), d.push(long.subarray(12_345)), d.end()]);
  assert.equal(out.toString(), 'A'.repeat(10_000));
});

test('identity and unknown encodings', () => {
  assert.equal(createTransferDecoder('x-uuencode'), null);
  assert.equal(decodedSize(Buffer.from('abc'), 'x-uuencode'), null);
  assert.equal(decodedSize(Buffer.from('abc'), '8bit'), 3);
  assert.equal(decodedSize(Buffer.from('YWJj'), 'base64'), 3);
  const d = createTransferDecoder(' Binary ')!;
  assert.equal(Buffer.concat([d.push(Buffer.from([0, 255])), d.end()]).length, 2);
});
