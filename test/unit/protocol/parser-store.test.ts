import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';

const set = (start: number | '*', end: number | '*' = start) => ({ kind: 'set', ranges: [{ start, end }] });
const store = (extra: Record<string, unknown>) => ({
  name: 'STORE',
  uid: false,
  set: set(1),
  operation: 'replace',
  silent: false,
  flags: [],
  unchangedSince: null,
  ...extra,
});

describe('STORE parser', () => {
  const cases: Array<[string, unknown]> = [
    ['a STORE 1 FLAGS (\\Seen)', store({ flags: ['\\Seen'] })],
    ['a STORE 1 +FLAGS (\\seen \\DELETED $Junk)', store({ operation: 'add', flags: ['\\Seen', '\\Deleted', '$Junk'] })],
    ['a STORE 1 -flags.silent (\\Flagged)', store({ operation: 'remove', silent: true, flags: ['\\Flagged'] })],
    ['a STORE 1 FLAGS ()', store({ flags: [] })],
    ['a STORE 1 +FLAGS \\Answered \\Draft', store({ operation: 'add', flags: ['\\Answered', '\\Draft'] })],
    ['a STORE 1 FLAGS \\X-Custom', store({ flags: ['\\X-Custom'] })],
    ['a UID STORE 2:* +FLAGS.SILENT (a)', store({ uid: true, set: set(2, '*'), operation: 'add', silent: true, flags: ['a'] })],
    ['a STORE 1 (UNCHANGEDSINCE 12345) +FLAGS (\\Seen)', store({ operation: 'add', flags: ['\\Seen'], unchangedSince: 12345 })],
    ['a STORE 1 (unchangedsince 0) FLAGS ()', store({ unchangedSince: 0 })],
  ];
  for (const [wire, expected] of cases) test(wire, () => assert.deepEqual(cmd(wire), expected));

  const errors: Array<[string, string]> = [
    ['a STORE 1 FLAGS (\\Recent)', '\\Recent cannot be set or cleared by the client'],
    ['a STORE 1 +FLAGS \\recent', '\\Recent cannot be set or cleared by the client'],
    ['a STORE 1 LABELS (x)', "Unknown STORE data item 'LABELS' (expected FLAGS, +FLAGS or -FLAGS, optionally .SILENT)"],
    ['a STORE 1 FLAGS', 'Expected SP after FLAGS'],
    ['a STORE 1 FLAGS (\\Seen', 'Expected SP between flags'],
    ['a STORE 1 (FOO 1) FLAGS ()', 'Unknown STORE modifier FOO'],
    ['a STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()', 'UNCHANGEDSINCE given twice'],
    ['a STORE x FLAGS ()', "Invalid sequence set 'x'"],
  ];
  for (const [wire, text] of errors) test(`error: ${wire}`, () => assert.equal(err(wire), text));
});
