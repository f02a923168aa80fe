import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';

const set = (...r: Array<[number | '*', number | '*']>) => ({ kind: 'set', ranges: r.map(([start, end]) => ({ start, end })) });

describe('SELECT / EXAMINE parser', () => {
  const cases: Array<[string, unknown]> = [
    ['a SELECT INBOX', { name: 'SELECT', mailbox: 'INBOX', params: [] }],
    ['a select inbox', { name: 'SELECT', mailbox: 'inbox', params: [] }],
    ['a EXAMINE "Sent Items"', { name: 'EXAMINE', mailbox: 'Sent Items', params: [] }],
    ['a SELECT "Entw&APw-rfe"', { name: 'SELECT', mailbox: 'Entw&APw-rfe', params: [] }],
    ['a SELECT "Entwürfe"', { name: 'SELECT', mailbox: 'Entwürfe', params: [] }],
    ['a SELECT INBOX (CONDSTORE)', { name: 'SELECT', mailbox: 'INBOX', params: [{ kind: 'CONDSTORE' }] }],
    [
      'a SELECT INBOX (QRESYNC (67890007 715194045000 41,43:211,214:541))',
      {
        name: 'SELECT',
        mailbox: 'INBOX',
        params: [
          {
            kind: 'QRESYNC',
            uidValidity: 67890007,
            modseq: 715194045000,
            knownUids: set([41, 41], [43, 211], [214, 541]),
            seqMatch: null,
          },
        ],
      },
    ],
    [
      'a EXAMINE INBOX (QRESYNC (67890007 60115194045000 41:211,214:541 (1:11,20 3:20,50)))',
      {
        name: 'EXAMINE',
        mailbox: 'INBOX',
        params: [
          {
            kind: 'QRESYNC',
            uidValidity: 67890007,
            modseq: 60115194045000,
            knownUids: set([41, 211], [214, 541]),
            seqMatch: { seqs: set([1, 11], [20, 20]), uids: set([3, 20], [50, 50]) },
          },
        ],
      },
    ],
    [
      'a SELECT INBOX (QRESYNC (1 2 (1 5)) CONDSTORE)',
      {
        name: 'SELECT',
        mailbox: 'INBOX',
        params: [
          { kind: 'QRESYNC', uidValidity: 1, modseq: 2, knownUids: null, seqMatch: { seqs: set([1, 1]), uids: set([5, 5]) } },
          { kind: 'CONDSTORE' },
        ],
      },
    ],
  ];
  for (const [wire, expected] of cases) test(wire, () => assert.deepEqual(cmd(wire), expected));

  const errors: Array<[string, string]> = [
    ['a SELECT', 'Expected SP after SELECT'],
    ['a SELECT INBOX (FOO)', 'Unknown SELECT parameter FOO'],
    ['a SELECT INBOX (QRESYNC (0 1))', 'Expected UIDVALIDITY, found 0'],
    ['a SELECT INBOX (QRESYNC (1 20050715194045000))', 'Number 20050715194045000 is out of range'],
    ['a SELECT INBOX (QRESYNC (1 2 1:*))', "'*' is not allowed in known UIDs"],
    ['a SELECT INBOX (QRESYNC (1 2)', 'Expected SP between items of SELECT parameters'],
    ['a SELECT "bad\\x"', 'Invalid escape in quoted string (only \\" and \\\\ are allowed)'],
  ];
  for (const [wire, text] of errors) test(`error: ${wire}`, () => assert.equal(err(wire), text));
});
