import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const msg = (data: string, extra: Record<string, unknown> = {}) => ({ flags: [], date: null, data: b(data), binary: false, ...extra });

describe('APPEND parser', () => {
  const cases: Array<[string, unknown]> = [
    ['a APPEND INBOX {5}\r\nhello', { name: 'APPEND', mailbox: 'INBOX', messages: [msg('hello')] }],
    [
      'a APPEND saved-messages (\\Seen) {3}\r\nabc',
      { name: 'APPEND', mailbox: 'saved-messages', messages: [msg('abc', { flags: ['\\Seen'] })] },
    ],
    [
      'a APPEND x (\\seen $Forwarded) " 7-Feb-1994 21:52:25 -0800" {1+}\r\nz',
      {
        name: 'APPEND',
        mailbox: 'x',
        messages: [msg('z', { flags: ['\\Seen', '$Forwarded'], date: new Date('1994-02-08T05:52:25Z') })],
      },
    ],
    ['a APPEND x "17-Jul-1996 02:44:25 +0000" {0}\r\n', { name: 'APPEND', mailbox: 'x', messages: [msg('', { date: new Date('1996-07-17T02:44:25Z') })] }],
    ['a APPEND x ~{3}\r\na\0b', { name: 'APPEND', mailbox: 'x', messages: [msg('a\0b', { binary: true })] }],
    [
      'a APPEND x {2}\r\nm1 (\\Draft) {2}\r\nm2 ~{2+}\r\nm3',
      { name: 'APPEND', mailbox: 'x', messages: [msg('m1'), msg('m2', { flags: ['\\Draft'] }), msg('m3', { binary: true })] },
    ],
    ['a APPEND x UTF8 (~{2}\r\nhi)', { name: 'APPEND', mailbox: 'x', messages: [msg('hi', { binary: true })] }],
    ['a APPEND x () utf8 (~{1+}\r\nq)', { name: 'APPEND', mailbox: 'x', messages: [msg('q', { binary: true })] }],
  ];
  for (const [wire, expected] of cases) test(wire.replace(/\r\n/g, '\\r\\n'), () => assert.deepEqual(cmd(wire), expected));

  test('a spooled literal is passed through as it is', async () => {
    const { parseCommand } = await import('../../../src/protocol/imap/parser/index.js');
    const spooled = { kind: 'spooled' as const, size: 3, binary: false, open: () => { throw new Error('unused'); }, dispose: async () => {} };
    const r = parseCommand([
      { kind: 'text', data: b('a APPEND INBOX ') },
      { kind: 'literal', data: spooled },
      { kind: 'text', data: b('') },
    ]);
    assert.deepEqual(r, { ok: true, tag: 'a', command: { name: 'APPEND', mailbox: 'INBOX', messages: [{ flags: [], date: null, data: spooled, binary: false }] } });
  });

  const errors: Array<[string, string]> = [
    ['a APPEND INBOX', 'Expected SP before message data'],
    ['a APPEND INBOX hello', "Expected message literal, found 'HELLO'"],
    ['a APPEND INBOX (\\Recent) {1}\r\nx', '\\Recent cannot be set or cleared by the client'],
    ['a APPEND INBOX "32-Jan-2000 00:00:00 +0000" {1}\r\nx', 'Invalid date-time \'32-Jan-2000 00:00:00 +0000\' (expected e.g. "17-Jul-1996 02:44:25 -0700")'],
    ['a APPEND INBOX UTF8 ({1}\r\nx)', 'UTF8 message data must be a literal8 (~{n})'],
    ['a APPEND INBOX {1}\r\nx junk', "Expected message literal, found 'JUNK'"],
  ];
  for (const [wire, text] of errors) test(`error: ${wire.replace(/\r\n/g, '\\r\\n')}`, () => assert.equal(err(wire), text));
});
