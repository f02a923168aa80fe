// Transcripts for CONDSTORE and QRESYNC (RFC 7162): enabling, HIGHESTMODSEQ,
// FETCH MODSEQ / CHANGEDSINCE / VANISHED, STORE UNCHANGEDSINCE and
// [MODIFIED], SEARCH MODSEQ, STATUS HIGHESTMODSEQ, SELECT (QRESYNC ...),
// VANISHED instead of EXPUNGE, and two sessions seeing each other's changes.
//
// Modseqs are exact: a new mailbox is at 1 and every delivery, flag change
// (one per STORE) and expunge (one per command) takes the next one.

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type TestServer } from './transcript.js';

const M = (n: number): string => message([`Subject: message ${n}`, '', `body ${n}`]);

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10', 'u11'];

/** The untagged lines of a rev1 SELECT of INBOX (no \Recent, no keywords). */
function selectLines(o: { exists: number; unseen?: number; uidNext: number; modseq?: number; readOnly?: boolean }): string[] {
  const lines = ['* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)', `* ${o.exists} EXISTS`, '* 0 RECENT'];
  if (o.unseen) lines.push(`* OK [UNSEEN ${o.unseen}] First unseen`);
  lines.push(
    o.readOnly
      ? '* OK [PERMANENTFLAGS ()] No permanent flags permitted'
      : '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
    '* OK [UIDVALIDITY %d] UIDs valid',
    `* OK [UIDNEXT ${o.uidNext}] Predicted next UID`,
    '* OK [MAILBOXID (%s)] Ok',
  );
  if (o.modseq !== undefined) lines.push(`* OK [HIGHESTMODSEQ ${o.modseq}] Highest`);
  return lines;
}

