import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const search = (keys: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'SEARCH',
  uid: false,
  charset: null,
  returns: null,
  key: { kind: 'AND', keys },
  ...extra,
});
const flag = (f: string, present = true) => ({ kind: 'flag', flag: f, present });
const set = (start: number | '*', end: number | '*' = start) => ({ kind: 'set', ranges: [{ start, end }] });

describe('SEARCH parser: keys', () => {
  const cases: Array<[string, unknown[]]> = [
    ['ALL', [{ kind: 'ALL' }]],
    ['answered deleted draft flagged seen recent', ['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen', '\\Recent'].map((f) => flag(f))],
    ['UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN', ['\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen'].map((f) => flag(f, false))],
    ['NEW OLD', [{ kind: 'NEW' }, { kind: 'OLD' }]],
    ['KEYWORD $Forwarded UNKEYWORD Junk', [flag('$Forwarded'), flag('Junk', false)]],
    [
      'BCC a CC "b c" FROM {3}\r\nd e SUBJECT "Grüße" TO x',
      [
        { kind: 'header', field: 'Bcc', value: b('a') },
        { kind: 'header', field: 'Cc', value: b('b c') },
        { kind: 'header', field: 'From', value: b('d e') },
        { kind: 'header', field: 'Subject', value: b('Grüße') },
        { kind: 'header', field: 'To', value: b('x') },
      ],
    ],
    ['HEADER X-Spam-Flag YES', [{ kind: 'header', field: 'X-Spam-Flag', value: b('YES') }]],
    ['HEADER "Message-ID" ""', [{ kind: 'header', field: 'Message-ID', value: b('') }]],
    ['BODY hello TEXT "a \\"q\\""', [{ kind: 'BODY', value: b('hello') }, { kind: 'TEXT', value: b('a "q"') }]],
    [
      'BEFORE 1-Feb-1994 ON "01-feb-1994" SINCE 28-Feb-2024',
      [
        { kind: 'date', field: 'internal', op: 'before', day: '1994-02-01' },
        { kind: 'date', field: 'internal', op: 'on', day: '1994-02-01' },
        { kind: 'date', field: 'internal', op: 'since', day: '2024-02-28' },
      ],
    ],
    [
      'SENTBEFORE 1-Jan-2000 SENTON 2-Jan-2000 SENTSINCE 3-Jan-2000',
      [
        { kind: 'date', field: 'sent', op: 'before', day: '2000-01-01' },
        { kind: 'date', field: 'sent', op: 'on', day: '2000-01-02' },
        { kind: 'date', field: 'sent', op: 'since', day: '2000-01-03' },
      ],
    ],
    [
      'SAVEDBEFORE 1-Jan-2000 SAVEDON 2-Jan-2000 SAVEDSINCE 3-Jan-2000 SAVEDATESUPPORTED',
      [
        { kind: 'date', field: 'save', op: 'before', day: '2000-01-01' },
        { kind: 'date', field: 'save', op: 'on', day: '2000-01-02' },
        { kind: 'date', field: 'save', op: 'since', day: '2000-01-03' },
        { kind: 'SAVEDATESUPPORTED' },
      ],
    ],
    [
      'LARGER 1000 SMALLER 9007199254740991',
      [
        { kind: 'size', op: 'larger', octets: 1000 },
        { kind: 'size', op: 'smaller', octets: 9007199254740991 },
      ],
    ],
    ['1:3 UID 5:* $', [{ kind: 'seq', set: set(1, 3) }, { kind: 'UID', set: set(5, '*') }, { kind: 'seq', set: { kind: 'saved' } }]],
    ['*', [{ kind: 'seq', set: set('*') }]],
    ['NOT SEEN', [{ kind: 'NOT', key: flag('\\Seen') }]],
    ['OR SEEN (FLAGGED 2)', [{ kind: 'OR', left: flag('\\Seen'), right: { kind: 'AND', keys: [flag('\\Flagged'), { kind: 'seq', set: set(2) }] } }]],
    ['OR OR SEEN DRAFT NEW', [{ kind: 'OR', left: { kind: 'OR', left: flag('\\Seen'), right: flag('\\Draft') }, right: { kind: 'NEW' } }]],
    ['MODSEQ 620162338', [{ kind: 'MODSEQ', modseq: 620162338, entry: null }]],
    ['MODSEQ "/flags/\\\\draft" all 620162338', [{ kind: 'MODSEQ', modseq: 620162338, entry: { name: '/flags/\\draft', type: 'all' } }]],
    ['MODSEQ 0', [{ kind: 'MODSEQ', modseq: 0, entry: null }]],
    [
      'OLDER 3600 YOUNGER 60',
      [
        { kind: 'age', op: 'older', seconds: 3600 },
        { kind: 'age', op: 'younger', seconds: 60 },
      ],
    ],
    [
      'EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9',
      [
        { kind: 'EMAILID', id: 'M6d99ac3275bb4e' },
        { kind: 'THREADID', id: 'T64b478a75b7ea9' },
      ],
    ],
  ];
  for (const [keys, expected] of cases) {
    const wire = `a SEARCH ${keys}`;
    test(wire.replace(/\r\n/g, '\\r\\n'), () => assert.deepEqual(cmd(wire), search(expected)));
  }
});

