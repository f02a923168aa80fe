// Mailbox name conversion, LIST pattern matching and the one error mapping.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError } from '../../../src/imap/context.js';
import { mapError } from '../../../src/imap/errors.js';
import { compilePattern, ancestors } from '../../../src/imap/list-tree.js';
import { mailboxFromWire, mailboxToWire, normalizeInbox, validMailboxName } from '../../../src/imap/mailbox-names.js';
import { MailError, type MailErrorCode } from '../../../src/mail/errors.js';
import { createLogger } from '../../../src/util/log.js';

describe('mailbox names', () => {
  test('INBOX is case-insensitive, also as a parent', () => {
    assert.equal(normalizeInbox('inbox'), 'INBOX');
    assert.equal(normalizeInbox('Inbox/Sub'), 'INBOX/Sub');
    assert.equal(normalizeInbox('InboxOther'), 'InboxOther');
  });
  test('modified UTF-7 for rev1, UTF-8 for rev2', () => {
    assert.equal(mailboxFromWire('&AOk-t&AOk-', false), 'été');
    assert.equal(mailboxFromWire('&AOk-t&AOk-', true), '&AOk-t&AOk-');
    assert.equal(mailboxToWire('été', false), '&AOk-t&AOk-');
    assert.equal(mailboxToWire('été', true), 'été');
    assert.throws(() => mailboxFromWire('&Jjo', false), CommandError);
  });
  test('valid names', () => {
    assert.ok(validMailboxName('a/b'));
    for (const bad of ['', '/a', 'a/', 'a//b', 'a*', 'a%b', 'a\u0001']) assert.ok(!validMailboxName(bad), bad);
  });
});

describe('LIST patterns', () => {
  test('* crosses levels, % does not', () => {
    const star = compilePattern('Work/*');
    const pct = compilePattern('Work/%');
    assert.ok(star('Work/a/b') && star('Work/a'));
    assert.ok(pct('Work/a') && !pct('Work/a/b') && !pct('Work'));
    assert.ok(compilePattern('inbox')('INBOX'));
    assert.ok(compilePattern('i%')('INBOX'));
    assert.ok(!compilePattern('i%')('Inside'), 'other names are case-sensitive');
    assert.ok(!compilePattern('a.c')('abc'), 'regex characters are literal');
    assert.deepEqual(ancestors('a/b/c'), ['a', 'a/b']);
  });
});

describe('error mapping', () => {
  const logger = createLogger('error', {}, () => {});
  const cases: Array<[MailErrorCode, string, boolean]> = [
    ['NOT_FOUND', 'NONEXISTENT', false],
    ['NOT_FOUND', 'TRYCREATE', true],
    ['ALREADY_EXISTS', 'ALREADYEXISTS', false],
    ['OVER_QUOTA', 'OVERQUOTA', false],
    ['UNAVAILABLE', 'UNAVAILABLE', false],
    ['TOO_BIG', 'TOOBIG', false],
    ['LIMIT', 'LIMIT', false],
    ['CANNOT', 'CANNOT', false],
    ['EXPUNGED', 'EXPUNGEISSUED', false],
  ];
  for (const [code, response, target] of cases) {
    test(`${code}${target ? ' (target)' : ''} -> NO [${response}]`, () => {
      const r = mapError(new MailError(code, 'x'), { target, logger, command: 'TEST' });
      assert.equal(r.status, 'NO');
      assert.equal(r.code?.kind, response);
    });
  }
  test('anything else -> NO [SERVERBUG], logged', () => {
    const lines: string[] = [];
    const r = mapError(new Error('boom'), { logger: createLogger('error', {}, (l) => lines.push(l)), command: 'TEST' });
    assert.equal(r.code?.kind, 'SERVERBUG');
    assert.equal(lines.length, 1);
  });
});
