// SORT / UID SORT (RFC 5256, RFC 5957, ESORT RFC 5267) and THREAD parsing,
// and the SORT / THREAD / ESORT response serialisation.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';
import type { Response, SerializeOptions, ThreadNode } from '../../../src/protocol/imap/response.js';
import { serializeResponse, wireToBuffer } from '../../../src/protocol/imap/serializer.js';
import { orderedSequenceSet } from '../../../src/imap/sorting.js';

const all = { kind: 'AND', keys: [{ kind: 'ALL' }] };
const crit = (key: string, reverse = false) => ({ key, reverse });

describe('SORT parser', () => {
  const cases: Array<[string, unknown]> = [
    ['SORT (SUBJECT) UTF-8 ALL', { name: 'SORT', uid: false, returns: null, criteria: [crit('SUBJECT')], charset: 'UTF-8', key: all }],
    [
      'uid sort (arrival cc date from size subject to) us-ascii all',
      {
        name: 'SORT',
        uid: true,
        returns: null,
        criteria: ['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO'].map((k) => crit(k)),
        charset: 'us-ascii',
        key: all,
      },
    ],
    [
      'SORT (REVERSE DATE DISPLAYFROM reverse DISPLAYTO) "UTF-8" SINCE 1-Feb-1994 UNSEEN',
      {
        name: 'SORT',
        uid: false,
        returns: null,
        criteria: [crit('DATE', true), crit('DISPLAYFROM'), crit('DISPLAYTO', true)],
        charset: 'UTF-8',
        key: {
          kind: 'AND',
          keys: [
            { kind: 'date', field: 'internal', op: 'since', day: '1994-02-01' },
            { kind: 'flag', flag: '\\Seen', present: false },
          ],
        },
      },
    ],
    [
      'UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk',
      {
        name: 'SORT',
        uid: true,
        returns: [],
        criteria: [crit('DATE', true)],
        charset: 'UTF-8',
        key: { kind: 'AND', keys: [{ kind: 'flag', flag: '\\Deleted', present: false }, { kind: 'flag', flag: '$Junk', present: false }] },
      },
    ],
    [
      'SORT RETURN (MIN MAX ALL COUNT) (SIZE) UTF-8 (OR 1:3 SUBJECT "x y")',
      {
        name: 'SORT',
        uid: false,
        returns: [{ kind: 'MIN' }, { kind: 'MAX' }, { kind: 'ALL' }, { kind: 'COUNT' }],
        criteria: [crit('SIZE')],
        charset: 'UTF-8',
        key: {
          kind: 'AND',
          keys: [
            {
              kind: 'AND',
              keys: [
                {
                  kind: 'OR',
                  left: { kind: 'seq', set: { kind: 'set', ranges: [{ start: 1, end: 3 }] } },
                  right: { kind: 'header', field: 'Subject', value: Buffer.from('x y') },
                },
              ],
            },
          ],
        },
      },
    ],
  ];
  for (const [wire, expected] of cases) test(wire, () => assert.deepEqual(cmd(`a ${wire}`), expected));

  const errors: Array<[string, RegExp]> = [
    ['SORT', /Expected SP/],
    ['SORT SUBJECT UTF-8 ALL', /'\('/],
    ['SORT () UTF-8 ALL', /at least one/],
    ['SORT (SUBJECT) ALL', /Expected SP after charset/],
    ['SORT (SUBJECT) UTF-8', /Expected SP after charset/],
    ['SORT (NAME) UTF-8 ALL', /Unknown sort criterion NAME/],
    ['SORT (REVERSE) UTF-8 ALL', /Expected SP after REVERSE/],
    ['SORT (REVERSE REVERSE DATE) UTF-8 ALL', /Unknown sort criterion REVERSE/],
    ['SORT (DATE) UTF-8 BOGUS', /Unknown search key BOGUS/],
    ['SORT RETURN (PARTIAL 1:10 ALL) (DATE) UTF-8 ALL', /At most one PARTIAL or ALL/],
    ['SORT RETURN (FOO) (DATE) UTF-8 ALL', /Unknown SEARCH return option FOO/],
    ['SORT (DATE)  UTF-8 ALL', /charset/],
  ];
  for (const [wire, expected] of errors) test(`refuses ${wire}`, () => assert.match(err(`a ${wire}`), expected));
});

