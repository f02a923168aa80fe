// METADATA commands (RFC 5464 section 5 grammar) -> AST, the METADATA
// response and response codes -> bytes, and the pure rules of
// src/mail/metadata.ts (DEPTH matching, what GETMETADATA lists, limits).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';
import { isMailError } from '../../../src/mail/errors.js';
import { checkMetadataLimits, matchesDepth, selectEntries } from '../../../src/mail/metadata.js';
import { metadataRightsAllow } from '../../../src/imap/metadata.js';
import type { Response, SerializeOptions } from '../../../src/protocol/imap/response.js';
import { serializeResponse, wireToBuffer } from '../../../src/protocol/imap/serializer.js';

const b = (s: string) => Buffer.from(s);

describe('METADATA parser', () => {
  const get = (mailbox: string, entries: string[], maxSize: number | null = null, depth: 0 | 1 | 'infinity' = 0) => ({
    name: 'GETMETADATA',
    mailbox,
    maxSize,
    depth,
    entries,
  });
  const cases: Array<[string, unknown]> = [
    ['a GETMETADATA "" /shared/comment', get('', ['/shared/comment'])],
    ['a GETMETADATA "INBOX" /private/comment', get('INBOX', ['/private/comment'])],
    ['a getmetadata INBOX (/shared/comment /private/comment)', get('INBOX', ['/shared/comment', '/private/comment'])],
    ['a GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)', get('INBOX', ['/shared/comment', '/private/comment'], 1024)],
    ['a GETMETADATA (MAXSIZE 1024) "INBOX" /shared/comment', get('INBOX', ['/shared/comment'], 1024)],
    ['a GETMETADATA "INBOX" (DEPTH 1) (/private/filters/values)', get('INBOX', ['/private/filters/values'], null, 1)],
    ['a GETMETADATA (depth Infinity maxsize 0) INBOX /Private', get('INBOX', ['/Private'], 0, 'infinity')],
    ['a GETMETADATA INBOX (DEPTH 0) "/private/with space"', get('INBOX', ['/private/with space'], null, 0)],
    ['a SETMETADATA INBOX (/private/comment {33}\r\nMy new comment across\r\ntwo lines.)', {
      name: 'SETMETADATA',
      mailbox: 'INBOX',
      entries: [{ entry: '/private/comment', value: b('My new comment across\r\ntwo lines.') }],
    }],
    ['a SETMETADATA INBOX (/private/comment NIL)', { name: 'SETMETADATA', mailbox: 'INBOX', entries: [{ entry: '/private/comment', value: null }] }],
    ['a SETMETADATA "" (/private/vendor/v/x "1" /shared/y "")', {
      name: 'SETMETADATA',
      mailbox: '',
      entries: [{ entry: '/private/vendor/v/x', value: b('1') }, { entry: '/shared/y', value: b('') }],
    }],
    ['a SETMETADATA INBOX (/private/bin ~{3}\r\na\0b)', { name: 'SETMETADATA', mailbox: 'INBOX', entries: [{ entry: '/private/bin', value: Buffer.from([0x61, 0, 0x62]) }] }],
  ];
  for (const [wire, expected] of cases) test(wire.replace(/\r\n/g, ' '), () => assert.deepEqual(cmd(wire), expected));

  const errors: Array<[string, RegExp]> = [
    ['GETMETADATA', /Expected SP after GETMETADATA/],
    ['GETMETADATA INBOX', /Expected SP after mailbox name/],
    ['GETMETADATA INBOX /private/comment /shared/comment', /Unexpected SP/],
    ['GETMETADATA INBOX comment', /must begin with "\/"/],
    ['GETMETADATA INBOX /vendor/x', /must begin with \/private or \/shared/],
    ['GETMETADATA INBOX /private/', /must not end with "\/"/],
    ['GETMETADATA {5}\r\nWork/ {8}\r\n/shared/', /must not end with "\/"/],
    ['GETMETADATA INBOX /private//a', /must not contain "\/\/"/],
    ['GETMETADATA INBOX "/private/a*b"', /must not contain "\*" or "%"/],
    ['GETMETADATA INBOX "/private/a\x7f"', /printable ASCII/],
    ['GETMETADATA () INBOX /private/a', /at least one item/],
    ['GETMETADATA (MAXSIZE) INBOX /private/a', /Expected SP after MAXSIZE/],
    ['GETMETADATA (MAXSIZE 4294967296) INBOX /private/a', /out of range/],
    ['GETMETADATA (DEPTH 2) INBOX /private/a', /DEPTH must be 0, 1 or infinity/],
    ['GETMETADATA (DEPTH 1 DEPTH 1) INBOX /private/a', /given twice/],
    ['GETMETADATA (X-OPTION) INBOX /private/a', /Expected SP after X-OPTION/],
    ['GETMETADATA (X-OPTION 1) INBOX /private/a', /Unknown GETMETADATA option X-OPTION/],
    ['SETMETADATA INBOX ()', /at least one item/],
    ['SETMETADATA INBOX (/private/a)', /Expected SP after entry name/],
    ['SETMETADATA INBOX (/private/a "1" /private/b)', /Expected SP after entry name/],
    ['SETMETADATA INBOX (/shared "1")', /must name an entry below/],
    ['SETMETADATA INBOX (/private/vendor "1")', /vendor-token/],
    ['SETMETADATA INBOX (/private/vendor/tok "1")', /vendor-token/],
    ['SETMETADATA INBOX (/private/a {1}\r\n\0)', /NUL is not allowed/],
    ['SETMETADATA INBOX (/private/a atom)', /Expected entry value or NIL/],
  ];
  for (const [wire, expected] of errors) test(`refuses ${wire.replace(/\r\n/g, ' ')}`, () => assert.match(err(`a ${wire}`), expected));
});

