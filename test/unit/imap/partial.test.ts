// PARTIAL windows (RFC 9394 3.1): positive from the first result, negative from the last.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { partialIndexes } from '../../../src/imap/partial.js';

describe('partialIndexes', () => {
  const cases: Array<[number, { start: number; end: number }, number[]]> = [
    [10, { start: 1, end: 3 }, [0, 1, 2]],
    [10, { start: 3, end: 1 }, [0, 1, 2]],
    [10, { start: 9, end: 20 }, [8, 9]],
    [10, { start: 11, end: 20 }, []],
    [10, { start: -1, end: -1 }, [9]],
    [10, { start: -1, end: -3 }, [7, 8, 9]],
    [10, { start: -3, end: -1 }, [7, 8, 9]],
    [10, { start: -9, end: -20 }, [0, 1]],
    [10, { start: -11, end: -20 }, []],
    [0, { start: 1, end: 5 }, []],
    [0, { start: -1, end: -5 }, []],
  ];
  for (const [length, range, expected] of cases) {
    test(`${range.start}:${range.end} of ${length}`, () => assert.deepEqual(partialIndexes(length, range), expected));
  }
});
