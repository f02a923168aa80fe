// LOGIN, AUTHENTICATE, mailbox commands, STATUS, ENABLE, ID, COPY/MOVE,
// commands without arguments, and the generic errors of parseCommand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../../src/protocol/imap/parser/index.js';
import { cmd, err, parse } from './helpers.js';

const set = (start: number | '*', end: number | '*' = start) => ({ kind: 'set', ranges: [{ start, end }] });

describe('auth commands', () => {
  const cases: Array<[string, unknown]> = [
    ['a LOGIN SMITH SESAME', { name: 'LOGIN', username: 'SMITH', password: 'SESAME' }],
    ['a login "fred foobar" "p\\"w\\\\d"', { name: 'LOGIN', username: 'fred foobar', password: 'p"w\\d' }],
    ['a LOGIN {4+}\r\nuser {8+}\r\npa ss wd', { name: 'LOGIN', username: 'user', password: 'pa ss wd' }],
    ['a LOGIN "jürgen" "pässwörd"', { name: 'LOGIN', username: 'jürgen', password: 'pässwörd' }],
    ['a AUTHENTICATE plain', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: null }],
    ['a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=', { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: 'dGVzdAB0ZXN0AHRlc3Q=' }],
    ['a AUTHENTICATE EXTERNAL =', { name: 'AUTHENTICATE', mechanism: 'EXTERNAL', initialResponse: '' }],
    ['a AUTHENTICATE SCRAM-SHA-256', { name: 'AUTHENTICATE', mechanism: 'SCRAM-SHA-256', initialResponse: null }],
  ];
  for (const [wire, expected] of cases) test(wire.replace(/\r\n/g, '\\r\\n'), () => assert.deepEqual(cmd(wire), expected));
  test('error: LOGIN without password', () => assert.equal(err('a LOGIN user'), 'Expected SP after user name'));
  test('error: unquoted 8-bit', () =>
    assert.equal(err('a LOGIN jürgen x'), '8-bit characters in user name must be sent as a quoted string or literal'));
  test('error: bad base64', () => assert.equal(err('a AUTHENTICATE PLAIN abc'), 'Invalid base64 in initial response'));
  test('error: invalid UTF-8 in user name', () => {
    const wire = Buffer.concat([Buffer.from('a LOGIN "'), Buffer.from([0xff, 0xfe]), Buffer.from('" x\r\n')]);
    assert.equal(err(wire), 'Invalid UTF-8 in user name');
  });
});

describe('mailbox commands', () => {
  const cases: Array<[string, unknown]> = [
    ['a CREATE owatagusiam/', { name: 'CREATE', mailbox: 'owatagusiam/', specialUse: [] }],
    ['a CREATE MySpecial (USE (\\drafts \\Sent))', { name: 'CREATE', mailbox: 'MySpecial', specialUse: ['\\Drafts', '\\Sent'] }],
    ['a CREATE x (USE ())', { name: 'CREATE', mailbox: 'x', specialUse: [] }],
    ['a DELETE blurdybloop', { name: 'DELETE', mailbox: 'blurdybloop' }],
    ['a RENAME "Old Name" {3}\r\nnew', { name: 'RENAME', from: 'Old Name', to: 'new' }],
    ['a SUBSCRIBE #news.comp.mail.mime', { name: 'SUBSCRIBE', mailbox: '#news.comp.mail.mime' }],
    ['a UNSUBSCRIBE ""', { name: 'UNSUBSCRIBE', mailbox: '' }],
    ['a STATUS blurdybloop (UIDNEXT MESSAGES)', { name: 'STATUS', mailbox: 'blurdybloop', items: ['UIDNEXT', 'MESSAGES'] }],
    [
      'a status x (messages uidnext uidvalidity unseen deleted size recent highestmodseq appendlimit mailboxid)',
      {
        name: 'STATUS',
        mailbox: 'x',
        items: ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'RECENT', 'HIGHESTMODSEQ', 'APPENDLIMIT', 'MAILBOXID'],
      },
    ],
    ['a COPY 2:4 MEETING', { name: 'COPY', uid: false, set: set(2, 4), mailbox: 'MEETING' }],
    ['a UID MOVE 42 "Trash"', { name: 'MOVE', uid: true, set: set(42), mailbox: 'Trash' }],
    ['a UID EXPUNGE 3000:3002', { name: 'UID EXPUNGE', set: set(3000, 3002) }],
  ];
  for (const [wire, expected] of cases) test(wire.replace(/\r\n/g, '\\r\\n'), () => assert.deepEqual(cmd(wire), expected));
  const errors: Array<[string, string]> = [
    ['a CREATE x (FOO (\\Sent))', 'Unknown CREATE parameter FOO'],
    ['a RENAME a', 'Expected SP after mailbox name'],
    ['a STATUS x ()', 'Expected at least one item in the status item list'],
    ['a STATUS x (FOO)', 'Unknown status item FOO'],
    ['a STATUS x', 'Expected SP after mailbox name'],
    ['a COPY 1', 'Expected SP after sequence set'],
    ['a DELETE (x)', "Expected mailbox name, found '(x)'"],
  ];
  for (const [wire, text] of errors) test(`error: ${wire}`, () => assert.equal(err(wire), text));
});