describe('CONDSTORE and QRESYNC (RFC 7162)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: USERS });
  });
  after(async () => {
    await ts.close();
  });

  async function deliver(user: string, n: number, flags: string[] = []): Promise<void> {
    for (let i = 1; i <= n; i++) await ts.deliver(user, 'INBOX', M(i), flags);
  }

  async function uidValidity(user: string): Promise<number> {
    const account = await ts.repo.directory.findAccount(user);
    const box = await ts.repo.store.getMailbox(account!.id, 'INBOX');
    return box!.uidValidity;
  }

  test('advertised; ENABLE CONDSTORE / QRESYNC; SELECT (CONDSTORE); FETCH MODSEQ; STATUS HIGHESTMODSEQ', async () => {
    await deliver('u1', 3);
    const c = await ts.login('u1');
    c.send('a CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY IMAP4rev1 .* CONDSTORE QRESYNC( |$)/);
    await c.expect(['a OK CAPABILITY completed']);
    // Without an enabling command SELECT has no HIGHESTMODSEQ and FETCHes carry no MODSEQ.
    await c.run('b SELECT INBOX', [...selectLines({ exists: 3, unseen: 1, uidNext: 4 }), 'b OK [READ-WRITE] SELECT completed']);
    await c.run('c STORE 1 +FLAGS (\\Seen)', ['* 1 FETCH (FLAGS (\\Seen))', 'c OK STORE completed']);
    // SELECT (CONDSTORE): Example 18.
    await c.run('d SELECT INBOX (CONDSTORE)', [
      '* OK [CLOSED] Previous mailbox is now closed',
      ...selectLines({ exists: 3, unseen: 2, uidNext: 4, modseq: 5 }),
      'd OK [READ-WRITE] SELECT completed',
    ]);
    // Example 13.
    await c.run('e FETCH 1:3 (MODSEQ)', ['* 1 FETCH (MODSEQ (5))', '* 2 FETCH (MODSEQ (3))', '* 3 FETCH (MODSEQ (4))', 'e OK FETCH completed']);
    // From now on every FETCH from a flag change carries UID and MODSEQ (3.1, 3.2.4).
    await c.run('f STORE 2 +FLAGS (\\Flagged)', ['* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (6))', 'f OK STORE completed']);
    await c.run('g STORE 2 +FLAGS.SILENT (\\Answered)', ['* 2 FETCH (UID 2 MODSEQ (7))', 'g OK STORE completed']);
    // Example 17.
    await c.run('h STATUS INBOX (UIDNEXT MESSAGES HIGHESTMODSEQ)', ['* STATUS INBOX (UIDNEXT 4 MESSAGES 3 HIGHESTMODSEQ 7)', 'h OK STATUS completed']);
    await c.run('i ENABLE QRESYNC CONDSTORE', ['* ENABLED QRESYNC', 'i OK ENABLE completed']);

    const d = await ts.login('u1');
    await d.run('a ENABLE CONDSTORE', ['* ENABLED CONDSTORE', 'a OK ENABLE completed']);
    await d.run('b EXAMINE INBOX', [...selectLines({ exists: 3, unseen: 2, uidNext: 4, modseq: 7, readOnly: true }), 'b OK [READ-ONLY] EXAMINE completed']);
    const e = await ts.login('u1');
    await e.run('a ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a OK ENABLE completed']);
    await e.run('b SELECT INBOX', [...selectLines({ exists: 3, unseen: 2, uidNext: 4, modseq: 7 }), 'b OK [READ-WRITE] SELECT completed']);
  });

  test('the first enabling command with a mailbox selected reports HIGHESTMODSEQ (3.1)', async () => {
    await deliver('u2', 2);
    const c = await ts.login('u2');
    await c.run('a SELECT INBOX', [...selectLines({ exists: 2, unseen: 1, uidNext: 3 }), 'a OK [READ-WRITE] SELECT completed']);
    // Example 5.
    await c.run('b STORE 2 (UNCHANGEDSINCE 3) -FLAGS.SILENT (\\Deleted)', [
      '* OK [HIGHESTMODSEQ 3] Highest',
      '* 2 FETCH (UID 2 MODSEQ (3))',
      'b OK STORE completed',
    ]);
    await c.run('c FETCH 1 MODSEQ', ['* 1 FETCH (MODSEQ (2))', 'c OK FETCH completed']);
    const d = await ts.login('u2');
    await d.run('a SELECT INBOX', [...selectLines({ exists: 2, unseen: 1, uidNext: 3 }), 'a OK [READ-WRITE] SELECT completed']);
    await d.run('b ENABLE CONDSTORE', ['* ENABLED CONDSTORE', '* OK [HIGHESTMODSEQ 3] Highest', 'b OK ENABLE completed']);
    const e = await ts.login('u2');
    await e.run('a SELECT INBOX', [...selectLines({ exists: 2, unseen: 1, uidNext: 3 }), 'a OK [READ-WRITE] SELECT completed']);
    await e.run('b SEARCH MODSEQ 3', ['* OK [HIGHESTMODSEQ 3] Highest', '* SEARCH 2 (MODSEQ 3)', 'b OK SEARCH completed']);
    const f = await ts.login('u2');
    await f.run('a SELECT INBOX', [...selectLines({ exists: 2, unseen: 1, uidNext: 3 }), 'a OK [READ-WRITE] SELECT completed']);
    await f.run('b FETCH 1 (FLAGS) (CHANGEDSINCE 1)', ['* OK [HIGHESTMODSEQ 3] Highest', '* 1 FETCH (MODSEQ (2) FLAGS ())', 'b OK FETCH completed']);
    const g = await ts.login('u2');
    await g.run('a SELECT INBOX', [...selectLines({ exists: 2, unseen: 1, uidNext: 3 }), 'a OK [READ-WRITE] SELECT completed']);
    await g.run('b STATUS INBOX (HIGHESTMODSEQ)', ['* OK [HIGHESTMODSEQ 3] Highest', '* STATUS INBOX (HIGHESTMODSEQ 3)', 'b OK STATUS completed']);
  });

  test('STORE (UNCHANGEDSINCE): changed, unchanged and failed messages, MODIFIED as MSNs or UIDs (3.1.3, 3.1.12)', async () => {
    // UIDs 1..5 at modseqs 2..6.
    await deliver('u3', 5);
    const c = await ts.login('u3');
    const other = await ts.login('u3');
    await c.run('a SELECT INBOX (CONDSTORE)', [...selectLines({ exists: 5, unseen: 1, uidNext: 6, modseq: 6 }), 'a OK [READ-WRITE] SELECT completed']);
    // Example 3: all pass; .SILENT still answers with UID and MODSEQ.
    await c.run('b UID STORE 4,2,5 (UNCHANGEDSINCE 6) +FLAGS.SILENT (\\Deleted)', [
      '* 2 FETCH (UID 2 MODSEQ (7))',
      '* 4 FETCH (UID 4 MODSEQ (7))',
      '* 5 FETCH (UID 5 MODSEQ (7))',
      'b OK STORE completed',
    ]);
    // Another session sets \Seen on 2 and 4 (modseq 8), unknown to c.
    other.send('o1 SELECT INBOX\r\n');
    await other.until('o1');
    await other.run('o2 STORE 2,4 +FLAGS.SILENT (\\Seen)', ['o2 OK STORE completed']);
    // Example 6 (with the RECOMMENDED FETCH of the failed ones): the flag asked for changed on 2 and 4.
    await c.run('c STORE 4,3,2 (UNCHANGEDSINCE 6) +FLAGS.SILENT (\\Seen)', [
      '* 2 FETCH (UID 2 FLAGS (\\Seen \\Deleted) MODSEQ (8))',
      '* 3 FETCH (UID 3 MODSEQ (9))',
      '* 4 FETCH (UID 4 FLAGS (\\Seen \\Deleted) MODSEQ (8))',
      'c OK [MODIFIED 2,4] Conditional STORE failed for some messages',
    ]);
    // 3.1.12: 2 and 3 changed after modseq 7, but not in \Deleted as c knows them, so the STORE
    // is done (2 already had it: its MODSEQ stays); FLAGS tell what else changed.
    await c.run('d UID STORE 1:3 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Deleted)', [
      '* 1 FETCH (UID 1 MODSEQ (10))',
      '* 2 FETCH (UID 2 FLAGS (\\Seen \\Deleted) MODSEQ (8))',
      '* 3 FETCH (UID 3 FLAGS (\\Seen \\Deleted) MODSEQ (11))',
      'd OK STORE completed',
    ]);
    // 3.1.12, Example 10's "nice server": another session's \Flagged does not conflict with $Processed.
    other.send('o3 STORE 5 +FLAGS.SILENT (\\Flagged)\r\n');
    await other.until('o3');
    await c.run('e STORE 5 (UNCHANGEDSINCE 7) +FLAGS.SILENT ($Processed)', [
      '* 5 FETCH (UID 5 FLAGS (\\Flagged \\Deleted $Processed) MODSEQ (13))',
      'e OK STORE completed',
    ]);
    // Example 8: UNCHANGEDSINCE 0 tests that an item does not exist: a keyword not set passes
    // (the MDN is sent once), a keyword set or any system flag fails.
    await c.run('f STORE 5 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)', [
      '* 5 FETCH (UID 5 FLAGS (\\Flagged \\Deleted $Processed $MDNSent) MODSEQ (14))',
      'f OK STORE completed',
    ]);
    await c.run('f2 STORE 5 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)', [
      '* 5 FETCH (UID 5 FLAGS (\\Flagged \\Deleted $Processed $MDNSent) MODSEQ (14))',
      'f2 OK [MODIFIED 5] Conditional STORE failed for some messages',
    ]);
    await c.run('f3 STORE 5 (UNCHANGEDSINCE 0) -FLAGS.SILENT (\\Answered)', [
      '* 5 FETCH (UID 5 FLAGS (\\Flagged \\Deleted $Processed $MDNSent) MODSEQ (14))',
      'f3 OK [MODIFIED 5] Conditional STORE failed for some messages',
    ]);
    // STORE FLAGS (no + or -) cannot be saved by 3.1.12: message 1 changed after modseq 9.
    await c.run('g STORE 1 (UNCHANGEDSINCE 9) FLAGS.SILENT (\\Answered)', [
      '* 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (10))',
      'g OK [MODIFIED 1] Conditional STORE failed for some messages',
    ]);
    // Without .SILENT every message gets FLAGS; duplicates in the set are one message (Example 11 note).
    await c.run('h STORE 1,1:2 (UNCHANGEDSINCE 14) -FLAGS (\\Deleted)', [
      '* 1 FETCH (UID 1 FLAGS () MODSEQ (15))',
      '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (15))',
      'h OK STORE completed',
    ]);
    await c.run('i FETCH 1:5 (UID FLAGS MODSEQ)', [
      '* 1 FETCH (UID 1 FLAGS () MODSEQ (15))',
      '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (15))',
      '* 3 FETCH (UID 3 FLAGS (\\Seen \\Deleted) MODSEQ (11))',
      '* 4 FETCH (UID 4 FLAGS (\\Seen \\Deleted) MODSEQ (8))',
      '* 5 FETCH (UID 5 FLAGS (\\Flagged \\Deleted $Processed $MDNSent) MODSEQ (14))',
      'i OK FETCH completed',
    ]);
  });

  test('conditional STORE on messages expunged by another session: NO, with [MODIFIED] for the failed ones (3.1.3 Example 11)', async () => {
    // UIDs 1..4 at modseqs 2..5.
    await deliver('u11', 4);
    const c = await ts.login('u11');
    const other = await ts.login('u11');
    await c.run('a SELECT INBOX (CONDSTORE)', [...selectLines({ exists: 4, unseen: 1, uidNext: 5, modseq: 5 }), 'a OK [READ-WRITE] SELECT completed']);
    other.send('o1 SELECT INBOX\r\n');
    await other.until('o1');
    await other.run('o2 STORE 2 +FLAGS.SILENT (\\Answered)', ['o2 OK STORE completed']);
    await other.run('o3 UID STORE 4 +FLAGS.SILENT (\\Deleted)', ['o3 OK STORE completed']);
    await other.run('o4 UID EXPUNGE 4', ['* 4 EXPUNGE', 'o4 OK EXPUNGE completed']);
    // 1 and 3 change; 2 changed in \Answered after modseq 5 (MODIFIED); 4 is gone.
    await c.run('b STORE 1:4 (UNCHANGEDSINCE 5) +FLAGS (\\Answered)', [
      '* 1 FETCH (UID 1 FLAGS (\\Answered) MODSEQ (9))',
      '* 2 FETCH (UID 2 FLAGS (\\Answered) MODSEQ (6))',
      '* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (9))',
      // The expunge is held during a STORE by sequence numbers: HIGHESTMODSEQ says where the client is.
      '* OK [HIGHESTMODSEQ 5] Expunges pending',
      'b NO [MODIFIED 2] Some of the messages no longer exist',
    ]);
    await c.run('c NOOP', ['* 4 EXPUNGE', 'c OK NOOP completed']);
    // Only expunged messages fail: NO [EXPUNGEISSUED].
    await other.run('o5 UID STORE 3 +FLAGS.SILENT (\\Deleted)', ['* 1 FETCH (UID 1 FLAGS (\\Answered))', 'o5 OK STORE completed']);
    await other.run('o6 UID EXPUNGE 3', ['* 3 EXPUNGE', 'o6 OK EXPUNGE completed']);
    await c.run('d STORE 3 (UNCHANGEDSINCE 11) +FLAGS.SILENT (\\Seen)', [
      '* OK [HIGHESTMODSEQ 9] Expunges pending',
      'd NO [EXPUNGEISSUED] Some of the messages no longer exist',
    ]);
    // Without UNCHANGEDSINCE a STORE on an expunged message is still OK (RFC 2180 4.2.1).
    await c.run('e STORE 3 +FLAGS.SILENT (\\Seen)', ['* OK [HIGHESTMODSEQ 9] Expunges pending', 'e OK STORE completed']);
    await c.run('f NOOP', ['* 3 EXPUNGE', 'f OK NOOP completed']);
  });

  test('FETCH (CHANGEDSINCE), UID FETCH (CHANGEDSINCE n VANISHED), \\Seen set by FETCH (3.1.4, 3.2.6)', async () => {
    // UIDs 1..6 at modseqs 2..7.
    await deliver('u4', 6);
    const c = await ts.login('u4');
    await c.run('a ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a OK ENABLE completed']);
    await c.run('b SELECT INBOX', [...selectLines({ exists: 6, unseen: 1, uidNext: 7, modseq: 7 }), 'b OK [READ-WRITE] SELECT completed']);
    await c.run('c STORE 1,3 +FLAGS.SILENT (\\Deleted)', ['* 1 FETCH (UID 1 MODSEQ (8))', '* 3 FETCH (UID 3 MODSEQ (8))', 'c OK STORE completed']);
    await c.run('d EXPUNGE', ['* VANISHED 1,3', 'd OK [HIGHESTMODSEQ 9] EXPUNGE completed']);
    await c.run('e STORE 1 +FLAGS.SILENT (\\Answered)', ['* 1 FETCH (UID 2 MODSEQ (10))', 'e OK STORE completed']);
    // Example 12: CHANGEDSINCE implies MODSEQ.
    await c.run('f UID FETCH 1:* (FLAGS) (CHANGEDSINCE 6)', [
      '* 1 FETCH (UID 2 MODSEQ (10) FLAGS (\\Answered))',
      '* 4 FETCH (UID 6 MODSEQ (7) FLAGS ())',
      'f OK UID FETCH completed',
    ]);
    // VANISHED (EARLIER) first, then the changed messages; UIDs never given out are not reported.
    await c.run('g UID FETCH 1:10 (FLAGS) (CHANGEDSINCE 9 VANISHED)', ['* 1 FETCH (UID 2 MODSEQ (10) FLAGS (\\Answered))', 'g OK UID FETCH completed']);
    await c.run('h UID FETCH 2:* (FLAGS) (CHANGEDSINCE 5 VANISHED)', [
      '* VANISHED (EARLIER) 3',
      '* 1 FETCH (UID 2 MODSEQ (10) FLAGS (\\Answered))',
      '* 3 FETCH (UID 5 MODSEQ (6) FLAGS ())',
      '* 4 FETCH (UID 6 MODSEQ (7) FLAGS ())',
      'h OK UID FETCH completed',
    ]);
    await c.run('i FETCH 1:* (FLAGS) (CHANGEDSINCE 9)', ['* 1 FETCH (MODSEQ (10) FLAGS (\\Answered))', 'i OK FETCH completed']);
    await c.run('j FETCH 1 (FLAGS) (CHANGEDSINCE 9 VANISHED)', ['j BAD VANISHED is only allowed with UID FETCH']);
    await c.run('k UID FETCH 1:* (FLAGS) (VANISHED)', ['k BAD VANISHED requires CHANGEDSINCE']);
    // A FETCH that sets \Seen reports it with UID and MODSEQ (3.2.4).
    await c.run('l FETCH 4 BODY[TEXT]', ['* 4 FETCH (UID 6 BODY[TEXT] {8}', 'body 6', ' FLAGS (\\Seen) MODSEQ (11))', 'l OK FETCH completed']);

    const d = await ts.login('u4');
    await d.run('a SELECT INBOX', [...selectLines({ exists: 4, unseen: 1, uidNext: 7 }), 'a OK [READ-WRITE] SELECT completed']);
    await d.run('b UID FETCH 1:* (FLAGS) (CHANGEDSINCE 9 VANISHED)', ['b BAD VANISHED requires ENABLE QRESYNC']);
  });

  test('SEARCH MODSEQ with plain SEARCH and ESEARCH results (3.1.5, 3.1.6, 3.1.10)', async () => {
    // UIDs 1..4 at modseqs 2..5.
    await deliver('u5', 4);
    const c = await ts.login('u5');
    await c.run('a SELECT INBOX', [...selectLines({ exists: 4, unseen: 1, uidNext: 5 }), 'a OK [READ-WRITE] SELECT completed']);
    await c.run('b SEARCH MODSEQ 4', ['* OK [HIGHESTMODSEQ 5] Highest', '* SEARCH 3 4 (MODSEQ 5)', 'b OK SEARCH completed']);
    await c.run('c STORE 1 +FLAGS.SILENT (\\Draft)', ['* 1 FETCH (UID 1 MODSEQ (6))', 'c OK STORE completed']);
    // Example 15 (entry name and type are accepted and ignored: one modseq per message).
    await c.run('d SEARCH MODSEQ "/flags/\\\\draft" all 5', ['* SEARCH 1 4 (MODSEQ 6)', 'd OK SEARCH completed']);
    await c.run('e UID SEARCH MODSEQ 3 NOT DRAFT', ['* SEARCH 2 3 4 (MODSEQ 5)', 'e OK UID SEARCH completed']);
    // Example 16: nothing found, no MODSEQ.
    await c.run('f SEARCH OR NOT MODSEQ 2 LARGER 50000', ['* SEARCH', 'f OK SEARCH completed']);
    // Example 19.
    await c.run('g SEARCH RETURN (ALL) MODSEQ 3', ['* ESEARCH (TAG "g") ALL 1:4 MODSEQ 6', 'g OK SEARCH completed']);
    await c.run('h UID SEARCH RETURN (MIN COUNT) MODSEQ 3', ['* ESEARCH (TAG "h") UID MIN 1 COUNT 4 MODSEQ 6', 'h OK UID SEARCH completed']);
    await c.run('i SEARCH RETURN (MAX) MODSEQ 4 NOT DRAFT', ['* ESEARCH (TAG "i") MAX 4 MODSEQ 5', 'i OK SEARCH completed']);
    await c.run('j SEARCH RETURN (COUNT) MODSEQ 7', ['* ESEARCH (TAG "j") COUNT 0', 'j OK SEARCH completed']);
    await c.run('k SEARCH SEEN', ['* SEARCH', 'k OK SEARCH completed']);
  });

  test('two sessions: flag changes arrive with UID and MODSEQ, expunges as VANISHED with QRESYNC (3.1.4.2, 3.2.10)', async () => {
    // UIDs 1..4 at modseqs 2..5.
    await deliver('u6', 4);
    const a = await ts.login('u6');
    const b = await ts.login('u6');
    const plain = await ts.login('u6');
    await a.run('a1 ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a1 OK ENABLE completed']);
    await a.run('a2 SELECT INBOX', [...selectLines({ exists: 4, unseen: 1, uidNext: 5, modseq: 5 }), 'a2 OK [READ-WRITE] SELECT completed']);
    await plain.run('p1 SELECT INBOX (CONDSTORE)', [...selectLines({ exists: 4, unseen: 1, uidNext: 5, modseq: 5 }), 'p1 OK [READ-WRITE] SELECT completed']);
    await b.run('b1 SELECT INBOX', [...selectLines({ exists: 4, unseen: 1, uidNext: 5 }), 'b1 OK [READ-WRITE] SELECT completed']);
    // Example 14, session 2.
    await b.run('b2 STORE 2 +FLAGS.SILENT (\\Deleted \\Answered)', ['b2 OK STORE completed']);
    await a.run('a3 NOOP', ['* 2 FETCH (UID 2 FLAGS (\\Answered \\Deleted) MODSEQ (6))', 'a3 OK NOOP completed']);
    await b.run('b3 STORE 3 +FLAGS.SILENT (\\Deleted)', ['b3 OK STORE completed']);
    await b.run('b4 EXPUNGE', ['* 3 EXPUNGE', '* 2 EXPUNGE', 'b4 OK EXPUNGE completed']);
    // During FETCH by MSN the expunges are held, and HIGHESTMODSEQ says where the client really is.
    await a.run('a4 FETCH 3 (FLAGS)', [
      '* 3 FETCH (FLAGS (\\Deleted))',
      '* OK [HIGHESTMODSEQ 6] Expunges pending',
      'a4 OK FETCH completed',
    ]);
    await a.run('a5 NOOP', ['* VANISHED 2:3', 'a5 OK NOOP completed']);
    await plain.run('p2 NOOP', ['* 3 EXPUNGE', '* 2 EXPUNGE', 'p2 OK NOOP completed']);
    // IDLE: a flag change and an expunge, as they happen.
    await a.run('a6 IDLE', ['+ idling']);
    await b.run('b5 STORE 1 +FLAGS.SILENT (\\Flagged)', ['b5 OK STORE completed']);
    await a.expect(['* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (9))']);
    await b.run('b6 UID STORE 4 +FLAGS.SILENT (\\Deleted)', ['b6 OK STORE completed']);
    await a.expect(['* 2 FETCH (UID 4 FLAGS (\\Deleted) MODSEQ (10))']);
    await b.run('b7 UID EXPUNGE 4', ['* 2 EXPUNGE', 'b7 OK EXPUNGE completed']);
    await a.expect(['* VANISHED 4']);
    await a.run('DONE', ['a6 OK IDLE terminated']);
    await plain.run('p3 NOOP', ['* 2 EXPUNGE', '* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (9))', 'p3 OK NOOP completed']);
    // A's own expunges and moves are VANISHED too, with the new HIGHESTMODSEQ (3.2.7, RFC 6851 4.4).
    await ts.deliver('u6', 'INBOX', M(5));
    await ts.deliver('u6', 'INBOX', M(6));
    await a.run('a7 NOOP', ['* 3 EXISTS', 'a7 OK NOOP completed']);
    await a.run('a8 UID MOVE 5 Trash', ['* OK [COPYUID %d 5 1] Moved', '* VANISHED 5', 'a8 OK [HIGHESTMODSEQ 14] MOVE completed']);
    await a.run('a9 STORE 2 +FLAGS.SILENT (\\Deleted)', ['* 2 FETCH (UID 6 MODSEQ (15))', 'a9 OK STORE completed']);
    await a.run('a10 CLOSE', ['a10 OK CLOSE completed']);
    // Messages that came and went before this session heard of them need no news.
    await plain.run('p4 NOOP', ['p4 OK NOOP completed']);
  });

  test('UID EXPUNGE with QRESYNC; every MODSEQ reported is the message\'s modseq in the store', async () => {
    // UIDs 1..6 at modseqs 2..7.
    await deliver('u8', 6);
    const a = await ts.login('u8');
    const b = await ts.login('u8');
    await a.run('a1 ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a1 OK ENABLE completed']);
    await a.run('a2 SELECT INBOX', [...selectLines({ exists: 6, unseen: 1, uidNext: 7, modseq: 7 }), 'a2 OK [READ-WRITE] SELECT completed']);
    await b.run('b1 SELECT INBOX (CONDSTORE)', [...selectLines({ exists: 6, unseen: 1, uidNext: 7, modseq: 7 }), 'b1 OK [READ-WRITE] SELECT completed']);
    await a.run('a3 STORE 1:4 +FLAGS.SILENT (\\Deleted)', [
      '* 1 FETCH (UID 1 MODSEQ (8))',
      '* 2 FETCH (UID 2 MODSEQ (8))',
      '* 3 FETCH (UID 3 MODSEQ (8))',
      '* 4 FETCH (UID 4 MODSEQ (8))',
      'a3 OK STORE completed',
    ]);
    // Only the given UIDs go (3.2.9), as one VANISHED, with the new HIGHESTMODSEQ.
    await a.run('a4 UID EXPUNGE 2:3', ['* VANISHED 2:3', 'a4 OK [HIGHESTMODSEQ 9] EXPUNGE completed']);
    // B hears of A's flag changes; the expunges wait (STORE by MSN), so HIGHESTMODSEQ stays below them.
    await b.run('b2 STORE 5 FLAGS (\\Seen $Work)', [
      '* 5 FETCH (UID 5 FLAGS (\\Seen $Work) MODSEQ (10))',
      '* 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (8))',
      '* 4 FETCH (UID 4 FLAGS (\\Deleted) MODSEQ (8))',
      '* OK [HIGHESTMODSEQ 7] Expunges pending',
      'b2 OK STORE completed',
    ]);
    // B's own expunge first, then the held ones (numbers as B knows them at each step).
    await b.run('b3 UID EXPUNGE 1', ['* 1 EXPUNGE', '* 2 EXPUNGE', '* 1 EXPUNGE', 'b3 OK [HIGHESTMODSEQ 11] EXPUNGE completed']);
    await a.run('a5 NOOP', ['* VANISHED 1', '* 2 FETCH (UID 5 FLAGS (\\Seen $Work) MODSEQ (10))', 'a5 OK NOOP completed']);
    // The mailbox-level check: FETCH MODSEQ and STATUS HIGHESTMODSEQ against the store itself.
    const account = await ts.repo.directory.findAccount('u8');
    const box = await ts.repo.store.getMailbox(account!.id, 'INBOX');
    const metas = (await ts.repo.store.fetchMessages(box!.id, [{ start: 1, end: Infinity }])).filter((m) => m.expungedModseq === null);
    const expected = metas.map((m, i) => `* ${i + 1} FETCH (UID ${m.uid} MODSEQ (${m.modseq}))`);
    await a.run('a6 FETCH 1:* (UID MODSEQ)', [...expected, 'a6 OK FETCH completed']);
    const highest = Math.max(...metas.map((m) => m.modseq), box!.highestModseq);
    await a.run('a7 STATUS INBOX (HIGHESTMODSEQ)', [`* STATUS INBOX (HIGHESTMODSEQ ${highest})`, 'a7 OK STATUS completed']);
    await b.run('b4 FETCH 1:* (UID MODSEQ)', [...expected, 'b4 OK FETCH completed']);
  });

  test('no VANISHED during a UID SEARCH whose criteria hold sequence numbers (3.2.10.2)', async () => {
    await deliver('u9', 3);
    const a = await ts.login('u9');
    const b = await ts.login('u9');
    await a.run('a1 ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a1 OK ENABLE completed']);
    await a.run('a2 SELECT INBOX', [...selectLines({ exists: 3, unseen: 1, uidNext: 4, modseq: 4 }), 'a2 OK [READ-WRITE] SELECT completed']);
    await b.run('b1 SELECT INBOX', [...selectLines({ exists: 3, unseen: 1, uidNext: 4 }), 'b1 OK [READ-WRITE] SELECT completed']);
    await b.run('b2 STORE 1 +FLAGS.SILENT (\\Deleted)', ['b2 OK STORE completed']);
    await b.run('b3 EXPUNGE', ['* 1 EXPUNGE', 'b3 OK EXPUNGE completed']);
    await a.run('a3 UID SEARCH 2:3', [
      '* SEARCH 2 3',
      '* OK [HIGHESTMODSEQ 4] Expunges pending',
      'a3 OK UID SEARCH completed',
    ]);
    await a.run('a4 UID SEARCH ALL', ['* SEARCH 2 3', '* VANISHED 1', 'a4 OK UID SEARCH completed']);
  });

  test('a MODSEQ read ahead of the view (change without an event, as from another server) makes the session catch up', async () => {
    // UIDs 1..3 at modseqs 2..4.
    await deliver('u10', 3);
    const a = await ts.login('u10');
    await a.run('a1 SELECT INBOX (CONDSTORE)', [...selectLines({ exists: 3, unseen: 1, uidNext: 4, modseq: 4 }), 'a1 OK [READ-WRITE] SELECT completed']);
    // Straight to the store, no event published: the session's view is not told.
    const account = await ts.repo.directory.findAccount('u10');
    const box = await ts.repo.store.getMailbox(account!.id, 'INBOX');
    await ts.repo.store.storeFlags(box!.id, [{ start: 1, end: 1 }], 'add', ['\\Deleted']); // 5
    await ts.repo.store.expunge(box!.id); // 6
    await ts.repo.store.storeFlags(box!.id, [{ start: 2, end: 2 }], 'add', ['\\Seen']); // 7
    await a.run('a2 FETCH 2 (MODSEQ)', [
      '* 2 FETCH (MODSEQ (7))',
      '* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (7))',
      '* OK [HIGHESTMODSEQ 4] Expunges pending',
      'a2 OK FETCH completed',
    ]);
    await a.run('a3 NOOP', ['* 1 EXPUNGE', 'a3 OK NOOP completed']);
  });

  test('SELECT (QRESYNC ...): VANISHED (EARLIER) and changed flags; wrong UIDVALIDITY; BAD without ENABLE (3.2.5)', async () => {
    // UIDs 1..8 at modseqs 2..9.
    await deliver('u7', 8);
    const v = await uidValidity('u7');
    const other = await ts.login('u7');
    await other.run('o1 SELECT INBOX', [...selectLines({ exists: 8, unseen: 1, uidNext: 9 }), 'o1 OK [READ-WRITE] SELECT completed']);
    await other.run('o2 STORE 2,4,6 +FLAGS.SILENT (\\Deleted)', ['o2 OK STORE completed']); // 10
    await other.run('o3 EXPUNGE', ['* 6 EXPUNGE', '* 4 EXPUNGE', '* 2 EXPUNGE', 'o3 OK EXPUNGE completed']); // 11
    await other.run('o4 STORE 1 +FLAGS.SILENT (\\Seen)', ['o4 OK STORE completed']); // 12
    await other.run('o5 UID STORE 7 +FLAGS.SILENT (\\Flagged)', ['o5 OK STORE completed']); // 13
    await ts.deliver('u7', 'INBOX', M(9)); // UID 9 at 14

    const c = await ts.login('u7');
    await c.run(`a SELECT INBOX (QRESYNC (${v} 9))`, ['a BAD QRESYNC requires ENABLE QRESYNC']);
    await c.run('b ENABLE QRESYNC', ['* ENABLED QRESYNC', 'b OK ENABLE completed']);
    // The client knew UIDs 1:8 at modseq 9.
    await c.run(`c SELECT INBOX (QRESYNC (${v} 9 1:8))`, [
      ...selectLines({ exists: 6, unseen: 2, uidNext: 10, modseq: 14 }),
      '* VANISHED (EARLIER) 2,4,6',
      '* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (12))',
      '* 4 FETCH (UID 7 FLAGS (\\Flagged) MODSEQ (13))',
      'c OK [READ-WRITE] SELECT completed',
    ]);
    // No known UIDs: 1:<UIDNEXT-1>, so the new message 9 is reported too.
    await c.run(`d EXAMINE INBOX (QRESYNC (${v} 12))`, [
      '* OK [CLOSED] Previous mailbox is now closed',
      ...selectLines({ exists: 6, unseen: 2, uidNext: 10, modseq: 14, readOnly: true }),
      '* 4 FETCH (UID 7 FLAGS (\\Flagged) MODSEQ (13))',
      '* 6 FETCH (UID 9 FLAGS () MODSEQ (14))',
      'd OK [READ-ONLY] EXAMINE completed',
    ]);
    // Known UIDs restrict both parts.
    await c.run(`e EXAMINE INBOX (QRESYNC (${v} 9 3:6))`, [
      '* OK [CLOSED] Previous mailbox is now closed',
      ...selectLines({ exists: 6, unseen: 2, uidNext: 10, modseq: 14, readOnly: true }),
      '* VANISHED (EARLIER) 4,6',
      'e OK [READ-ONLY] EXAMINE completed',
    ]);
    // Sequence match data (3.2.5.2): MSN 2 is still UID 3, so nothing up to UID 3 is reported;
    // MSN 4 is no longer UID 5 (it is UID 7), so the walk stops there.
    await c.run(`f EXAMINE INBOX (QRESYNC (${v} 9 1:8 (2,4 3,5)))`, [
      '* OK [CLOSED] Previous mailbox is now closed',
      ...selectLines({ exists: 6, unseen: 2, uidNext: 10, modseq: 14, readOnly: true }),
      '* VANISHED (EARLIER) 4,6',
      '* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (12))',
      '* 4 FETCH (UID 7 FLAGS (\\Flagged) MODSEQ (13))',
      'f OK [READ-ONLY] EXAMINE completed',
    ]);
    // Wrong UIDVALIDITY: a plain SELECT, the client sees the new UIDVALIDITY.
    await c.run(`g SELECT INBOX (QRESYNC (${v + 1} 9 1:8))`, [
      '* OK [CLOSED] Previous mailbox is now closed',
      ...selectLines({ exists: 6, unseen: 2, uidNext: 10, modseq: 14 }),
      'g OK [READ-WRITE] SELECT completed',
    ]);
    // Up to date: nothing to report.
    await c.run(`h SELECT INBOX (QRESYNC (${v} 14 1:9))`, [
      '* OK [CLOSED] Previous mailbox is now closed',
      ...selectLines({ exists: 6, unseen: 2, uidNext: 10, modseq: 14 }),
      'h OK [READ-WRITE] SELECT completed',
    ]);
    c.send(`i SELECT INBOX (QRESYNC (${v}))\r\n`);
    await c.expectMatch(/^i BAD /);
  });
});