describe('THREAD parser', () => {
  test('algorithms, charset and keys', () => {
    assert.deepEqual(cmd('a THREAD ORDEREDSUBJECT UTF-8 ALL'), { name: 'THREAD', uid: false, algorithm: 'ORDEREDSUBJECT', charset: 'UTF-8', key: all });
    assert.deepEqual(cmd('a THREAD refs UTF-8 ALL'), { name: 'THREAD', uid: false, algorithm: 'REFS', charset: 'UTF-8', key: all });
    assert.deepEqual(cmd('a uid thread references "US-ASCII" SEEN 2:*'), {
      name: 'THREAD',
      uid: true,
      algorithm: 'REFERENCES',
      charset: 'US-ASCII',
      key: { kind: 'AND', keys: [{ kind: 'flag', flag: '\\Seen', present: true }, { kind: 'seq', set: { kind: 'set', ranges: [{ start: 2, end: '*' }] } }] },
    });
  });
  test('errors', () => {
    assert.match(err('a THREAD'), /Expected SP after THREAD/);
    assert.match(err('a THREAD REF UTF-8 ALL'), /Unknown threading algorithm REF/);
    assert.match(err('a THREAD REFERENCES UTF-8'), /Expected SP after charset/);
    assert.match(err('a THREAD (REFERENCES) UTF-8 ALL'), /threading algorithm/);
  });
});

const REV1: SerializeOptions = { utf8: false, rev2: false };
const wire = (r: Response): string => wireToBuffer(serializeResponse(r, REV1)).toString('utf8');
const leaf = (id: number): ThreadNode => ({ id, children: [] });

describe('SORT / THREAD / ESORT responses', () => {
  const cases: Array<[Response, string]> = [
    [{ kind: 'SORT', numbers: [] }, '* SORT\r\n'],
    [{ kind: 'SORT', numbers: [5, 3, 4, 1, 2] }, '* SORT 5 3 4 1 2\r\n'],
    [{ kind: 'THREAD', threads: [] }, '* THREAD\r\n'],
    // RFC 5256 section 4 examples.
    [
      {
        kind: 'THREAD',
        threads: [
          leaf(2),
          { id: 3, children: [{ id: 6, children: [{ id: 4, children: [leaf(23)] }, { id: 44, children: [{ id: 7, children: [leaf(96)] }] }] }] },
        ],
      },
      '* THREAD (2)(3 6 (4 23)(44 7 96))\r\n',
    ],
    [{ kind: 'THREAD', threads: [{ id: null, children: [leaf(3), leaf(5)] }] }, '* THREAD ((3)(5))\r\n'],
    // A dummy parent with one child and dummies without messages vanish.
    [{ kind: 'THREAD', threads: [{ id: null, children: [leaf(7)] }, { id: null, children: [] }, leaf(8)] }, '* THREAD (7)(8)\r\n'],
    [{ kind: 'THREAD', threads: [{ id: 1, children: [leaf(2), leaf(3)] }, { id: null, children: [{ id: 4, children: [leaf(6)] }, leaf(5)] }] }, '* THREAD (1 (2)(3))((4 6)(5))\r\n'],
    [{ kind: 'ESEARCH', tag: 'E01', uid: true, all: orderedSequenceSet([23765, 23764, 23763, 23761, 1, 2, 3, 5]) }, '* ESEARCH (TAG "E01") UID ALL 23765,23764,23763,23761,1:3,5\r\n'],
  ];
  for (const [r, expected] of cases) test(JSON.stringify(expected), () => assert.equal(wire(r), expected));

  test('a long reply chain is written without deep recursion', () => {
    let node = leaf(20000);
    for (let i = 19999; i >= 1; i--) node = { id: i, children: [node] };
    const out = wire({ kind: 'THREAD', threads: [node] });
    assert.ok(out.startsWith('* THREAD (1 2 3 '));
    assert.ok(out.endsWith(' 19999 20000)\r\n'));
  });
});
