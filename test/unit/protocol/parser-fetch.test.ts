import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';

const set = (...r: Array<[number | '*', number | '*']>) => ({ kind: 'set', ranges: r.map(([start, end]) => ({ start, end })) });
const fetch = (attributes: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'FETCH',
  uid: false,
  set: set([1, 1]),
  attributes,
  modifiers: {},
  macro: null,
  ...extra,
});
const body = (section: { part?: number[]; text?: string | null; fields?: string[] }, peek = false, partial: unknown = null) => ({
  kind: 'BODY[]',
  peek,
  section: { part: section.part ?? [], text: section.text ?? null, fields: section.fields ?? [] },
  partial,
});

describe('FETCH parser', () => {
  const cases: Array<[string, unknown]> = [
    ['a FETCH 1 FLAGS', fetch([{ kind: 'FLAGS' }])],
    ['a fetch 1 (uid rfc822.size)', fetch([{ kind: 'UID' }, { kind: 'RFC822.SIZE' }])],
    [
      'a FETCH 1 ALL',
      fetch([{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }], { macro: 'ALL' }),
    ],
    ['a FETCH 1 FAST', fetch([{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }], { macro: 'FAST' })],
    [
      'a FETCH 1 full',
      fetch([{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }], {
        macro: 'FULL',
      }),
    ],
    ['a FETCH 1 (BODY BODYSTRUCTURE)', fetch([{ kind: 'BODY' }, { kind: 'BODYSTRUCTURE' }])],
    ['a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT)', fetch([{ kind: 'RFC822' }, { kind: 'RFC822.HEADER' }, { kind: 'RFC822.TEXT' }])],
    ['a FETCH 1 BODY[]', fetch([body({})])],
    ['a FETCH 1 BODY.PEEK[]<0.1024>', fetch([body({}, true, { start: 0, length: 1024 })])],
    ['a FETCH 1 BODY[TEXT]', fetch([body({ text: 'TEXT' })])],
    ['a FETCH 1 BODY[header]', fetch([body({ text: 'HEADER' })])],
    ['a FETCH 1 BODY[1.2.3]', fetch([body({ part: [1, 2, 3] })])],
    ['a FETCH 1 BODY[2.MIME]', fetch([body({ part: [2], text: 'MIME' })])],
    ['a FETCH 1 BODY[4.2.HEADER]', fetch([body({ part: [4, 2], text: 'HEADER' })])],
    [
      'a FETCH 1 BODY.PEEK[HEADER.FIELDS (From "Subject" {2}\r\nTo)]',
      fetch([body({ text: 'HEADER.FIELDS', fields: ['From', 'Subject', 'To'] }, true)]),
    ],
    ['a FETCH 1 BODY[1.HEADER.FIELDS.NOT (X-Spam)]', fetch([body({ part: [1], text: 'HEADER.FIELDS.NOT', fields: ['X-Spam'] })])],
    ['a FETCH 1 BINARY[1.2]<5.10>', fetch([{ kind: 'BINARY[]', peek: false, part: [1, 2], partial: { start: 5, length: 10 } }])],
    ['a FETCH 1 BINARY.PEEK[]', fetch([{ kind: 'BINARY[]', peek: true, part: [], partial: null }])],
    ['a FETCH 1 BINARY.SIZE[3]', fetch([{ kind: 'BINARY.SIZE', part: [3] }])],
    [
      'a FETCH 1 (MODSEQ SAVEDATE EMAILID THREADID)',
      fetch([{ kind: 'MODSEQ' }, { kind: 'SAVEDATE' }, { kind: 'EMAILID' }, { kind: 'THREADID' }]),
    ],
    ['a FETCH 1 (PREVIEW)', fetch([{ kind: 'PREVIEW', lazy: false }])],
    ['a FETCH 1 (PREVIEW (LAZY) FLAGS)', fetch([{ kind: 'PREVIEW', lazy: true }, { kind: 'FLAGS' }])],
    ['a FETCH 1 PREVIEW (lazy)', fetch([{ kind: 'PREVIEW', lazy: true }])],
    ['a FETCH 1 PREVIEW (CHANGEDSINCE 4)', fetch([{ kind: 'PREVIEW', lazy: false }], { modifiers: { changedSince: 4 } })],
    ['a FETCH 1 PREVIEW (LAZY=FUZZY)', fetch([{ kind: 'PREVIEW', lazy: true, fuzzy: 'PREVIEW' }])],
    ['a FETCH 1 SNIPPET (CHANGEDSINCE 4)', fetch([{ kind: 'PREVIEW', lazy: false, fuzzy: 'SNIPPET' }], { modifiers: { changedSince: 4 } })],
    ['a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)', fetch([{ kind: 'FLAGS' }], { set: set([1, '*']), modifiers: { changedSince: 12345 } })],
    [
      'a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 9007199254740991 VANISHED)',
      fetch([{ kind: 'FLAGS' }], { uid: true, set: set([300, 500]), modifiers: { changedSince: 9007199254740991, vanished: true } }),
    ],
    ['a FETCH $ FLAGS', fetch([{ kind: 'FLAGS' }], { set: { kind: 'saved' } })],
    ['a FETCH 2,4:7,9,12:* FLAGS', fetch([{ kind: 'FLAGS' }], { set: set([2, 2], [4, 7], [9, 9], [12, '*']) })],
  ];
  for (const [wire, expected] of cases) {
    test(wire.replace(/\r\n/g, '\\r\\n'), () => assert.deepEqual(cmd(wire), expected));
  }

  const errors: Array<[string, string]> = [
    ['a FETCH 1:x FLAGS', "Invalid sequence set '1:x'"],
    ['a FETCH 0 FLAGS', "Invalid sequence set '0'"],
    ['a FETCH 4294967296 FLAGS', "Invalid sequence set '4294967296'"],
    ['a FETCH 1 FOO', "Unknown fetch attribute 'FOO'"],
    ['a FETCH 1 (FLAGS', 'Expected SP between items of the fetch attribute list'],
    ['a FETCH 1 ()', 'Expected at least one item in the fetch attribute list'],
    ['a FETCH 1 BODY[0]', 'Expected section part number, found 0'],
    ['a FETCH 1 BODY[MIME]', "Invalid section text 'MIME'"],
    ['a FETCH 1 BODY[1.2', "Expected ']' to end the section, found end of command"],
    ['a FETCH 1 BODY[]<1.0>', 'Expected partial length, found 0'],
    ['a FETCH 1 BODY.PEEK', "Expected '[' after BODY.PEEK"],
    ['a FETCH 1 FLAGS (VANISHED)', 'VANISHED is only allowed with UID FETCH'],
    ['a UID FETCH 1 FLAGS (VANISHED)', 'VANISHED requires CHANGEDSINCE'],
    ['a FETCH 1 FLAGS (CHANGEDSINCE 0)', 'Expected mod-sequence, found 0'],
    ['a FETCH 1 FLAGS (CHANGEDSINCE 9007199254740992)', 'Number 9007199254740992 is out of range'],
    ['a FETCH 1 FLAGS (FOO)', 'Unknown FETCH modifier FOO'],
    ['a FETCH 1  FLAGS', 'Expected fetch attribute, found SP'],
    ['a FETCH', 'Expected SP after FETCH'],
    ['a FETCH 1 FLAGS extra', "Expected '(' to start FETCH modifiers, found 'extra'"],
    ['a FETCH 1 (FLAGS) (CHANGEDSINCE 1) x', "Unexpected SP after the FETCH arguments"],
  ];
  for (const [wire, text] of errors) {
    test(`error: ${wire}`, () => assert.equal(err(wire), text));
  }
});
