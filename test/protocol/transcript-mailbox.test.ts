// Transcripts: SELECT/EXAMINE, FETCH, STORE, EXPUNGE, APPEND, CLOSE, UNSELECT, STATUS.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from './transcript.js';

const MSG1 = message([
  'From: Bob <bob@example.com>',
  'To: alice@example.com',
  'Subject: Hello',
  'Date: Sat, 21 Nov 2026 10:00:00 +0000',
  'Message-ID: <m1@example.com>',
  '',
  'Hi Alice',
]);
const MSG2 = message(['From: carol@example.com', 'Subject: Second', '', 'Two']);

describe('selected state', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol'] });
  });
  after(async () => {
    await ts.close();
  });

  test('SELECT for an IMAP4rev1 client, then EXAMINE', async () => {
    const c = await ts.login('bob');
    await ts.deliver('bob', 'INBOX', MSG1, ['\\Seen']);
    await ts.deliver('bob', 'INBOX', MSG2, ['$Important']);
    await c.run('a SELECT inbox', [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)',
      '* 2 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 2] First unseen',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 3] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      'a OK [READ-WRITE] SELECT completed',
    ]);
    await c.run('b EXAMINE INBOX', [
      '* OK [CLOSED] Previous mailbox is now closed',
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)',
      '* 2 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 2] First unseen',
      '* OK [PERMANENTFLAGS ()] No permanent flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 3] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      'b OK [READ-ONLY] EXAMINE completed',
    ]);
    await c.run('c STORE 1 +FLAGS (\\Flagged)', ['c NO Mailbox is read-only']);
    await c.run('d SELECT Nope', ['* OK [CLOSED] Previous mailbox is now closed', 'd NO [NONEXISTENT] Mailbox does not exist']);
    await c.run('e FETCH 1 FLAGS', ['e BAD FETCH not allowed in the authenticated (no mailbox selected) state']);
  });

  test('SELECT for an IMAP4rev2 client has LIST and no RECENT/UNSEEN', async () => {
    const c = await ts.login('bob');
    await c.run('a ENABLE IMAP4rev2', ['* ENABLED IMAP4rev2', 'a OK ENABLE completed']);
    await c.run('b SELECT INBOX', [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)',
      '* 2 EXISTS',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 3] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      '* LIST (\\HasNoChildren) "/" INBOX',
      'b OK [READ-WRITE] SELECT completed',
    ]);
    await c.run('c SEARCH UNSEEN', ['* ESEARCH (TAG "c") ALL 2', 'c OK SEARCH completed']);
    await c.run('d UNSELECT', ['d OK UNSELECT completed']);
  });

  test('FETCH items', async () => {
    const c = await ts.login('carol');
    const uid = await ts.deliver('carol', 'INBOX', MSG1);
    assert.equal(uid, 1);
    await c.run('s SELECT INBOX', [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
      '* 1 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 1] First unseen',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 2] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      's OK [READ-WRITE] SELECT completed',
    ]);
    const size = Buffer.byteLength(MSG1);
    await c.run('a FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)', [
      `* 1 FETCH (FLAGS () UID 1 RFC822.SIZE ${size} INTERNALDATE %t)`,
      'a OK FETCH completed',
    ]);
    await c.run('b FETCH 1 ENVELOPE', [
      '* 1 FETCH (ENVELOPE ("Sat, 21 Nov 2026 10:00:00 +0000" "Hello" (("Bob" NIL "bob" "example.com")) (("Bob" NIL "bob" "example.com")) (("Bob" NIL "bob" "example.com")) ((NIL NIL "alice" "example.com")) NIL NIL NIL "<m1@example.com>"))',
      'b OK FETCH completed',
    ]);
    await c.run('c FETCH 1 BODYSTRUCTURE', [
      '* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("charset" "us-ascii") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL))',
      'c OK FETCH completed',
    ]);
    await c.run('d FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject From)])', [
      '* 1 FETCH (BODY[HEADER.FIELDS (Subject From)] {47}',
      'From: Bob <bob@example.com>',
      'Subject: Hello',
      '',
      ')',
      'd OK FETCH completed',
    ]);
    await c.run('e FETCH 1 (BODY.PEEK[TEXT]<0.2> BODY.PEEK[1])', ['* 1 FETCH (BODY[TEXT]<0> {2}', 'Hi BODY[1] {10}', 'Hi Alice', ')', 'e OK FETCH completed']);
    await c.run('f FETCH 1 FLAGS', ['* 1 FETCH (FLAGS ())', 'f OK FETCH completed']);
    // BODY[] without PEEK sets \Seen and reports it in the same response.
    await c.run('g FETCH 1 BODY[TEXT]', ['* 1 FETCH (BODY[TEXT] {10}', 'Hi Alice', ' FLAGS (\\Seen))', 'g OK FETCH completed']);
    await c.run('h UID FETCH 1 (FLAGS BINARY.SIZE[1])', ['* 1 FETCH (UID 1 FLAGS (\\Seen) BINARY.SIZE[1] 10)', 'h OK UID FETCH completed']);
    await c.run('i FETCH 2 FLAGS', ['i BAD Invalid message sequence number']);
    await c.run('j UID FETCH 5:9 FLAGS', ['j OK UID FETCH completed']);
    await c.run('k FETCH 1 RFC822.HEADER', [
      `* 1 FETCH (RFC822.HEADER {${MSG1.indexOf('\r\n\r\n') + 4}}`,
      'From: Bob <bob@example.com>',
      'To: alice@example.com',
      'Subject: Hello',
      'Date: Sat, 21 Nov 2026 10:00:00 +0000',
      'Message-ID: <m1@example.com>',
      '',
      ')',
      'k OK FETCH completed',
    ]);
  });

  test('STORE, EXPUNGE, CLOSE, APPEND to the selected mailbox', async () => {
    const c = await ts.login('alice');
    await ts.deliver('alice', 'INBOX', MSG1);
    await ts.deliver('alice', 'INBOX', MSG2);
    await ts.deliver('alice', 'INBOX', MSG2);
    c.send('s SELECT INBOX\r\n');
    const lines = await c.until('s');
    assert.ok(lines.includes('* 3 EXISTS'), lines.join('\n'));
    await c.run('a STORE 1:2 +FLAGS (\\Deleted $Label)', [
      '* 1 FETCH (FLAGS (\\Deleted $Label))',
      '* 2 FETCH (FLAGS (\\Deleted $Label))',
      'a OK STORE completed',
    ]);
    await c.run('b STORE 2 -FLAGS.SILENT ($Label)', ['b OK STORE completed']);
    await c.run('c UID STORE 3 FLAGS (\\Seen)', ['* 3 FETCH (UID 3 FLAGS (\\Seen))', 'c OK STORE completed']);
    await c.run('d STORE 3 +FLAGS (\\Seen)', ['* 3 FETCH (FLAGS (\\Seen))', 'd OK STORE completed']);
    await c.run('e EXPUNGE', ['* 2 EXPUNGE', '* 1 EXPUNGE', 'e OK EXPUNGE completed']);
    await c.run('f FETCH 1 UID', ['* 1 FETCH (UID 3)', 'f OK FETCH completed']);
    const raw = 'Subject: appended\r\n\r\nbody\r\n';
    await c.run(`g APPEND INBOX (\\Flagged) {${raw.length}}`, ['+ Ready for literal']);
    await c.run(raw, ['* 2 EXISTS', 'g OK [APPENDUID %d 4] APPEND completed']);
    await c.run(`h APPEND Nowhere {${raw.length}+}\r\n${raw}`, ['h NO [TRYCREATE] Mailbox does not exist']);
    await c.run('i UID STORE 4 +FLAGS (\\Deleted)', ['* 2 FETCH (UID 4 FLAGS (\\Flagged \\Deleted))', 'i OK STORE completed']);
    await c.run('j CLOSE', ['j OK CLOSE completed']);
    await c.run('k STATUS INBOX (MESSAGES UIDNEXT UNSEEN DELETED SIZE RECENT)', [
      `* STATUS INBOX (MESSAGES 1 UIDNEXT 5 UNSEEN 0 DELETED 0 SIZE ${Buffer.byteLength(MSG2)} RECENT 0)`,
      'k OK STATUS completed',
    ]);
  });

  test('UID EXPUNGE, CHECK, STATUS of the selected mailbox, no \\Seen in EXAMINE', async () => {
    await ts.login('carol'); // carol's INBOX has MSG1 from the FETCH test
    const c = await ts.login('carol');
    await ts.deliver('carol', 'INBOX', MSG2);
    await ts.deliver('carol', 'INBOX', MSG2);
    await c.run('a EXAMINE INBOX', [
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
      '* 3 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 2] First unseen',
      '* OK [PERMANENTFLAGS ()] No permanent flags permitted',
      '* OK [UIDVALIDITY %d] UIDs valid',
      '* OK [UIDNEXT 4] Predicted next UID',
      '* OK [MAILBOXID (%s)] Ok',
      'a OK [READ-ONLY] EXAMINE completed',
    ]);
    await c.run('b FETCH 2 (BODY[TEXT] FLAGS)', ['* 2 FETCH (BODY[TEXT] {5}', 'Two', ' FLAGS ())', 'b OK FETCH completed']);
    await c.run('c EXPUNGE', ['c NO Mailbox is read-only']);
    c.send('d SELECT INBOX\r\n');
    await c.until('d');
    await c.run('e STORE 2:3 +FLAGS.SILENT (\\Deleted)', ['e OK STORE completed']);
    await c.run('f UID EXPUNGE 3:10', ['* 3 EXPUNGE', 'f OK EXPUNGE completed']);
    await c.run('g CHECK', ['g OK CHECK completed']);
    await c.run('h STATUS INBOX (MESSAGES DELETED)', ['* STATUS INBOX (MESSAGES 2 DELETED 1)', 'h OK STATUS completed']);
    await c.run('i CLOSE', ['i OK CLOSE completed']);
    await c.run('j STATUS INBOX (MESSAGES DELETED)', ['* STATUS INBOX (MESSAGES 1 DELETED 0)', 'j OK STATUS completed']);
  });
});
