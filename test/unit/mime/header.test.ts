import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeParams, parseHeader, parseStructured, splitHeaderFields } from '../../../src/mime/header.js';
import { parseDate } from '../../../src/mime/date.js';
import { baseSubject } from '../../../src/mime/subject.js';

test('header fields: unfolding, case, obsolete "Name :", garbage lines, NUL and 8-bit bytes', () => {
  const header = Buffer.concat([
    Buffer.from('Subject: one\r\n two\r\n\tthree\r\nGARBAGE LINE\r\nX-Obs  : v\r\nX-Nul: a\x00b\r\nX-8: '),
    Buffer.from([0xe9]),
    Buffer.from('\nTo: x\r\n\r\nBody: not a field\r\n'),
  ]);
  assert.deepEqual(parseHeader(header), [
    { name: 'subject', value: 'one two\tthree' },
    { name: 'x-obs', value: 'v' },
    { name: 'x-nul', value: 'a\x00b' },
    { name: 'x-8', value: 'é' },
    { name: 'to', value: 'x' },
  ]);
  const f = splitHeaderFields(header)[0]!;
  assert.equal(header.subarray(f.start, f.end).toString(), 'Subject: one\r\n two\r\n\tthree\r\n');
});

test('structured values: quoting, comments, case, junk', () => {
  const cases: Array<[string, string, Array<[string, string]>]> = [
    ['text/plain', 'text/plain', []],
    ['Text/Plain; Charset=UTF-8', 'text/plain', [['charset', 'UTF-8']]],
    ['multipart/mixed; boundary="a;b \\"c\\""', 'multipart/mixed', [['boundary', 'a;b "c"']]],
    ['text/plain (comment; x=y) ; format=flowed (c)', 'text/plain', [['format', 'flowed']]],
    ['attachment; filename="a b.pdf"; size=12;', 'attachment', [['filename', 'a b.pdf'], ['size', '12']]],
    ['text/plain; novalue; a = b', 'text/plain', [['a', 'b']]],
    ['image/png; name="unterminated', 'image/png', [['name', 'unterminated']]],
  ];
  for (const [input, value, params] of cases) assert.deepEqual(parseStructured(input), { value, params }, input);
});

test('RFC 2231: continuations and charset\'lang\'value decoding', () => {
  const params = parseStructured(
    "attachment; filename*0*=utf-8'fr'R%C3%A9sum; filename*1=\"é 1.pdf\"; title*=iso-8859-1''%E9t%E9; name=plain",
  ).params;
  const decoded = decodeParams(params);
  assert.equal(decoded.get('filename'), 'Résumé 1.pdf');
  assert.equal(decoded.get('title'), 'été');
  assert.equal(decoded.get('name'), 'plain');
  // Out-of-order continuations are put back in order.
  assert.equal(decodeParams([['n*1', 'b'], ['n*0', 'a']]).get('n'), 'ab');
});

test('dates: RFC 5322 and obsolete forms', () => {
  const cases: Array<[string, number | null, number | null]> = [
    ['Tue, 2 Jan 2024 09:30:15 -0500', Date.UTC(2024, 0, 2, 14, 30, 15), -300],
    ['2 Jan 2024 09:30:15 +0000', Date.UTC(2024, 0, 2, 9, 30, 15), 0],
    ['Tue, 02 Jan 24 09:30 GMT', Date.UTC(2024, 0, 2, 9, 30, 0), 0],
    ['Tue, 02 Jan 99 09:30:00 EST', Date.UTC(1999, 0, 2, 14, 30, 0), -300],
    ['2 Jan 124 09:30:00 UT', Date.UTC(2024, 0, 2, 9, 30, 0), 0],
    ['Tue,  2 Jan 2024 09:30:15 +0530 (IST)', Date.UTC(2024, 0, 2, 4, 0, 15), 330],
    ['2 January 2024 9:05:01 Z', Date.UTC(2024, 0, 2, 9, 5, 1), 0],
    ['2 Jan 2024 09:30:15 A', Date.UTC(2024, 0, 2, 9, 30, 15), 0],
    ['tomorrow', null, null],
    ['32 Jan 2024 10:00', null, null],
    ['', null, null],
  ];
  for (const [input, time, offset] of cases) {
    const d = parseDate(input);
    assert.equal(d?.time ?? null, time, input);
    assert.equal(d?.offset ?? null, offset, input);
  }
});

test('base subject (RFC 5256 2.1)', () => {
  const cases: Array<[string, string]> = [
    ['Hello', 'Hello'],
    ['Re: Hello', 'Hello'],
    ['RE: Re: re:Hello', 'Hello'],
    ['Fwd: Hello (fwd)', 'Hello'],
    ['[list] Re: [other] Fw: Hello', 'Hello'],
    ['Re[2]: Hello', 'Hello'],
    ['[Fwd: Re: Hello]', 'Hello'],
    ['[only a blob]', '[only a blob]'],
    ['Re:   spaced\t out  ', 'spaced out'],
    ['=?utf-8?q?Re=3A_caf=C3=A9?=', 'café'],
    ['', ''],
  ];
  for (const [input, expected] of cases) assert.equal(baseSubject(input), expected, input);
});
