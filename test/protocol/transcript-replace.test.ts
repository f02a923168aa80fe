// Transcripts for REPLACE and UID REPLACE (RFC 8508): the untagged OK
// [APPENDUID] first (4.3), EXISTS for a replacement into the selected
// mailbox, then the EXPUNGE of the original only (other \Deleted messages
// stay), as in the examples of 3.2/3.3; into another mailbox; with CATENATE
// from the original (4.2); VANISHED and HIGHESTMODSEQ with QRESYNC (4.5);
// the errors: selected state only, bad sequence number, unknown UID,
// read-only mailbox, TRYCREATE, and a failed append that leaves the original
// in place (3.4); quota on the net change (3.4) and one transaction: an
// original expunged meanwhile fails the whole command, nothing is appended.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from './transcript.js';

const draft = (n: number): string => message(['From: Fritz <fritz@example.org>', `Subject: draft ${n}`, '', `Just saw the fireworks (${n}).`]);

describe('REPLACE (RFC 8508)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol', 'dave', 'erin'] });
  });
  after(async () => {
    await ts.close();
  });

  /** Delivers `draft(n)` into the user's mailbox, creating the mailbox first if needed. */
  async function seed(user: string, mailbox: string, n: number, flags: string[] = []): Promise<void> {
    const account = await ts.repo.directory.findAccount(user);
    if (!(await ts.repo.store.getMailbox(account!.id, mailbox))) await ts.repo.store.createMailbox(account!.id, mailbox);
    await ts.deliver(user, mailbox, draft(n), flags);
  }

  test('advertised; REPLACE by sequence number within the selected mailbox', async () => {
    for (let i = 1; i <= 4; i++) await seed('alice', 'Drafts', i, i === 2 ? ['\\Deleted'] : []);
    const c = await ts.login('alice');
    c.send('a CAPABILITY\r\n');
    assert.ok((await c.expectMatch(/^\* CAPABILITY /)).split(' ').includes('REPLACE'));
    await c.expect(['a OK CAPABILITY completed']);
    c.send('b SELECT Drafts\r\n');
    assert.match((await c.until('b')).at(-1)!, /^b OK \[READ-WRITE\] SELECT completed$/);
    const m = draft(5);
    c.send(`c REPLACE 4 Drafts (\\Seen \\Draft) {${m.length}}\r\n`);
    await c.expect(['+ Ready for literal']);
    c.send(`${m}\r\n`);
    await c.expect(['* OK [APPENDUID %d 5] Replacement Message ready', '* 5 EXISTS', '* 4 EXPUNGE', 'c OK REPLACE completed']);
    // Only the replaced message went: message 2 (\Deleted) is still there.
    await c.run('d UID FETCH 1:* (UID FLAGS)', [
      '* 1 FETCH (UID 1 FLAGS ())',
      '* 2 FETCH (UID 2 FLAGS (\\Deleted))',
      '* 3 FETCH (UID 3 FLAGS ())',
      '* 4 FETCH (UID 5 FLAGS (\\Seen \\Draft))',
      'd OK UID FETCH completed',
    ]);
    const m2 = draft(6);
    c.send(`e UID REPLACE 5 Drafts (\\Seen \\Draft) {${m2.length}+}\r\n${m2}\r\n`);
    await c.expect(['* OK [APPENDUID %d 6] Replacement Message ready', '* 5 EXISTS', '* 4 EXPUNGE', 'e OK UID REPLACE completed']);
  });

  test('into another mailbox, and with CATENATE from the original (RFC 8508 4.2)', async () => {
    await seed('bob', 'Drafts', 1);
    const bob = await ts.repo.directory.findAccount('bob');
    await ts.repo.store.createMailbox(bob!.id, 'Sent');
    const c = await ts.login('bob');
    c.send('a SELECT Drafts\r\n');
    await c.until('a');
    const head = 'To: Mitzy <miss.mitzy@example.org>\r\n';
    c.send(`b UID REPLACE 1 Drafts CATENATE (TEXT {${head.length}+}\r\n${head} URL "/Drafts/;UID=1")\r\n`);
    await c.expect(['* OK [APPENDUID %d 2] Replacement Message ready', '* 2 EXISTS', '* 1 EXPUNGE', 'b OK UID REPLACE completed']);
    await c.run('c UID FETCH 2 (BODY.PEEK[HEADER.FIELDS (TO SUBJECT)])', [
      '* 1 FETCH (UID 2 BODY[HEADER.FIELDS (TO SUBJECT)] {56}',
      'To: Mitzy <miss.mitzy@example.org>',
      'Subject: draft 1',
      '',
      ')',
      'c OK UID FETCH completed',
    ]);
    // After submission: the draft is replaced by a message in Sent (not the selected mailbox: no EXISTS).
    const sent = draft(2);
    c.send(`d REPLACE 1 Sent (\\Seen) {${sent.length}+}\r\n${sent}\r\n`);
    await c.expect(['* OK [APPENDUID %d 1] Replacement Message ready', '* 1 EXPUNGE', 'd OK REPLACE completed']);
    await c.run('e STATUS Sent (MESSAGES)', ['* STATUS Sent (MESSAGES 1)', 'e OK STATUS completed']);
    await c.run('f NOOP', ['f OK NOOP completed']);
  });

  test('errors leave the original alone', async () => {
    await seed('carol', 'Drafts', 1);
    const m = draft(2);
    const anon = await ts.connect();
    anon.send(`x UID REPLACE 1 Drafts {${m.length}}\r\n`);
    await anon.expect(['x BAD UID REPLACE not allowed in the not authenticated state']);
    const c = await ts.login('carol');
    c.send(`a REPLACE 1 Drafts {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['a BAD REPLACE not allowed in the authenticated (no mailbox selected) state']);
    c.send('b SELECT Drafts\r\n');
    await c.until('b');
    c.send(`c REPLACE 2 Drafts {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['c BAD Invalid message sequence number']);
    c.send(`d UID REPLACE 9 Drafts {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['d NO No such message']);
    c.send(`e REPLACE 1 Nowhere {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['e NO [TRYCREATE] Mailbox does not exist']);
    c.send('f REPLACE 1 Drafts CATENATE (URL "/Drafts/;UID=42")\r\n');
    await c.expect(['f NO [BADURL /Drafts/;UID=42] Bad URL: no such message']);
    c.send(`g REPLACE 1 Drafts {3+}\r\na\0b\r\n`);
    await c.expect(['g NO Message contains NUL; use a literal8 (~{n})']);
    c.send('h EXAMINE Drafts\r\n');
    await c.until('h');
    c.send(`i REPLACE 1 Drafts {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['i NO [READ-ONLY] Mailbox is read-only']);
    await c.run('j STATUS Drafts (MESSAGES UIDNEXT)', ['* STATUS Drafts (MESSAGES 1 UIDNEXT 2)', 'j OK STATUS completed']);
  });

  test('QRESYNC: VANISHED instead of EXPUNGE, HIGHESTMODSEQ in the tagged OK', async () => {
    await seed('carol', 'Queue', 1);
    await seed('carol', 'Queue', 2);
    const c = await ts.login('carol');
    await c.run('a ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a OK ENABLE completed']);
    c.send('b SELECT Queue\r\n');
    await c.until('b');
    const m = draft(3);
    c.send(`c UID REPLACE 1 Queue {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['* OK [APPENDUID %d 3] Replacement Message ready', '* 3 EXISTS', '* VANISHED 1', 'c OK [HIGHESTMODSEQ %d] UID REPLACE completed']);
  });

  /** A draft of exactly `size` octets. */
  const sized = (n: number, size: number): string => {
    const head = draft(n);
    return head + 'x'.repeat(size - head.length - 2) + '\r\n';
  };

  test('quota counts the net change: a REPLACE that adds nothing fits where an APPEND does not (3.4)', async () => {
    await ts.repo.directory.setQuota('dave', { storage: 1, messages: 2 }); // 1024 octets
    const account = await ts.repo.directory.findAccount('dave');
    await ts.repo.store.createMailbox(account!.id, 'Drafts');
    await ts.deliver('dave', 'Drafts', sized(1, 500));
    await ts.deliver('dave', 'Drafts', sized(2, 500));
    const c = await ts.login('dave');
    c.send('a SELECT Drafts\r\n');
    await c.until('a');
    const same = sized(3, 500);
    c.send(`b APPEND Drafts {${same.length}+}\r\n${same}\r\n`);
    await c.expect(['b NO [OVERQUOTA] Quota exceeded']);
    // Net zero messages and octets: at both limits, still fine.
    c.send(`c UID REPLACE 1 Drafts {${same.length}+}\r\n${same}\r\n`);
    await c.expect(['* OK [APPENDUID %d 3] Replacement Message ready', '* 3 EXISTS', '* 1 EXPUNGE', 'c OK UID REPLACE completed']);
    // Net +200 octets: over the storage limit; the original stays.
    const bigger = sized(4, 700);
    c.send(`d UID REPLACE 2 Drafts {${bigger.length}+}\r\n${bigger}\r\n`);
    await c.expect(['d NO [OVERQUOTA] Quota exceeded']);
    await c.run('e UID FETCH 1:* (UID RFC822.SIZE)', [
      '* 1 FETCH (UID 2 RFC822.SIZE 500)',
      '* 2 FETCH (UID 3 RFC822.SIZE 500)',
      'e OK UID FETCH completed',
    ]);
    // A smaller replacement frees octets; the failed one took no UID.
    const smaller = sized(5, 300);
    c.send(`f UID REPLACE 2 Drafts {${smaller.length}+}\r\n${smaller}\r\n`);
    await c.expect(['* OK [APPENDUID %d 4] Replacement Message ready', '* 3 EXISTS', '* 1 EXPUNGE', 'f OK UID REPLACE completed']);
    await c.run('g GETQUOTAROOT Drafts', [
      '* QUOTAROOT Drafts ""',
      '* QUOTA "" (STORAGE 1 1 MESSAGE 2 2)',
      'g OK GETQUOTAROOT completed',
    ]);
  });

  test('one transaction: an original expunged by another session fails REPLACE, and nothing is appended', async () => {
    await seed('erin', 'Drafts', 1);
    await seed('erin', 'Drafts', 2);
    const c = await ts.login('erin');
    const other = await ts.login('erin');
    c.send('a SELECT Drafts\r\n');
    await c.until('a');
    other.send('o1 SELECT Drafts\r\n');
    await other.until('o1');
    await other.run('o2 STORE 1 +FLAGS.SILENT (\\Deleted)', ['o2 OK STORE completed']);
    await other.run('o3 EXPUNGE', ['* 1 EXPUNGE', 'o3 OK EXPUNGE completed']);
    const m = draft(3);
    c.send(`b REPLACE 1 Drafts {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['b NO [EXPUNGEISSUED] Message was expunged']);
    await c.run('c NOOP', ['* 1 EXPUNGE', 'c OK NOOP completed']);
    await c.run('d STATUS Drafts (MESSAGES UIDNEXT)', ['* STATUS Drafts (MESSAGES 1 UIDNEXT 3)', 'd OK STATUS completed']);
    // The other session sees the REPLACE as one change: EXISTS and EXPUNGE, never the original flagged \Deleted.
    c.send(`e REPLACE 1 Drafts (\\Seen) {${m.length}+}\r\n${m}\r\n`);
    await c.expect(['* OK [APPENDUID %d 3] Replacement Message ready', '* 2 EXISTS', '* 1 EXPUNGE', 'e OK REPLACE completed']);
    await other.run('o4 NOOP', ['* 1 EXPUNGE', '* 1 EXISTS', 'o4 OK NOOP completed']);
  });
});
