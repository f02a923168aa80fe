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
