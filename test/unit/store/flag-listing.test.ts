// The compact flag listing both SQL backends build (src/store/shared/flag-listing.ts):
// parsing the packed "uid,modseq,flags,..." string and the keyword lines,
// interning flag sets, and sorting rows a scan returned out of uid order.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { listingFromPacked } from '../../../src/store/shared/flag-listing.js';
import type { FlagListing } from '../../../src/mail/ports.js';

const rows = (l: FlagListing) => Array.from(l.uids, (uid, i) => [uid, l.modseqs[i], l.flagSets[l.flagSet[i]!]] as const);

describe('listingFromPacked', () => {
  test('parses rows and keywords, and lists each flag set once', () => {
    // flags bits: 1 = \Seen, 4 = \Flagged; keywords are atoms and may hold commas.
    const l = listingFromPacked(4, '1,10,1,2,11,0,5,9000000000,5,7,12,1', '7 $Work a,b\n2 $Later');
    assert.deepEqual(rows(l), [
      [1, 10, ['\\Seen']],
      [2, 11, ['$Later']],
      [5, 9000000000, ['\\Seen', '\\Flagged']],
      [7, 12, ['\\Seen', '$Work', 'a,b']],
    ]);
    assert.equal(l.flagSets.length, 4);
    const same = listingFromPacked(3, '1,1,1,2,1,1,3,1,1', null);
    assert.equal(same.flagSets.length, 1);
    assert.deepEqual([...same.flagSet], [0, 0, 0]);
  });

  test('an empty mailbox and rows out of uid order', () => {
    assert.equal(listingFromPacked(0, null, null).uids.length, 0);
    const l = listingFromPacked(3, '9,3,0,2,1,1,5,2,4', null);
    assert.deepEqual(rows(l), [
      [2, 1, ['\\Seen']],
      [5, 2, ['\\Flagged']],
      [9, 3, []],
    ]);
  });

  test('rows out of order, dense and sparse UIDs, each UID with its own modseq and flags', () => {
    // Dense: each UID goes to its slot. Sparse (span far above 4 x rows + 1024): sorted instead.
    for (const step of [1, 10_000]) {
      const n = 3000;
      const uidAt = (k: number) => 1 + k * step;
      // Heap order after flag changes: most in order, the changed ones moved to the end.
      const order = [...Array.from({ length: n }, (_, k) => k).filter((k) => k % 7 !== 3), ...Array.from({ length: n }, (_, k) => k).filter((k) => k % 7 === 3).reverse()];
      const packed = order.map((k) => `${uidAt(k)},${100 + k},${k % 7 === 3 ? 1 : 0}`).join(',');
      const l = listingFromPacked(n, packed, null);
      assert.deepEqual(
        rows(l),
        Array.from({ length: n }, (_, k) => [uidAt(k), 100 + k, k % 7 === 3 ? ['\\Seen'] : []]),
        `step ${step}`,
      );
    }
    // A repeated UID (no store lists one) is not lost: sorted, in scan order.
    assert.deepEqual(rows(listingFromPacked(3, '2,1,0,1,1,0,2,3,0', null)).map(([uid, modseq]) => [uid, modseq]), [[1, 1], [2, 1], [2, 3]]);
  });
});
