import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compressUids, formatSequenceSet, parseSequenceSet, sequenceSetHas } from '../../../src/protocol/imap/sequence.js';

const set = (...r: Array<[number | '*', number | '*']>) => ({ kind: 'set' as const, ranges: r.map(([start, end]) => ({ start, end })) });

describe('sequence sets', () => {
  const valid: Array<[string, unknown]> = [
    ['1', set([1, 1])],
    ['1:3,5', set([1, 3], [5, 5])],
    ['2,4:7,9,12:*', set([2, 2], [4, 7], [9, 9], [12, '*'])],
    ['*:4', set(['*', 4])],
    ['*', set(['*', '*'])],
    ['4294967295', set([4294967295, 4294967295])],
    ['$', { kind: 'saved' }],
  ];
  for (const [text, expected] of valid) test(`parse ${text}`, () => assert.deepEqual(parseSequenceSet(text), expected));
  for (const text of ['', '0', '1:0', '01', '1:x', '1,', ',1', '1::2', '4294967296', '$,1', '-1', '1 2', '1:2:3']) {
    test(`reject '${text}'`, () => assert.equal(parseSequenceSet(text), null));
  }
  test('format writes single numbers once', () => {
    assert.equal(formatSequenceSet(set([1, 3], [5, 5], [7, '*'])), '1:3,5,7:*');
    assert.equal(formatSequenceSet({ kind: 'saved' }), '$');
  });
  test('compressUids sorts, deduplicates and makes ranges', () => {
    assert.deepEqual(compressUids([5, 1, 2, 3, 3]), set([1, 3], [5, 5]));
    assert.equal(formatSequenceSet(compressUids([10, 12, 11, 20, 1])), '1,10:12,20');
    assert.deepEqual(compressUids([]), { kind: 'set', ranges: [] });
  });
  test('membership with * and reversed ranges', () => {
    const s = parseSequenceSet('4:2,10:*')!;
    assert.deepEqual([1, 2, 3, 4, 5, 9, 10, 15].map((n) => sequenceSetHas(s, n, 15)), [false, true, true, true, false, false, true, true]);
  });
});
