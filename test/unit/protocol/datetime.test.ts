import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDateTime, formatSearchDate, parseDateTime, parseSearchDate } from '../../../src/protocol/imap/datetime.js';

describe('date-time', () => {
  const valid: Array<[string, string]> = [
    ['17-Jul-1996 02:44:25 -0700', '1996-07-17T09:44:25.000Z'],
    [' 7-Feb-1994 21:52:25 -0800', '1994-02-08T05:52:25.000Z'],
    ['07-feb-1994 21:52:25 +0000', '1994-02-07T21:52:25.000Z'],
    ['7-Feb-1994 21:52:25 +0130', '1994-02-07T20:22:25.000Z'],
    ['29-Feb-2024 00:00:00 +0000', '2024-02-29T00:00:00.000Z'],
  ];
  for (const [text, iso] of valid) test(`parse '${text}'`, () => assert.equal(parseDateTime(text)?.toISOString(), iso));
  for (const text of ['17-Jul-1996 02:44:25', '29-Feb-2023 00:00:00 +0000', '17-Jux-1996 02:44:25 -0700', '17-Jul-1996 24:00:00 -0700', '17-Jul-96 02:44:25 -0700', '17-Jul-1996 02:44:25 -0760', '']) {
    test(`reject '${text}'`, () => assert.equal(parseDateTime(text), null));
  }
  test('format pads the day with a space and applies the offset', () => {
    const d = new Date('1996-07-07T09:44:25Z');
    assert.equal(formatDateTime(d), ' 7-Jul-1996 09:44:25 +0000');
    assert.equal(formatDateTime(d, -420), ' 7-Jul-1996 02:44:25 -0700');
    assert.equal(formatDateTime(new Date('1994-02-17T20:00:00Z'), 90), '17-Feb-1994 21:30:00 +0130');
  });
  test('format and parse round-trip', () => {
    const d = new Date('2001-12-31T23:59:59Z');
    for (const off of [-720, -330, 0, 60, 345, 840]) assert.equal(parseDateTime(formatDateTime(d, off))?.getTime(), d.getTime());
  });
});

describe('search dates', () => {
  test('parse', () => {
    assert.equal(parseSearchDate('1-Feb-1994'), '1994-02-01');
    assert.equal(parseSearchDate('01-DEC-2020'), '2020-12-01');
  });
  for (const text of ['1-Feb-94', '32-Jan-2000', '0-Jan-2000', '1 Feb 1994', '"1-Feb-1994"', '123-Feb-1994']) {
    test(`reject '${text}'`, () => assert.equal(parseSearchDate(text), null));
  }
  test('format', () => assert.equal(formatSearchDate('1994-02-01'), '1-Feb-1994'));
});