describe('SEARCH parser: program options', () => {
  test('UID SEARCH', () => assert.deepEqual(cmd('a UID SEARCH ALL'), search([{ kind: 'ALL' }], { uid: true })));
  test('CHARSET atom and quoted', () => {
    assert.deepEqual(cmd('a SEARCH CHARSET UTF-8 ALL'), search([{ kind: 'ALL' }], { charset: 'UTF-8' }));
    assert.deepEqual(cmd('a SEARCH charset "iso-8859-1" ALL'), search([{ kind: 'ALL' }], { charset: 'iso-8859-1' }));
  });
  test('RETURN options', () => {
    assert.deepEqual(
      cmd('a SEARCH RETURN (MIN MAX ALL COUNT SAVE) ALL'),
      search([{ kind: 'ALL' }], { returns: [{ kind: 'MIN' }, { kind: 'MAX' }, { kind: 'ALL' }, { kind: 'COUNT' }, { kind: 'SAVE' }] }),
    );
    assert.deepEqual(cmd('a SEARCH RETURN () ALL'), search([{ kind: 'ALL' }], { returns: [] }));
  });
  test('RETURN PARTIAL, both directions', () => {
    assert.deepEqual(
      cmd('a UID SEARCH RETURN (PARTIAL 1:100) UNDELETED'),
      search([flag('\\Deleted', false)], { uid: true, returns: [{ kind: 'PARTIAL', range: { start: 1, end: 100 } }] }),
    );
    assert.deepEqual(
      cmd('a SEARCH RETURN (COUNT PARTIAL -1:-100) ALL'),
      search([{ kind: 'ALL' }], { returns: [{ kind: 'COUNT' }, { kind: 'PARTIAL', range: { start: -1, end: -100 } }] }),
    );
  });
  test('RETURN then CHARSET', () => {
    assert.deepEqual(
      cmd('a SEARCH RETURN (COUNT) CHARSET US-ASCII SEEN'),
      search([flag('\\Seen')], { returns: [{ kind: 'COUNT' }], charset: 'US-ASCII' }),
    );
  });
  test('8-bit search string in a literal stays bytes', () => {
    const wire = Buffer.concat([Buffer.from('a SEARCH CHARSET ISO-8859-1 SUBJECT {3}\r\n'), Buffer.from([0x66, 0xfc, 0x72]), Buffer.from('\r\n')]);
    assert.deepEqual(
      cmd(wire),
      search([{ kind: 'header', field: 'Subject', value: Buffer.from([0x66, 0xfc, 0x72]) }], { charset: 'ISO-8859-1' }),
    );
  });
});

describe('SEARCH parser: errors', () => {
  const errors: Array<[string, string]> = [
    ['a SEARCH', 'Expected SP after SEARCH'],
    ['a SEARCH FOO', 'Unknown search key FOO'],
    ['a SEARCH 1:x', "Invalid sequence set '1:x'"],
    ['a SEARCH SINCE 31-Feb-2024', "Invalid date '31-Feb-2024' (expected e.g. 1-Feb-1994)"],
    ['a SEARCH SINCE 1-Foo-2024', "Invalid date '1-Foo-2024' (expected e.g. 1-Feb-1994)"],
    ['a SEARCH OR SEEN', 'Expected SP between the two keys of OR'],
    ['a SEARCH (SEEN', 'Expected SP between items of the search key list'],
    ['a SEARCH ()', 'Expected at least one item in the search key list'],
    ['a SEARCH KEYWORD \\Seen', 'KEYWORD takes a keyword, not a system flag'],
    ['a SEARCH RETURN (FOO) ALL', 'Unknown SEARCH return option FOO'],
    ['a SEARCH RETURN (PARTIAL 1:-5) ALL', 'Expected partial range end, found \'-5)\''],
    ['a SEARCH LARGER x', "Expected size, found 'x'"],
    ['a SEARCH OLDER 0', 'Expected number of seconds, found 0'],
    ['a SEARCH MODSEQ "/foo" all 1', "Invalid MODSEQ entry name '/foo'"],
    ['a SEARCH MODSEQ "/flags/x" some 1', "Invalid MODSEQ entry type 'some'"],
    ['a SEARCH SEEN  NEW', 'Expected search key, found SP'],
    ['a SEARCH ' + 'NOT '.repeat(100) + 'SEEN', 'Search program is nested too deeply'],
  ];
  for (const [wire, text] of errors) {
    test(`error: ${wire.slice(0, 60)}`, () => assert.equal(err(wire), text));
  }
});
