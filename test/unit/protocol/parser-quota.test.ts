// QUOTA commands (RFC 9208 section 7 grammar) -> AST, and the QUOTA /
// QUOTAROOT responses and STATUS DELETED-STORAGE -> bytes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';
import type { Response, SerializeOptions } from '../../../src/protocol/imap/response.js';
import { serializeResponse, wireToBuffer } from '../../../src/protocol/imap/serializer.js';

describe('QUOTA parser', () => {
  const cases: Array<[string, unknown]> = [
    ['a GETQUOTA ""', { name: 'GETQUOTA', root: '' }],
    ['a getquota "#user/alice"', { name: 'GETQUOTA', root: '#user/alice' }],
    ['a GETQUOTA {3}\r\nabc', { name: 'GETQUOTA', root: 'abc' }],
    ['a GETQUOTAROOT INBOX', { name: 'GETQUOTAROOT', mailbox: 'INBOX' }],
    ['a GetQuotaRoot "Sent Items"', { name: 'GETQUOTAROOT', mailbox: 'Sent Items' }],
    ['a SETQUOTA "" (STORAGE 512)', { name: 'SETQUOTA', root: '', limits: [{ resource: 'STORAGE', limit: 512 }] }],
    [
      'a SETQUOTA "" (storage 512 MESSAGE 9007199254740991)',
      { name: 'SETQUOTA', root: '', limits: [{ resource: 'STORAGE', limit: 512 }, { resource: 'MESSAGE', limit: 9007199254740991 }] },
    ],
    ['a SETQUOTA x ()', { name: 'SETQUOTA', root: 'x', limits: [] }],
  ];
  for (const [wire, expected] of cases) test(wire.replace(/\r\n/g, ' '), () => assert.deepEqual(cmd(wire), expected));

  const errors: Array<[string, RegExp]> = [
    ['GETQUOTA', /Expected SP after GETQUOTA/],
    ['GETQUOTA "" extra', /./],
    ['GETQUOTAROOT', /Expected SP after GETQUOTAROOT/],
    ['SETQUOTA ""', /Expected SP after quota root name/],
    ['SETQUOTA "" STORAGE 1', /"\(" before the resource limits/],
    ['SETQUOTA "" (STORAGE)', /Expected SP after resource name/],
    ['SETQUOTA "" (STORAGE x)', /resource limit/],
    ['SETQUOTA "" (STORAGE 1 )', /./],
    ['SETQUOTA "" (STORAGE 99999999999999999)', /out of range/],
  ];
  for (const [wire, expected] of errors) test(`refuses ${wire}`, () => assert.match(err(`a ${wire}`), expected));

  test('STATUS accepts DELETED-STORAGE', () => {
    assert.deepEqual(cmd('a STATUS INBOX (DELETED DELETED-STORAGE)'), { name: 'STATUS', mailbox: 'INBOX', items: ['DELETED', 'DELETED-STORAGE'] });
  });
});

describe('QUOTA responses', () => {
  const opts: SerializeOptions = { utf8: false, rev2: false };
  const wire = (r: Response) => wireToBuffer(serializeResponse(r, opts)).toString('utf8');
  test('QUOTA with resources, without, and a root that needs quoting', () => {
    assert.equal(
      wire({ kind: 'QUOTA', root: '', resources: [{ name: 'STORAGE', usage: 10, limit: 512 }, { name: 'MESSAGE', usage: 3, limit: 100 }] }),
      '* QUOTA "" (STORAGE 10 512 MESSAGE 3 100)\r\n',
    );
    assert.equal(wire({ kind: 'QUOTA', root: '', resources: [] }), '* QUOTA "" ()\r\n');
    assert.equal(wire({ kind: 'QUOTA', root: '#user/a b', resources: [] }), '* QUOTA "#user/a b" ()\r\n');
  });
  test('QUOTAROOT: mailbox as atom or string, zero or more roots', () => {
    assert.equal(wire({ kind: 'QUOTAROOT', mailbox: 'INBOX', roots: [''] }), '* QUOTAROOT INBOX ""\r\n');
    assert.equal(wire({ kind: 'QUOTAROOT', mailbox: 'Sent Items', roots: [] }), '* QUOTAROOT "Sent Items"\r\n');
  });
  test('STATUS DELETED-STORAGE', () => {
    assert.equal(wire({ kind: 'STATUS', mailbox: 'INBOX', values: { DELETED: 4, 'DELETED-STORAGE': 8 } }), '* STATUS INBOX (DELETED 4 DELETED-STORAGE 8)\r\n');
  });
});
