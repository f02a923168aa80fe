// Transcripts for METADATA (RFC 5464): GETMETADATA / SETMETADATA on the
// server ("") and on mailboxes, /private and /shared, NIL to remove, DEPTH
// 0 / 1 / infinity, MAXSIZE with [METADATA LONGENTRIES n], the limits
// ([METADATA MAXSIZE n] also for a literal refused before it is read,
// [METADATA TOOMANY], all or nothing), entry-name syntax errors (BAD),
// [NONEXISTENT] mailboxes, and annotations following RENAME / going with DELETE.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './transcript.js';

describe('METADATA (RFC 5464)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      users: ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'],
      configure: (c) => {
        c.imap.serverComment = 'Mail for petrel.test';
        c.imap.serverAdmin = 'mailto:postmaster@petrel.test';
        c.limits.maxMetadataValueSize = 4096;
        c.limits.maxMetadataEntries = 10;
      },
    });
  });
  after(async () => {
    await ts.close();
  });
  const createMailbox = async (user: string, name: string) => {
    const account = await ts.repo.directory.findAccount(user);
    await ts.repo.store.createMailbox(account!.id, name);
  };

  test('advertised as METADATA (not METADATA-SERVER, which means server annotations only); commands only after login', async () => {
    const c = await ts.connect();
    c.send('a CAPABILITY\r\n');
    const caps = (await c.expectMatch(/^\* CAPABILITY /)).split(' ');
    assert.ok(caps.includes('METADATA') && !caps.includes('METADATA-SERVER'));
    await c.expect(['a OK CAPABILITY completed']);
    await c.run('b GETMETADATA "" /shared/comment', ['b BAD GETMETADATA not allowed in the not authenticated state']);
    await c.run('c SETMETADATA "" (/private/x "y")', ['c BAD SETMETADATA not allowed in the not authenticated state']);
  });

  test('server entries: /shared/comment and /shared/admin from the configuration, read-only; /private per user', async () => {
    const c = await ts.login('m1');
    await c.run('a GETMETADATA "" /shared/comment', ['* METADATA "" (/shared/comment "Mail for petrel.test")', 'a OK GETMETADATA completed']);
    await c.run('b getmetadata "" (/shared/admin /SHARED/Comment)', [
      '* METADATA "" (/shared/admin "mailto:postmaster@petrel.test" /shared/comment "Mail for petrel.test")',
      'b OK GETMETADATA completed',
    ]);
    await c.run('c GETMETADATA "" (DEPTH infinity) /shared', [
      '* METADATA "" (/shared NIL /shared/admin "mailto:postmaster@petrel.test" /shared/comment "Mail for petrel.test")',
      'c OK GETMETADATA completed',
    ]);
    await c.run('d SETMETADATA "" (/shared/comment "mine now")', ['d NO [NOPERM] Server /shared annotations are set by the administrator']);
    await c.run('e SETMETADATA "" (/shared/admin NIL)', ['e NO [NOPERM] Server /shared annotations are set by the administrator']);
    await c.run('f SETMETADATA "" (/private/vendor/vendor.petrel/theme "dark")', ['f OK SETMETADATA completed']);
    await c.run('g GETMETADATA "" /private/vendor/vendor.petrel/theme', [
      '* METADATA "" (/private/vendor/vendor.petrel/theme "dark")',
      'g OK GETMETADATA completed',
    ]);
    // Another user's /private server entry is theirs alone.
    const other = await ts.login('m2');
    await other.run('a GETMETADATA "" /private/vendor/vendor.petrel/theme', [
      '* METADATA "" (/private/vendor/vendor.petrel/theme NIL)',
      'a OK GETMETADATA completed',
    ]);
  });

  test('mailbox entries: the RFC examples, NIL removes, names are case-insensitive, works when selected', async () => {
    const c = await ts.login('m3');
    c.send('a SETMETADATA INBOX (/private/comment {33}\r\n');
    await c.expect(['+ Ready for literal']);
    c.send('My new comment across\r\ntwo lines.)\r\n');
    await c.expect(['a OK SETMETADATA completed']);
    await c.run('b GETMETADATA "INBOX" /private/comment', [
      '* METADATA INBOX (/private/comment {33}',
      'My new comment across',
      'two lines.)',
      'b OK GETMETADATA completed',
    ]);
    await c.run('c SETMETADATA INBOX (/private/comment "My new comment" /shared/comment "This one is for you!")', [
      'c OK SETMETADATA completed',
    ]);
    await c.run('d GETMETADATA "INBOX" (/shared/comment /private/comment)', [
      '* METADATA INBOX (/shared/comment "This one is for you!" /private/comment "My new comment")',
      'd OK GETMETADATA completed',
    ]);
    await c.run('e SETMETADATA INBOX (/PRIVATE/Comment NIL)', ['e OK SETMETADATA completed']);
    await c.run('f GETMETADATA inbox (/private/comment /Shared/COMMENT)', [
      '* METADATA INBOX (/private/comment NIL /shared/comment "This one is for you!")',
      'f OK GETMETADATA completed',
    ]);
    // "NIL" as a string is a value, not a removal; the empty string is a value too.
    await c.run('g SETMETADATA INBOX (/shared/a "NIL" /shared/b "")', ['g OK SETMETADATA completed']);
    await c.run('h GETMETADATA INBOX (/shared/a /shared/b)', ['* METADATA INBOX (/shared/a "NIL" /shared/b "")', 'h OK GETMETADATA completed']);
    // Binary values: literal8 in and out.
    c.send('i SETMETADATA INBOX (/private/bin ~{3+}\r\na\0b)\r\n');
    await c.expect(['i OK SETMETADATA completed']);
    await c.run('j GETMETADATA INBOX /private/bin', ['* METADATA INBOX (/private/bin ~{3}', 'a\0b)', 'j OK GETMETADATA completed']);
    // Entry names with characters that are not atom characters are quoted.
    await c.run('k SETMETADATA INBOX ("/private/with space" "v")', ['k OK SETMETADATA completed']);
    await c.run('l GETMETADATA INBOX "/private/with space"', ['* METADATA INBOX ("/private/with space" "v")', 'l OK GETMETADATA completed']);
    c.send('m SELECT INBOX\r\n');
    assert.match((await c.until('m')).at(-1)!, /^m OK \[READ-WRITE\] SELECT completed$/);
    await c.run('n GETMETADATA INBOX /shared/a', ['* METADATA INBOX (/shared/a "NIL")', 'n OK GETMETADATA completed']);
  });

  test('DEPTH 0, 1 and infinity (RFC 5464 4.2.2)', async () => {
    const c = await ts.login('m4');
    await c.run(
      'a SETMETADATA INBOX (/private/filters/values/small "SMALLER 5000" /private/filters/values/boss "FROM \\"boss@example.com\\"" /private/filters/values/boss/vip "FLAGGED" /private/filters/valuesx "not below")',
      ['a OK SETMETADATA completed'],
    );
    await c.run('b GETMETADATA "INBOX" (DEPTH 1) (/private/filters/values)', [
      '* METADATA INBOX (/private/filters/values NIL /private/filters/values/boss "FROM \\"boss@example.com\\"" /private/filters/values/small "SMALLER 5000")',
      'b OK GETMETADATA completed',
    ]);
    await c.run('c GETMETADATA (DEPTH infinity) INBOX /private/filters/values', [
      '* METADATA INBOX (/private/filters/values NIL /private/filters/values/boss "FROM \\"boss@example.com\\"" /private/filters/values/boss/vip "FLAGGED" /private/filters/values/small "SMALLER 5000")',
      'c OK GETMETADATA completed',
    ]);
    await c.run('d GETMETADATA INBOX (DEPTH 0) /private/filters/values', ['* METADATA INBOX (/private/filters/values NIL)', 'd OK GETMETADATA completed']);
    await c.run('e GETMETADATA INBOX /private/filters/values', ['* METADATA INBOX (/private/filters/values NIL)', 'e OK GETMETADATA completed']);
    await c.run('f GETMETADATA INBOX (depth INFINITY maxsize 100) /private/filters/values/boss', [
      '* METADATA INBOX (/private/filters/values/boss "FROM \\"boss@example.com\\"" /private/filters/values/boss/vip "FLAGGED")',
      'f OK GETMETADATA completed',
    ]);
  });

  test('MAXSIZE: longer values are left out and reported as [METADATA LONGENTRIES n]', async () => {
    const c = await ts.login('m5');
    const long = 'x'.repeat(2199);
    c.send(`a SETMETADATA INBOX (/shared/comment {2199+}\r\n${long} /private/comment "My own comment")\r\n`);
    await c.expect(['a OK SETMETADATA completed']);
    await c.run('b GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)', [
      '* METADATA INBOX (/private/comment "My own comment")',
      'b OK [METADATA LONGENTRIES 2199] GETMETADATA completed',
    ]);
    // ABNF order (options before the mailbox) too; a value of exactly MAXSIZE is returned.
    await c.run('c GETMETADATA (MAXSIZE 14) INBOX /private/comment', ['* METADATA INBOX (/private/comment "My own comment")', 'c OK GETMETADATA completed']);
    // Nothing fits: no METADATA response at all, the longest left out is reported.
    await c.run('d GETMETADATA INBOX (MAXSIZE 0) (/shared/comment /private/comment)', ['d OK [METADATA LONGENTRIES 2199] GETMETADATA completed']);
    await c.run('e GETMETADATA INBOX (MAXSIZE 0) /private/none', ['* METADATA INBOX (/private/none NIL)', 'e OK GETMETADATA completed']);
  });

  test('limits: [METADATA MAXSIZE n] (also before a literal is read), [METADATA TOOMANY], all or nothing', async () => {
    const c = await ts.login('m6');
    const ok = 'v'.repeat(4096);
    c.send(`a SETMETADATA INBOX (/private/big {4096+}\r\n${ok})\r\n`);
    await c.expect(['a OK SETMETADATA completed']);
    // A synchronizing literal over the limit is refused without a continuation.
    c.send('b SETMETADATA INBOX (/private/big {4097}\r\n');
    await c.expect(['b NO [METADATA MAXSIZE 4096] Annotation value too large (limit 4096 octets)']);
    // A non-synchronizing one is read and discarded; the connection goes on.
    c.send(`c SETMETADATA INBOX (/private/big {4097+}\r\n${ok}v)\r\n`);
    await c.expect(['c NO [METADATA MAXSIZE 4096] Annotation value too large (limit 4096 octets)']);
    await c.run('d NOOP', ['d OK NOOP completed']);
    // All or nothing: one value too large (here a quoted string) and nothing is set.
    await c.run(`d2 SETMETADATA INBOX (/private/small "ok" /private/huge "${ok}v")`, [
      'd2 NO [METADATA MAXSIZE 4096] Annotation value too large (limit 4096 octets)',
    ]);
    await c.run('d3 GETMETADATA INBOX /private/small', ['* METADATA INBOX (/private/small NIL)', 'd3 OK GETMETADATA completed']);
    await c.run('e GETMETADATA INBOX (MAXSIZE 10) /private/big', ['e OK [METADATA LONGENTRIES 4096] GETMETADATA completed']);
    // Limit 10 entries per mailbox: /shared and the user's /private count together.
    const eight = Array.from({ length: 8 }, (_, i) => `/shared/n${i} "${i}"`).join(' ');
    await c.run(`f SETMETADATA INBOX (${eight} /private/n8 "8")`, ['f OK SETMETADATA completed']);
    await c.run('g SETMETADATA INBOX (/private/n9 "9" /private/n10 "10")', ['g NO [METADATA TOOMANY] Too many annotations (limit 10)']);
    await c.run('h GETMETADATA INBOX /private/n9', ['* METADATA INBOX (/private/n9 NIL)', 'h OK GETMETADATA completed']);
    await c.run('i SETMETADATA INBOX (/private/n8 "changed" /shared/n0 NIL /private/n9 "9")', ['i OK SETMETADATA completed']);
    await c.run('j GETMETADATA INBOX (/private/n8 /shared/n0 /private/n9)', [
      '* METADATA INBOX (/private/n8 "changed" /shared/n0 NIL /private/n9 "9")',
      'j OK GETMETADATA completed',
    ]);
    // Another mailbox has its own count.
    await createMailbox('m6', 'Other');
    await c.run('l SETMETADATA Other (/private/n0 "0")', ['l OK SETMETADATA completed']);
  });

  test('entry names and arguments with errors get BAD; missing mailboxes NO [NONEXISTENT]', async () => {
    const c = await ts.login('m7');
    const bad: Array<[string, string]> = [
      ['GETMETADATA INBOX /private//x', 'Invalid entry name "/private//x": must not contain "//"'],
      ['GETMETADATA INBOX /private/x/', 'Invalid entry name "/private/x/": must not end with "/"'],
      ['GETMETADATA INBOX private/x', 'Invalid entry name "private/x": must begin with "/"'],
      ['GETMETADATA INBOX /other/x', 'Invalid entry name "/other/x": must begin with /private or /shared'],
      ['GETMETADATA INBOX "/private/a*"', 'Invalid entry name "/private/a*": must not contain "*" or "%"'],
      ['GETMETADATA INBOX "/private/a%"', 'Invalid entry name "/private/a%": must not contain "*" or "%"'],
      ['GETMETADATA INBOX "/private/a\tb"', 'Invalid entry name "/private/a\\tb": must hold only printable ASCII characters'],
      ['GETMETADATA INBOX "/private/\u00e9"', 'Invalid entry name "/private/??": must hold only printable ASCII characters'],
      ['GETMETADATA INBOX ()', 'Expected at least one item in entry list'],
      ['GETMETADATA INBOX', 'Expected SP after mailbox name'],
      ['GETMETADATA INBOX (DEPTH 2) /private/x', "DEPTH must be 0, 1 or infinity, not '2'"],
      ['GETMETADATA INBOX (MAXSIZE -1) /private/x', "Expected MAXSIZE value, found '-1)'"],
      ['GETMETADATA INBOX (FOO 1) /private/x', 'Unknown GETMETADATA option FOO'],
      ['GETMETADATA INBOX (DEPTH 1 DEPTH 0) /private/x', 'GETMETADATA option DEPTH given twice'],
      ['GETMETADATA (DEPTH 1) INBOX (DEPTH 0) /private/x', 'Invalid entry name "DEPTH": must begin with "/"'],
      ['SETMETADATA INBOX (/private "x")', 'Invalid entry name "/private": must name an entry below /private or /shared'],
      ['SETMETADATA INBOX (/shared/vendor/vendor.x "x")', 'Invalid entry name "/shared/vendor/vendor.x": must have a name below /shared/vendor/<vendor-token>'],
      ['SETMETADATA INBOX (/private/x)', 'Expected SP after entry name'],
      ['SETMETADATA INBOX /private/x "y"', "Expected '(' to start entry-value list, found '/private/x'"],
      ['SETMETADATA INBOX (/private/x y)', "Expected entry value or NIL, found 'y'"],
    ];
    let n = 0;
    for (const [command, reason] of bad) {
      const tag = `b${++n}`;
      await c.run(`${tag} ${command}`, [`${tag} BAD ${reason}`]);
    }
    await c.run('c GETMETADATA Nope /private/comment', ['c NO [NONEXISTENT] Mailbox does not exist']);
    await c.run('d SETMETADATA Nope (/private/comment "x")', ['d NO [NONEXISTENT] Mailbox does not exist']);
    // /private/vendor/<token>/... is fine; reading a scope alone is too.
    await c.run('e SETMETADATA INBOX (/private/vendor/vendor.x/y "1")', ['e OK SETMETADATA completed']);
    await c.run('f GETMETADATA INBOX (DEPTH infinity) /PRIVATE', ['* METADATA INBOX (/private NIL /private/vendor/vendor.x/y "1")', 'f OK GETMETADATA completed']);
  });

  test('RENAME keeps a mailbox\'s annotations, RENAME INBOX copies them, DELETE removes them', async () => {
    const c = await ts.login('m8');
    await createMailbox('m8', 'Old');
    await c.run('b SETMETADATA Old (/private/comment "travels" /shared/comment "too")', ['b OK SETMETADATA completed']);
    await c.run('c RENAME Old "New Name"', ['c OK RENAME completed']);
    await c.run('d GETMETADATA "New Name" (/private/comment /shared/comment)', [
      '* METADATA "New Name" (/private/comment "travels" /shared/comment "too")',
      'd OK GETMETADATA completed',
    ]);
    await c.run('e DELETE "New Name"', ['e OK DELETE completed']);
    await createMailbox('m8', 'New Name');
    await c.run('g GETMETADATA "New Name" /private/comment', ['* METADATA "New Name" (/private/comment NIL)', 'g OK GETMETADATA completed']);
    await c.run('h SETMETADATA INBOX (/shared/comment "inbox")', ['h OK SETMETADATA completed']);
    await c.run('i RENAME INBOX Archived', ['i OK RENAME completed']);
    await c.run('j GETMETADATA Archived /shared/comment', ['* METADATA Archived (/shared/comment "inbox")', 'j OK GETMETADATA completed']);
    await c.run('k GETMETADATA INBOX /shared/comment', ['* METADATA INBOX (/shared/comment "inbox")', 'k OK GETMETADATA completed']);
  });
});