describe('METADATA responses', () => {
  const opts: SerializeOptions = { utf8: false, rev2: false };
  const wire = (r: Response) => wireToBuffer(serializeResponse(r, opts)).toString('latin1');
  test('entries and values: atom or quoted names, NIL, quoted, literal, literal8', () => {
    assert.equal(wire({ kind: 'METADATA', mailbox: '', entries: [{ name: '/shared/comment', value: b('My comment') }] }), '* METADATA "" (/shared/comment "My comment")\r\n');
    assert.equal(
      wire({
        kind: 'METADATA',
        mailbox: 'Sent Items',
        entries: [
          { name: '/private/a b', value: null },
          { name: '/private/c', value: b('two\r\nlines') },
          { name: '/private/d', value: Buffer.from([1, 0]) },
          { name: '/private/e', value: b('caf\u00e9') },
        ],
      }),
      '* METADATA "Sent Items" ("/private/a b" NIL /private/c {10}\r\ntwo\r\nlines /private/d ~{2}\r\n\x01\x00 /private/e {5}\r\ncaf\xc3\xa9)\r\n',
    );
  });
  test('response codes', () => {
    const tagged = (code: Extract<Response, { kind: 'tagged' }>['code']) => wire({ kind: 'tagged', tag: 'a', status: 'NO', code, text: 'x' });
    assert.equal(tagged({ kind: 'METADATA', detail: { kind: 'LONGENTRIES', size: 2199 } }), 'a NO [METADATA LONGENTRIES 2199] x\r\n');
    assert.equal(tagged({ kind: 'METADATA', detail: { kind: 'MAXSIZE', size: 1024 } }), 'a NO [METADATA MAXSIZE 1024] x\r\n');
    assert.equal(tagged({ kind: 'METADATA', detail: { kind: 'TOOMANY' } }), 'a NO [METADATA TOOMANY] x\r\n');
    assert.equal(tagged({ kind: 'METADATA', detail: { kind: 'NOPRIVATE' } }), 'a NO [METADATA NOPRIVATE] x\r\n');
  });
});

describe('METADATA rules', () => {
  test('DEPTH matching (RFC 5464 4.2.2)', () => {
    assert.ok(matchesDepth('/a', '/a', 0));
    assert.ok(!matchesDepth('/a', '/a/b', 0));
    assert.ok(matchesDepth('/a', '/a/b', 1));
    assert.ok(!matchesDepth('/a', '/a/b/c', 1));
    assert.ok(matchesDepth('/a', '/a/b/c', 'infinity'));
    assert.ok(!matchesDepth('/a', '/ab', 'infinity'));
  });
  test('what GETMETADATA lists: each requested name once (NIL if unset), then what is below, in name order', () => {
    const found = [
      { name: '/p/x/b', value: b('2') },
      { name: '/p/x/a', value: b('1') },
      { name: '/p/y', value: b('3') },
    ];
    assert.deepEqual(selectEntries(['/p/x', '/p/y', '/p/x'], found, 1), [
      { name: '/p/x', value: null },
      { name: '/p/x/a', value: b('1') },
      { name: '/p/x/b', value: b('2') },
      { name: '/p/y', value: b('3') },
    ]);
    assert.deepEqual(selectEntries(['/p', '/p/x'], found, 'infinity').map((e) => e.name), ['/p', '/p/x/a', '/p/x/b', '/p/y', '/p/x']);
  });
  test('limits: size, count only when it grows, removals make room', () => {
    const limits = { maxValueSize: 3, maxEntries: 2 };
    const throwsCode = (fn: () => void, code: 'TOO_BIG' | 'LIMIT') => assert.throws(fn, (e: unknown) => isMailError(e, code));
    throwsCode(() => checkMetadataLimits(new Set(), [{ name: 'a', value: b('1234') }], limits), 'TOO_BIG');
    throwsCode(() => checkMetadataLimits(new Set(['a', 'b']), [{ name: 'c', value: b('1') }], limits), 'LIMIT');
    checkMetadataLimits(new Set(['a', 'b']), [{ name: 'a', value: b('123') }], limits);
    checkMetadataLimits(new Set(['a', 'b']), [{ name: 'a', value: null }, { name: 'c', value: b('1') }], limits);
    checkMetadataLimits(new Set(['a', 'b', 'c']), [{ name: 'a', value: b('1') }], limits); // over a lowered limit: replace still allowed
  });
  test('rights (RFC 5464 3.3): "l" and one of "rswip"', () => {
    assert.ok(metadataRightsAllow('lrswipkxtecda'));
    assert.ok(metadataRightsAllow('lp'));
    assert.ok(!metadataRightsAllow('rswip'));
    assert.ok(!metadataRightsAllow('lkxtecda'));
  });
});