describe('ENABLE, ID and commands without arguments', () => {
  const cases: Array<[string, unknown]> = [
    ['a ENABLE CONDSTORE qresync', { name: 'ENABLE', capabilities: ['CONDSTORE', 'QRESYNC'] }],
    ['a ENABLE UTF8=ACCEPT', { name: 'ENABLE', capabilities: ['UTF8=ACCEPT'] }],
    ['a ID NIL', { name: 'ID', params: null }],
    ['a ID ("name" "sodr" "version" NIL)', { name: 'ID', params: [['name', 'sodr'], ['version', null]] }],
    ['a ID ()', { name: 'ID', params: [] }],
  ];
  for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'IDLE', 'CHECK', 'CLOSE', 'UNSELECT', 'EXPUNGE', 'NAMESPACE']) {
    cases.push([`a ${name.toLowerCase()}`, { name }]);
  }
  for (const [wire, expected] of cases) test(wire, () => assert.deepEqual(cmd(wire), expected));
  test('error: ENABLE without capability', () => assert.equal(err('a ENABLE'), 'Expected SP before capability name'));
  test('error: ID with a string', () => assert.equal(err('a ID "x"'), "Expected parameter list or NIL, found '\"x\"'"));
  test('error: NOOP with arguments', () => assert.equal(err('a NOOP x'), 'Unexpected SP after the NOOP arguments'));
});

describe('parseCommand generic errors', () => {
  const errors: Array<[string, { tag: string | null; text: string }]> = [
    ['a FOO', { tag: 'a', text: 'Unknown command FOO' }],
    ['a UID NOOP', { tag: 'a', text: 'Unknown command UID NOOP' }],
    ['a', { tag: 'a', text: 'Missing command' }],
    ['a ', { tag: 'a', text: 'Expected command name, found end of command' }],
    ['+tag NOOP', { tag: null, text: 'Missing or invalid tag' }],
    ['a"b NOOP', { tag: null, text: 'Invalid character in tag' }],
    ['', { tag: null, text: 'Empty command line' }],
    ['a  NOOP', { tag: 'a', text: 'Expected command name, found SP' }],
  ];
  for (const [wire, expected] of errors) {
    test(`error: '${wire}'`, () => assert.deepEqual(parse(wire), { ok: false, ...expected }));
  }
  test('tags may contain ] and other ASTRING-CHARs', () => {
    const r = parse('A]1.x-9 NOOP');
    assert.deepEqual(r, { ok: true, tag: 'A]1.x-9', command: { name: 'NOOP' } });
  });
  test('no parts at all', () => assert.deepEqual(parseCommand([]), { ok: false, tag: null, text: 'Empty command line' }));
  test('a command name that is an Object prototype key is unknown', () =>
    assert.deepEqual(parse('a constructor'), { ok: false, tag: 'a', text: 'Unknown command CONSTRUCTOR' }));
  test('NUL in a non-binary literal is refused', () =>
    assert.equal(err(Buffer.from('a LOGIN {3}\r\na\0b x\r\n')), 'NUL is not allowed in a literal (use literal8)'));
});
