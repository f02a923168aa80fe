// Parsing of CONTEXT=SEARCH/SORT (RFC 5267: CONTEXT, UPDATE, CANCELUPDATE),
// PARTIAL (RFC 9394: return option and UID FETCH modifier), and the
// serialisation of ADDTO/REMOVEFROM, NOUPDATE, UIDREQUIRED and UIDFETCH.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';
import type { Response } from '../../../src/protocol/imap/response.js';
import { serializeResponse, wireToBuffer } from '../../../src/protocol/imap/serializer.js';

const all = { kind: 'AND', keys: [{ kind: 'ALL' }] };

describe('CONTEXT / PARTIAL parsing', () => {
  const cases: Array<[string, unknown]> = [
    ['SEARCH RETURN (CONTEXT UPDATE COUNT) ALL', { name: 'SEARCH', uid: false, charset: null, returns: [{ kind: 'CONTEXT' }, { kind: 'UPDATE' }, { kind: 'COUNT' }], key: all }],
    ['UID SEARCH RETURN (partial -1:-100) ALL', { name: 'SEARCH', uid: true, charset: null, returns: [{ kind: 'PARTIAL', range: { start: -1, end: -100 } }], key: all }],
    ['SEARCH RETURN (PARTIAL 500:400 MIN) ALL', { name: 'SEARCH', uid: false, charset: null, returns: [{ kind: 'PARTIAL', range: { start: 500, end: 400 } }, { kind: 'MIN' }], key: all }],
    [
      'UID SORT RETURN (UPDATE PARTIAL 1:10) (DATE) UTF-8 ALL',
      { name: 'SORT', uid: true, returns: [{ kind: 'UPDATE' }, { kind: 'PARTIAL', range: { start: 1, end: 10 } }], criteria: [{ key: 'DATE', reverse: false }], charset: 'UTF-8', key: all },
    ],
    ['CANCELUPDATE "B01"', { name: 'CANCELUPDATE', tags: ['B01'] }],
    ['cancelupdate "a" "b c"', { name: 'CANCELUPDATE', tags: ['a', 'b c'] }],
    [
      'UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 PARTIAL -1:-30)',
      { name: 'FETCH', uid: true, set: { kind: 'set', ranges: [{ start: 1, end: '*' }] }, attributes: [{ kind: 'FLAGS' }], modifiers: { changedSince: 5, partial: { start: -1, end: -30 } }, macro: null },
    ],
  ];
  for (const [wire, expected] of cases) test(wire, () => assert.deepEqual(cmd(`a ${wire}`), expected));

  const errors: Array<[string, RegExp]> = [
    ['SEARCH RETURN (ALL PARTIAL 1:5) ALL', /At most one PARTIAL or ALL/],
    ['SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:7) ALL', /At most one PARTIAL or ALL/],
    ['SEARCH RETURN (PARTIAL 0:5) ALL', /partial range start/],
    ['SEARCH RETURN (PARTIAL 1:-5) ALL', /partial range end/],
    ['SEARCH RETURN (PARTIAL -1:5) ALL', /same sign/],
    ['SEARCH RETURN (PARTIAL 1:*) ALL', /partial range end/],
    ['FETCH 1 (FLAGS) (PARTIAL 1:2)', /only allowed with UID FETCH/],
    ['UID FETCH 1 (FLAGS) (PARTIAL 1:2 PARTIAL 1:2)', /PARTIAL given twice/],
    ['CANCELUPDATE', /SP/],
    ['CANCELUPDATE B01', /quoted tags/],
  ];
  for (const [wire, expected] of errors) test(`refuses ${wire}`, () => assert.match(err(`a ${wire}`), expected));
});

describe('CONTEXT / UIDONLY responses', () => {
  const wire = (r: Response): string => wireToBuffer(serializeResponse(r, { utf8: false, rev2: false })).toString();
  test('ADDTO and REMOVEFROM, REMOVEFROM first', () => {
    const set = (a: number, b: number) => ({ kind: 'set' as const, ranges: [{ start: a, end: b }] });
    assert.equal(
      wire({ kind: 'ESEARCH', tag: 'C01', uid: true, addTo: [{ position: 1, set: set(2731, 2733) }], removeFrom: [{ position: 0, set: set(5, 5) }, { position: 3, set: set(7, 8) }] }),
      '* ESEARCH (TAG "C01") UID REMOVEFROM (0 5 3 7:8) ADDTO (1 2731:2733)\r\n',
    );
  });
  test('NOUPDATE, UIDREQUIRED, UIDFETCH', () => {
    assert.equal(wire({ kind: 'status', status: 'NO', code: { kind: 'NOUPDATE', tag: 'B02' }, text: 'Too many contexts' }), '* NO [NOUPDATE "B02"] Too many contexts\r\n');
    assert.equal(wire({ kind: 'tagged', tag: '07', status: 'BAD', code: { kind: 'UIDREQUIRED' }, text: 'No' }), '07 BAD [UIDREQUIRED] No\r\n');
    assert.equal(wire({ kind: 'UIDFETCH', uid: 25996, items: [{ kind: 'FLAGS', flags: ['\\Seen'] }] }), '* 25996 UIDFETCH (FLAGS (\\Seen))\r\n');
  });
});
