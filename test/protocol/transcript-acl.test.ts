// Transcripts for ACL (RFC 4314) and the three namespaces (RFC 2342): the ACL
// commands and their errors, other users' mailboxes appearing under
// "Other Users/<owner>/" only once the ACL allows, rights enforced on SELECT,
// STORE, EXPUNGE, COPY, APPEND and CLOSE, IDLE updates in a shared folder,
// and shared mailboxes under "Shared/".

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SHARED_OWNER } from '../../src/imap/namespaces.js';
import { message, startTestServer, type TestServer } from './transcript.js';

const M = (n: number, extra: string[] = []): string => message([`Subject: acl ${n}`, ...extra, '', `body ${n}`]);

describe('ACL (RFC 4314) and namespaces (RFC 2342)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol'] });
    const alice = (await ts.repo.directory.findAccount('alice'))!;
    await ts.repo.store.createMailbox(alice.id, 'INBOX');
    await ts.repo.store.createMailbox(alice.id, 'Team');
    await ts.repo.store.createMailbox(alice.id, 'Team/Plans');
    await ts.repo.store.createMailbox(alice.id, 'Private');
    await ts.deliver('alice', 'Team', M(1));
    await ts.deliver('alice', 'Team', M(2), ['\\Flagged']);
  });
  after(async () => {
    await ts.close();
  });

  test('advertised; NAMESPACE lists personal, other users and shared', async () => {
    const c = await ts.login('alice');
    c.send('a CAPABILITY\r\n');
    const caps = (await c.expectMatch(/^\* CAPABILITY /)).split(' ');
    assert.ok(caps.includes('ACL') && caps.includes('RIGHTS=texk'));
    await c.expect(['a OK CAPABILITY completed']);
    await c.run('b NAMESPACE', ['* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))', 'b OK NAMESPACE completed']);
  });

  test('the owner: every right, GETACL/SETACL/DELETEACL/LISTRIGHTS, and the errors', async () => {
    const c = await ts.login('alice');
    await c.run('a MYRIGHTS INBOX', ['* MYRIGHTS INBOX lrswipkxteacd', 'a OK MYRIGHTS completed']);
    await c.run('b GETACL Team', ['* ACL Team alice lrswipkxteacd', 'b OK GETACL completed']);
    await c.run('c SETACL Team carol lrs', ['c OK SETACL completed']);
    await c.run('d SETACL Team carol +cda', ['d OK SETACL completed']);
    await c.run('e GETACL Team', ['* ACL Team alice lrswipkxteacd carol lrskxteacd', 'e OK GETACL completed']);
    await c.run('f SETACL Team carol -kxtea', ['f OK SETACL completed']);
    await c.run('g GETACL Team', ['* ACL Team alice lrswipkxteacd carol lrs', 'g OK GETACL completed']);
    // RFC 4314 3.1: unknown and upper-case rights are BAD, nothing changes.
    await c.run('h SETACL Team carol lrQs', ['h BAD Uppercase rights are not allowed']);
    await c.run('i SETACL Team carol lrqs', ['i BAD The q right is not supported']);
    await c.run('j SETACL Team "" lr', ['j BAD Invalid identifier']);
    await c.run('k SETACL Team alice lr', ["k NO [CANNOT] The owner's rights cannot be changed"]);
    await c.run('l SETACL Nope carol lr', ['l NO [NONEXISTENT] Mailbox does not exist']);
    await c.run('m LISTRIGHTS Team carol', ['* LISTRIGHTS Team carol "" l r s w i p k x t e a c d', 'm OK LISTRIGHTS completed']);
    await c.run('n LISTRIGHTS Team alice', ['* LISTRIGHTS Team alice lrswipkxteacd', 'n OK LISTRIGHTS completed']);
    await c.run('o DELETEACL Team carol', ['o OK DELETEACL completed']);
    await c.run('p GETACL Team', ['* ACL Team alice lrswipkxteacd', 'p OK GETACL completed']);
    await c.run('q SETACL Team carol ""', ['q OK SETACL completed']);
    await c.run('r GETACL Team', ['* ACL Team alice lrswipkxteacd', 'r OK GETACL completed']);
    await c.run('s GETACL', ['s BAD Expected SP after GETACL']);
  });

  test("bob sees alice's folder only after SETACL; read-only with lr; s, t, e enforced", async () => {
    const alice = await ts.login('alice');
    const bob = await ts.login('bob');
    await bob.run('a LIST "" "Other Users/*"', ['a OK LIST completed']);
    await bob.run('b SELECT "Other Users/alice/Team"', ['b NO [NONEXISTENT] Mailbox does not exist']);
    // No "l": the ACL commands answer as if the mailbox did not exist (RFC 4314 6).
    await bob.run('c GETACL "Other Users/alice/Team"', ['c NO [NONEXISTENT] Mailbox does not exist']);
    await bob.run('d MYRIGHTS "Other Users/alice/Private"', ['d NO [NONEXISTENT] Mailbox does not exist']);

    await alice.run('e SETACL Team bob lr', ['e OK SETACL completed']);
    await bob.run('f LIST "" "Other Users/*"', [
      '* LIST (\\Noselect \\HasChildren) "/" "Other Users/alice"',
      '* LIST (\\HasNoChildren) "/" "Other Users/alice/Team"',
      'f OK LIST completed',
    ]);
    await bob.run('g MYRIGHTS "Other Users/alice/Team"', ['* MYRIGHTS "Other Users/alice/Team" lr', 'g OK MYRIGHTS completed']);
    await bob.run('h GETACL "Other Users/alice/Team"', ['h NO [NOPERM] Permission denied (needs the "a" right)']);
    await bob.run('i STATUS "Other Users/alice/Team" (MESSAGES)', ['* STATUS "Other Users/alice/Team" (MESSAGES 2)', 'i OK STATUS completed']);
    bob.send('j SELECT "Other Users/alice/Team"\r\n');
    const sel = await bob.until('j');
    assert.ok(sel.includes('* OK [PERMANENTFLAGS ()] No permanent flags permitted'), sel.join('\n'));
    assert.match(sel.at(-1)!, /^j OK \[READ-ONLY\] SELECT completed$/);
    await bob.run('k FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])', [
      '* 1 FETCH (FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {18}',
      'Subject: acl 1',
      '',
      ')',
      'k OK FETCH completed',
    ]);
    await bob.run('l STORE 1 +FLAGS (\\Seen)', ['l NO Mailbox is read-only']);

    // "s" only: READ-WRITE, \Seen may change, nothing else; no expunge.
    await alice.run('m SETACL Team bob lrs', ['m OK SETACL completed']);
    bob.send('n SELECT "Other Users/alice/Team"\r\n');
    const sel2 = await bob.until('n');
    assert.ok(sel2.includes('* OK [PERMANENTFLAGS (\\Seen)] Flags permitted'), sel2.join('\n'));
    assert.match(sel2.at(-1)!, /^n OK \[READ-WRITE\] SELECT completed$/);
    await bob.run('o STORE 1 +FLAGS (\\Seen \\Flagged)', ['* 1 FETCH (FLAGS (\\Seen))', 'o OK STORE completed']);
    await bob.run('p STORE 1 +FLAGS (\\Answered)', ['p NO [NOPERM] Permission denied (no right to change these flags)']);
    // FLAGS replaces only what bob may change: message 2 keeps \Flagged.
    await bob.run('q STORE 2 FLAGS (\\Seen)', ['* 2 FETCH (FLAGS (\\Seen \\Flagged))', 'q OK STORE completed']);
    await bob.run('r EXPUNGE', ['r NO [NOPERM] Permission denied (EXPUNGE needs the "e" right)']);
    await bob.run('s STORE 1 +FLAGS (\\Deleted)', ['s NO [NOPERM] Permission denied (no right to change these flags)']);
    // CLOSE without "e": no expunge, still OK (RFC 4314 4).
    await bob.run('t CLOSE', ['t OK CLOSE completed']);
    // COPY out of it into bob's own INBOX works ("r" there, every right here).
    await bob.run('u SELECT "Other Users/alice/Team"', []);
    await bob.until('u');
    bob.send('v UID COPY 1:* INBOX\r\n');
    assert.match((await bob.until('v')).at(-1)!, /^v OK \[COPYUID \d+ 1:2 \d+:\d+\] COPY completed$/);
    // COPY into alice's folder needs "i".
    await bob.run('w SELECT INBOX', []);
    await bob.until('w');
    await bob.run('x COPY 1 "Other Users/alice/Team"', ['x NO [NOPERM] Permission denied (needs the "i" right)']);
    await alice.run('y DELETEACL Team bob', ['y OK DELETEACL completed']);
  });

  test("IDLE in alice's folder sees her new messages; revoking \"r\" ends bob's session", async () => {
    const alice = await ts.login('alice');
    const bob = await ts.login('bob');
    await alice.run('a SETACL Team bob lrwi', ['a OK SETACL completed']);
    bob.send('b SELECT "Other Users/alice/Team"\r\n');
    const sel = await bob.until('b');
    const exists = Number(/^\* (\d+) EXISTS$/.exec(sel.find((l) => / EXISTS$/.test(l))!)![1]);
    bob.send('c IDLE\r\n');
    await bob.expect(['+ idling']);
    await ts.deliver('alice', 'Team', M(3));
    await bob.expect([`* ${exists + 1} EXISTS`]);
    bob.send('DONE\r\n');
    await bob.expect(['c OK IDLE terminated']);
    // APPEND with "i" and "w" but not "s": \Seen is dropped, \Flagged kept (RFC 4314 4).
    const m4 = M(4);
    bob.send(`d APPEND "Other Users/alice/Team" (\\Seen \\Flagged) {${Buffer.byteLength(m4)}+}\r\n${m4}\r\n`);
    const appended = await bob.until('d');
    assert.equal(appended[0], `* ${exists + 2} EXISTS`);
    assert.match(appended.at(-1)!, /^d OK \[APPENDUID \d+ \d+\] APPEND completed$/);
    await bob.run(`e FETCH ${exists + 2} FLAGS`, [`* ${exists + 2} FETCH (FLAGS (\\Flagged))`, 'e OK FETCH completed']);
    await alice.run('f SETACL Team bob l', ['f OK SETACL completed']);
    await bob.run('g NOOP', ['* BYE Access to the selected mailbox was revoked']);
    await bob.closed();
    await alice.run('h DELETEACL Team bob', ['h OK DELETEACL completed']);
  });

  test('anyone and negative rights; CREATE under a shared folder needs "k" and inherits the ACL', async () => {
    const alice = await ts.login('alice');
    const carol = await ts.login('carol');
    await alice.run('a SETACL Team anyone lr', ['a OK SETACL completed']);
    await alice.run('b SETACL Team -carol r', ['b OK SETACL completed']);
    await carol.run('c MYRIGHTS "Other Users/alice/Team"', ['* MYRIGHTS "Other Users/alice/Team" l', 'c OK MYRIGHTS completed']);
    await carol.run('d SELECT "Other Users/alice/Team"', ['d NO [NOPERM] Permission denied (needs the "r" right)']);
    await carol.run('e CREATE "Other Users/alice/Team/Mine"', ['e NO [NOPERM] Permission denied (needs the "k" right on the parent)']);
    await alice.run('f DELETEACL Team -carol', ['f OK DELETEACL completed']);
    await alice.run('g SETACL Team carol lrk', ['g OK SETACL completed']);
    carol.send('h CREATE "Other Users/alice/Team/Mine"\r\n');
    assert.match((await carol.until('h')).at(-1)!, /^h OK .*CREATE completed$/);
    await alice.run('i GETACL Team/Mine', ['* ACL Team/Mine alice lrswipkxteacd anyone lr carol lrkc', 'i OK GETACL completed']);
    await alice.run('j DELETE Team/Mine', ['j OK DELETE completed']);
    await alice.run('k DELETEACL Team anyone', ['k OK DELETEACL completed']);
    await alice.run('l DELETEACL Team carol', ['l OK DELETEACL completed']);
  });

  test('shared mailboxes under "Shared/": owned by no user, visible through their ACL', async () => {
    const owner = await ts.repo.directory.createAccount(SHARED_OWNER, '!');
    await ts.repo.directory.setDisabled(SHARED_OWNER, true);
    const support = await ts.repo.store.createMailbox(owner.id, 'Support');
    await ts.repo.store.setAcl(support.id, 'authenticated', 'lrsw');
    await ts.repo.store.setAcl(support.id, 'carol', 'lrswitea');
    await ts.deliver(SHARED_OWNER, 'Support', M(5));
    const bob = await ts.login('bob');
    await bob.run('a LIST "" "Shared/*"', ['* LIST (\\HasNoChildren) "/" Shared/Support', 'a OK LIST completed']);
    await bob.run('a2 LIST "" "%"', [
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\Noselect \\HasChildren) "/" Shared',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
      'a2 OK LIST completed',
    ]);
    await bob.run('b MYRIGHTS Shared/Support', ['* MYRIGHTS Shared/Support lrsw', 'b OK MYRIGHTS completed']);
    await bob.run('c GETACL Shared/Support', ['c NO [NOPERM] Permission denied (needs the "a" right)']);
    await bob.run('d CREATE Shared/New', ['d NO [NOPERM] Permission denied (needs the "k" right on the parent)']);
    const carol = await ts.login('carol');
    await carol.run('e GETACL Shared/Support', ['* ACL Shared/Support authenticated lrsw carol lrswitead', 'e OK GETACL completed']);
    await carol.run('f SELECT Shared/Support', []);
    const sel = await carol.until('f');
    assert.match(sel.at(-1)!, /^f OK \[READ-WRITE\] SELECT completed$/);
    await carol.run('g STORE 1 +FLAGS (\\Deleted)', ['* 1 FETCH (FLAGS (\\Deleted))', 'g OK STORE completed']);
    await carol.run('h EXPUNGE', ['* 1 EXPUNGE', 'h OK EXPUNGE completed']);
    // A personal name may not start with a namespace prefix.
    await bob.run('i CREATE "Other Users/nobody/x"', ['i NO [NOPERM] Cannot create a mailbox there']);
  });

  test('identifiers are SASLprep-prepared (RFC 4314 3): mapped and normalized, BAD when preparation fails', async () => {
    const alice = (await ts.repo.directory.findAccount('alice'))!;
    await ts.repo.store.createMailbox(alice.id, 'Prepared');
    const c = await ts.login('alice');
    const lit = (s: string): string => `{${Buffer.byteLength(s)}+}\r\n${s}`;
    // A soft hyphen is mapped to nothing; fullwidth letters and "Ⅸ" normalize (NFKC) to ASCII.
    await c.run(`a SETACL Prepared ${lit('c\u00adarol')} lr`, ['a OK SETACL completed']);
    await c.run(`b SETACL Prepared ${lit('\uff42\uff4f\uff42')} lrs`, ['b OK SETACL completed']);
    await c.run(`c SETACL Prepared ${lit('-\u2168')} w`, ['c OK SETACL completed']);
    await c.run('d GETACL Prepared', ['* ACL Prepared alice lrswipkxteacd -IX w bob lrs carol lr', 'd OK GETACL completed']);
    // The prepared form is the one compared: DELETEACL and the owner check.
    await c.run(`e DELETEACL Prepared ${lit('\uff42ob')}`, ['e OK DELETEACL completed']);
    await c.run(`f SETACL Prepared ${lit('\uff41lice')} lr`, ["f NO [CANNOT] The owner's rights cannot be changed"]);
    // LISTRIGHTS echoes the identifier as sent (here a literal: it is not ASCII).
    await c.run(`g LISTRIGHTS Prepared ${lit('\uff41lice')}`, ['* LISTRIGHTS Prepared {7}', '\uff41lice lrswipkxteacd', 'g OK LISTRIGHTS completed']);
    // Prohibited (private use, a non-ASCII control), bidi violations (RFC 3454 6), nothing left: BAD, nothing changes.
    await c.run(`h SETACL Prepared ${lit('bob\ue000')} lr`, ['h BAD Invalid identifier']);
    await c.run(`i SETACL Prepared ${lit('bo\u200eb')} lr`, ['i BAD Invalid identifier']);
    await c.run(`j SETACL Prepared ${lit('\u0627a\u0628')} lr`, ['j BAD Invalid identifier']);
    await c.run(`k DELETEACL Prepared ${lit('\u06271')}`, ['k BAD Invalid identifier']);
    await c.run(`l LISTRIGHTS Prepared ${lit('\u00ad')}`, ['l BAD Invalid identifier']);
    await c.run(`m SETACL Prepared ${lit('-\u00ad')} lr`, ['m BAD Invalid identifier']);
    await c.run('n GETACL Prepared', ['* ACL Prepared alice lrswipkxteacd -IX w carol lr', 'n OK GETACL completed']);
  });
});
