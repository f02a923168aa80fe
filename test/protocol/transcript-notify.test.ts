// NOTIFY (RFC 5465) transcripts: the command's syntax and errors (BAD,
// NO [BADEVENT]), NOTIFY SET STATUS, every mailbox filter (SELECTED,
// SELECTED-DELAYED, PERSONAL, INBOXES, SUBSCRIBED, SUBTREE, MAILBOXES) and
// event (MessageNew with fetch attributes, MessageExpunge, FlagChange,
// MailboxName, SubscriptionChange), sent between commands and during IDLE,
// with a second session (or a delivery) making the changes. A NOOP whose
// only answer is its tagged OK shows that nothing else was pending.

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const MSG = message(['From: a@example.org', 'Subject: hi', '', 'body']);
const SUPPORTED = 'MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange';

describe('NOTIFY transcripts', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'ivan', 'jack', 'liam', 'mona', 'nina', 'olga', 'pete'], configure: (c) => (c.imap.defaultMailboxes = []) });
  });
  after(async () => ts.close());

  /** Creates the mailboxes through a short-lived session. */
  async function setup(user: string, mailboxes: string[], more: string[] = []): Promise<void> {
    const c = await ts.login(user);
    let n = 0;
    for (const m of mailboxes) await c.run(`S${++n} CREATE ${m}`, [`S${n} OK [MAILBOXID (%s)] CREATE completed`]);
    for (const cmd of more) {
      c.send(`S${++n} ${cmd}\r\n`);
      await c.until(`S${n}`);
    }
    await c.run('S0 LOGOUT', ['* BYE Logging out', 'S0 OK LOGOUT completed']);
  }

  async function quiet(c: Client, tag = 'Q'): Promise<void> {
    await c.run(`${tag} NOOP`, [`${tag} OK NOOP completed`]);
  }

  test('syntax errors are BAD, unsupported events NO [BADEVENT]', async () => {
    const c = await ts.login('alice');
    const bad = async (tag: string, args: string, text: string): Promise<void> => {
      await c.run(`${tag} NOTIFY ${args}`, [`${tag} BAD ${text}`]);
    };
    await bad('b1', 'GET', "Expected SET or NONE, found GET");
    await bad('b2', 'SET', "Expected SP after NOTIFY SET");
    await bad('b3', 'SET (selected (MailboxName))', "MailboxName is not a message event (only those are allowed with SELECTED)");
    await bad('b4', 'SET (selected (MessageNew))', "MessageNew and MessageExpunge must be given together");
    await bad('b5', 'SET (personal (MessageExpunge))', "MessageNew and MessageExpunge must be given together");
    await bad('b6', 'SET (personal (FlagChange))', "FlagChange and AnnotationChange need MessageNew and MessageExpunge");
    await bad('b7', 'SET (personal (MessageNew (UID) MessageExpunge))', "MessageNew fetch attributes are only allowed with SELECTED or SELECTED-DELAYED");
    await bad('b8', 'SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))', "Only one SELECTED or SELECTED-DELAYED filter is allowed");
    await bad('b9', 'SET (everything (MessageNew MessageExpunge))', "Unknown mailbox filter EVERYTHING");
    await bad('b10', 'SET STATUS', "Expected SP after STATUS");
    await bad('b11', 'SET (subtree (MessageNew MessageExpunge))', "Expected SP after the mailbox filter");
    await bad('b12', 'NONE extra', "Unexpected SP after the NOTIFY arguments");
    await bad('b13', 'SET (selected (MessageNew (NOSUCHATT) MessageExpunge))', "Unknown fetch attribute 'NOSUCHATT'");
    await c.run('n1 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))', [`n1 NO [BADEVENT (${SUPPORTED})] Unsupported NOTIFY event`]);
    await c.run('n2 NOTIFY SET (personal (MailboxName)) (selected (MessageNew MessageExpunge AnnotationChange))', [`n2 NO [BADEVENT (${SUPPORTED})] Unsupported NOTIFY event`]);
    await c.run('n4 NOTIFY SET (personal (SomeFutureEvent))', [`n4 NO [BADEVENT (${SUPPORTED})] Unsupported NOTIFY event`]);
    await c.run('ok1 notify set (Personal NONE) (SELECTED-delayed none)', ['ok1 OK NOTIFY completed']);
    await c.run('ok2 NOTIFY NONE', ['ok2 OK NOTIFY completed']);
  });

  test('NOTIFY is refused before login', async () => {
    const c = await ts.connect();
    await c.run('a NOTIFY NONE', ['a BAD NOTIFY not allowed in the not authenticated state']);
  });

  test('SET STATUS reports the covered mailboxes, not the selected one', async () => {
    await setup('bob', ['Lists', 'Lists/Lemonade', 'Lists/Im2000', 'misc']);
    await ts.deliver('bob', 'Lists/Lemonade', MSG);
    await ts.deliver('bob', 'Lists/Lemonade', MSG);
    const c = await ts.login('bob');
    await c.run('b NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))', [
      '* STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %d)',
      '* STATUS Lists/Im2000 (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %d)',
      '* STATUS Lists/Lemonade (MESSAGES 2 UIDNEXT 3 UIDVALIDITY %d)',
      'b OK NOTIFY completed',
    ]);
    c.send('c SELECT Lists/Lemonade\r\n');
    await c.until('c');
    await c.run('d NOTIFY SET STATUS (mailboxes (Lists/Lemonade misc) (MessageNew MessageExpunge))', [
      '* STATUS misc (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %d)',
      'd OK NOTIFY completed',
    ]);
    // Without STATUS: no responses.
    await c.run('e NOTIFY SET (personal (MessageNew MessageExpunge))', ['e OK NOTIFY completed']);
  });

  test('MessageNew, FlagChange and MessageExpunge in another mailbox: STATUS at any time', async () => {
    await setup('carol', ['Lists']);
    const a = await ts.login('carol');
    const b = await ts.login('carol');
    await a.run('a1 NOTIFY SET (mailboxes Lists (MessageNew MessageExpunge FlagChange))', ['a1 OK NOTIFY completed']);
    await ts.deliver('carol', 'Lists', MSG);
    // No command is running on `a`: the STATUS comes unasked.
    await a.expect(['* STATUS Lists (MESSAGES 1 UIDNEXT 2)']);
    b.send('b1 SELECT Lists\r\n');
    await b.until('b1');
    await b.run('b2 STORE 1 +FLAGS (\\Seen)', ['* 1 FETCH (FLAGS (\\Seen))', 'b2 OK STORE completed']);
    // Without CONDSTORE only a change of UNSEEN is told.
    await a.expect(['* STATUS Lists (UNSEEN 0)']);
    await b.run('b3 STORE 1 +FLAGS (\\Flagged)', ['* 1 FETCH (FLAGS (\\Seen \\Flagged))', 'b3 OK STORE completed']);
    await quiet(a);
    await b.run('b4 STORE 1 +FLAGS (\\Deleted)', ['* 1 FETCH (FLAGS (\\Seen \\Flagged \\Deleted))', 'b4 OK STORE completed']);
    await quiet(a, 'Q2');
    await b.run('b5 EXPUNGE', ['* 1 EXPUNGE', 'b5 OK EXPUNGE completed']);
    await a.expect(['* STATUS Lists (MESSAGES 0 UIDNEXT 2)']);
    // CONDSTORE: every flag change is told, with HIGHESTMODSEQ and UIDVALIDITY.
    await a.run('a2 ENABLE CONDSTORE', ['* ENABLED CONDSTORE', 'a2 OK ENABLE completed']);
    await ts.deliver('carol', 'Lists', MSG);
    await a.expect(['* STATUS Lists (MESSAGES 1 UIDNEXT 3 HIGHESTMODSEQ %d)']);
    await b.run('b6 NOOP', ['* 1 EXISTS', 'b6 OK NOOP completed']);
    await b.run('b7 STORE 1 +FLAGS (\\Flagged)', ['* 1 FETCH (FLAGS (\\Flagged))', 'b7 OK STORE completed']);
    await a.expect(['* STATUS Lists (UIDVALIDITY %d HIGHESTMODSEQ %d)']);
    // The session's own change is not reported back (RFC 5465 5).
    a.send('a3 APPEND Lists {' + MSG.length + '+}\r\n' + MSG + '\r\n');
    await a.expect(['a3 OK [APPENDUID %d 3] APPEND completed']);
    await quiet(a, 'Q3');
  });

  test('SELECTED: EXISTS with the fetch attributes, flag FETCH with UID, EXPUNGE, all between commands', async () => {
    const a = await ts.login('dave');
    const b = await ts.login('dave');
    await ts.deliver('dave', 'INBOX', MSG);
    a.send('a1 SELECT INBOX\r\n');
    await a.until('a1');
    await a.run('a2 NOTIFY SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge FlagChange))', ['a2 OK NOTIFY completed']);
    await ts.deliver('dave', 'INBOX', MSG);
    await a.expect(['* 2 EXISTS', '* 2 FETCH (UID 2 FLAGS () BODY[HEADER.FIELDS (Subject)] {15}', 'Subject: hi', '', ')']);
    // Its own APPEND: EXISTS, but no FETCH of the NOTIFY attributes (5.2).
    a.send('a2b APPEND INBOX {' + MSG.length + '+}\r\n' + MSG + '\r\n');
    await a.expect(['* 3 EXISTS', 'a2b OK [APPENDUID %d 3] APPEND completed']);
    await quiet(a, 'Q0');
    await a.run('a2c UID STORE 3 +FLAGS.SILENT (\\Deleted)', ['a2c OK STORE completed']);
    await a.run('a2d UID EXPUNGE 3', ['* 3 EXPUNGE', 'a2d OK EXPUNGE completed']);
    b.send('b1 SELECT INBOX\r\n');
    await b.until('b1');
    await b.run('b2 STORE 1 +FLAGS.SILENT (\\Answered)', ['b2 OK STORE completed']);
    await a.expect(['* 1 FETCH (UID 1 FLAGS (\\Answered))']);
    await b.run('b3 STORE 1 +FLAGS.SILENT (\\Deleted)', ['b3 OK STORE completed']);
    await a.expect(['* 1 FETCH (UID 1 FLAGS (\\Answered \\Deleted))']);
    await b.run('b4 EXPUNGE', ['* 1 EXPUNGE', 'b4 OK EXPUNGE completed']);
    await a.expect(['* 1 EXPUNGE']);
    await quiet(a);
    // NOTIFY NONE: the usual rules again (updates only when a command ends).
    await a.run('a3 NOTIFY NONE', ['a3 OK NOTIFY completed']);
    await ts.deliver('dave', 'INBOX', MSG);
    await a.run('a4 NOOP', ['* 2 EXISTS', 'a4 OK NOOP completed']);
  });

  test('SELECTED-DELAYED holds expunges until a command that allows them', async () => {
    const a = await ts.login('erin');
    const b = await ts.login('erin');
    await ts.deliver('erin', 'INBOX', MSG);
    await ts.deliver('erin', 'INBOX', MSG);
    a.send('a1 SELECT INBOX\r\n');
    await a.until('a1');
    await a.run('a2 NOTIFY SET (selected-delayed (MessageNew MessageExpunge))', ['a2 OK NOTIFY completed']);
    b.send('b1 SELECT INBOX\r\n');
    await b.until('b1');
    await b.run('b2 STORE 1 +FLAGS.SILENT (\\Deleted)', ['b2 OK STORE completed']);
    // FlagChange was not asked for; a flag FETCH still goes out at the end of a command.
    await b.run('b3 EXPUNGE', ['* 1 EXPUNGE', 'b3 OK EXPUNGE completed']);
    await ts.deliver('erin', 'INBOX', MSG);
    // The new message is told at once, the expunge waits.
    await a.expect(['* 3 EXISTS']);
    await a.run('a3 FETCH 1 UID', ['* 1 FETCH (UID 1)', 'a3 OK FETCH completed']);
    await a.run('a4 NOOP', ['* 1 EXPUNGE', 'a4 OK NOOP completed']);
  });

  test('MailboxName: LIST for create, rename (OLDNAME) and delete by another session, none for its own', async () => {
    const a = await ts.login('frank');
    const b = await ts.login('frank');
    await a.run('a1 NOTIFY SET (personal (MailboxName))', ['a1 OK NOTIFY completed']);
    await b.run('b1 CREATE Projects', ['b1 OK [MAILBOXID (%s)] CREATE completed']);
    await a.expect(['* LIST (\\HasNoChildren) "/" Projects']);
    await b.run('b2 CREATE Projects/Q1', ['b2 OK [MAILBOXID (%s)] CREATE completed']);
    await a.expect(['* LIST (\\HasChildren) "/" Projects', '* LIST (\\HasNoChildren) "/" Projects/Q1']);
    await b.run('b3 RENAME Projects Work', ['b3 OK RENAME completed']);
    // One event for the renamed parent; its child moves with it.
    await a.expect(['* LIST (\\HasChildren) "/" Work ("OLDNAME" (Projects))']);
    await b.run('b4 DELETE Work/Q1', ['b4 OK DELETE completed']);
    await a.expect(['* LIST (\\HasNoChildren) "/" Work', '* LIST (\\NonExistent) "/" Work/Q1']);
    await a.run('a2 CREATE Mine', ['a2 OK [MAILBOXID (%s)] CREATE completed']);
    await quiet(a);
    // RENAME INBOX: the messages move to a new mailbox and INBOX stays, so no event for INBOX (5.4).
    await b.run('b7 RENAME INBOX Old', ['b7 OK RENAME completed']);
    await a.expect(['* LIST (\\HasNoChildren) "/" Old']);
    // SUBTREE limits it to the names below Work.
    await a.run('a3 NOTIFY SET (subtree Work (MailboxName))', ['a3 OK NOTIFY completed']);
    await b.run('b5 CREATE Other', ['b5 OK [MAILBOXID (%s)] CREATE completed']);
    await b.run('b6 CREATE Work/Q2', ['b6 OK [MAILBOXID (%s)] CREATE completed']);
    await a.expect(['* LIST (\\HasChildren) "/" Work', '* LIST (\\HasNoChildren) "/" Work/Q2']);
  });

  test('SubscriptionChange and the SUBSCRIBED filter', async () => {
    await setup('gina', ['Lists', 'News']);
    const a = await ts.login('gina');
    const b = await ts.login('gina');
    await a.run('a1 NOTIFY SET (personal (SubscriptionChange)) (subscribed (MessageNew MessageExpunge))', ['a1 OK NOTIFY completed']);
    await b.run('b1 SUBSCRIBE Lists', ['b1 OK SUBSCRIBE completed']);
    await a.expect(['* LIST (\\HasNoChildren \\Subscribed) "/" Lists']);
    // Lists is subscribed now, so the SUBSCRIBED filter covers it.
    await ts.deliver('gina', 'Lists', MSG);
    await a.expect(['* STATUS Lists (MESSAGES 1 UIDNEXT 2)']);
    await ts.deliver('gina', 'News', MSG);
    await quiet(a);
    await b.run('b2 UNSUBSCRIBE Lists', ['b2 OK UNSUBSCRIBE completed']);
    await a.expect(['* LIST (\\HasNoChildren) "/" Lists']);
    await ts.deliver('gina', 'Lists', MSG);
    await quiet(a, 'Q2');
    await a.run('a2 SUBSCRIBE News', ['a2 OK SUBSCRIBE completed']);
    await quiet(a, 'Q3');
  });

  test('INBOXES and PERSONAL cover personal mailboxes; IDLE sends the same events', async () => {
    await setup('hank', ['Archive']);
    const a = await ts.login('hank');
    await a.run('a1 NOTIFY SET (inboxes (MessageNew MessageExpunge))', ['a1 OK NOTIFY completed']);
    a.send('a2 IDLE\r\n');
    await a.expect(['+ idling']);
    await ts.deliver('hank', 'Archive', MSG);
    await a.expect(['* STATUS Archive (MESSAGES 1 UIDNEXT 2)']);
    await ts.deliver('hank', 'INBOX', MSG);
    await a.expect(['* STATUS INBOX (MESSAGES 1 UIDNEXT 2)']);
    a.send('DONE\r\n');
    await a.expect(['a2 OK IDLE terminated']);
    await a.run('a3 NOTIFY SET (personal NONE)', ['a3 OK NOTIFY completed']);
    await ts.deliver('hank', 'INBOX', MSG);
    await quiet(a);
  });

  test('MailboxMetadataChange and ServerMetadataChange: METADATA with the changed entry names', async () => {
    await setup('jack', ['Notes']);
    const a = await ts.login('jack');
    const b = await ts.login('jack');
    await a.run('a1 NOTIFY SET (mailboxes Notes (MailboxMetadataChange ServerMetadataChange))', ['a1 OK NOTIFY completed']);
    await b.run('b1 SETMETADATA Notes (/private/comment "one" /shared/comment "two")', ['b1 OK SETMETADATA completed']);
    await a.expect(['* METADATA Notes /private/comment /shared/comment']);
    await b.run('b2 SETMETADATA Notes (/shared/comment NIL)', ['b2 OK SETMETADATA completed']);
    await a.expect(['* METADATA Notes /shared/comment']);
    await b.run('b3 SETMETADATA INBOX (/private/comment "not watched")', ['b3 OK SETMETADATA completed']);
    await quiet(a);
    await b.run('b4 SETMETADATA "" (/private/comment "1")', ['b4 OK SETMETADATA completed']);
    await a.expect(['* METADATA "" /private/comment']);
    // Its own change is not reported back.
    await a.run('a2 SETMETADATA Notes (/private/comment "mine")', ['a2 OK SETMETADATA completed']);
    await quiet(a, 'Q2');
  });

  test('other users\' mailboxes: only with "l", STATUS only with "r", else \\NoAccess', async () => {
    await setup('ivan', ['Team', 'Secret'], ['SETACL Team alice lr', 'SETACL Secret alice l']);
    const a = await ts.login('alice');
    await a.run('a1 NOTIFY SET STATUS (subtree "Other Users/ivan" (MessageNew MessageExpunge)) (mailboxes "Other Users/ivan/INBOX" (MessageNew MessageExpunge))', [
      '* LIST (\\NoAccess) "/" "Other Users/ivan/Secret"',
      '* STATUS "Other Users/ivan/Team" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY %d)',
      'a1 OK NOTIFY completed',
    ]);
    await ts.deliver('ivan', 'Team', MSG);
    await a.expect(['* STATUS "Other Users/ivan/Team" (MESSAGES 1 UIDNEXT 2)']);
    await ts.deliver('ivan', 'Secret', MSG);
    await ts.deliver('ivan', 'INBOX', MSG);
    await quiet(a);
    await a.run('a2 NOTIFY SET (mailboxes ("Other Users/ivan/Secret" "Other Users/ivan/Team") (MailboxMetadataChange))', [
      '* LIST (\\NoAccess) "/" "Other Users/ivan/Secret"',
      'a2 OK NOTIFY completed',
    ]);
  });

  test('granting and revoking "l" is a MailboxName create and delete; revoking "r" stops the STATUS', async () => {
    await setup('liam', ['Team', 'Private'], ['SETACL Team alice lr']);
    const a = await ts.login('alice');
    const owner = await ts.login('liam');
    await a.run('a1 NOTIFY SET (subtree "Other Users/liam" (MessageNew MessageExpunge MailboxName))', ['a1 OK NOTIFY completed']);
    await owner.run('o1 SETACL Private alice lr', ['o1 OK SETACL completed']);
    // The mailbox and its parent (here the other user's namespace node) are affected (RFC 5465 5.4).
    await a.expect(['* LIST (\\Noselect \\HasChildren) "/" "Other Users/liam"', '* LIST (\\HasNoChildren) "/" "Other Users/liam/Private"']);
    await ts.deliver('liam', 'Private', MSG);
    await a.expect(['* STATUS "Other Users/liam/Private" (MESSAGES 1 UIDNEXT 2)']);
    await owner.run('o2 SETACL Private alice l', ['o2 OK SETACL completed']);
    await ts.deliver('liam', 'Private', MSG);
    await quiet(a);
    await owner.run('o3 DELETEACL Private alice', ['o3 OK DELETEACL completed']);
    await a.expect(['* LIST (\\Noselect \\HasChildren) "/" "Other Users/liam"', '* LIST (\\NonExistent) "/" "Other Users/liam/Private"']);
    await ts.deliver('liam', 'Team', MSG);
    await a.expect(['* STATUS "Other Users/liam/Team" (MESSAGES 1 UIDNEXT 2)']);
  });

  test('a mailbox shared by an owner not seen before is announced at once, for the user and for "anyone"', async () => {
    await setup('olga', ['Plans', 'Notes', 'Diary']);
    const p = await ts.login('pete');
    const owner = await ts.login('olga');
    await p.run('a1 NOTIFY SET (subtree "Other Users" (MessageNew MessageExpunge MailboxName))', ['a1 OK NOTIFY completed']);
    await owner.run('o1 SETACL Plans pete lr', ['o1 OK SETACL completed']);
    await p.expect(['* LIST (\\Noselect \\HasChildren) "/" "Other Users/olga"', '* LIST (\\HasNoChildren) "/" "Other Users/olga/Plans"']);
    await ts.deliver('olga', 'Plans', MSG);
    await p.expect(['* STATUS "Other Users/olga/Plans" (MESSAGES 1 UIDNEXT 2)']);
    await owner.run('o2 SETACL Notes anyone lr', ['o2 OK SETACL completed']);
    await p.expect(['* LIST (\\Noselect \\HasChildren) "/" "Other Users/olga"', '* LIST (\\HasNoChildren) "/" "Other Users/olga/Notes"']);
    // A negative right for pete takes Notes away again.
    await owner.run('o3 SETACL Notes -pete l', ['o3 OK SETACL completed']);
    await p.expect(['* LIST (\\Noselect \\HasChildren) "/" "Other Users/olga"', '* LIST (\\NonExistent) "/" "Other Users/olga/Notes"']);
    await quiet(p);
  });

  test('QRESYNC: the selected mailbox\'s expunges as VANISHED, other mailboxes\' STATUS with HIGHESTMODSEQ', async () => {
    await setup('mona', ['Lists']);
    await ts.deliver('mona', 'INBOX', MSG);
    await ts.deliver('mona', 'Lists', MSG);
    const a = await ts.login('mona');
    const b = await ts.login('mona');
    await a.run('a1 ENABLE QRESYNC', ['* ENABLED QRESYNC', 'a1 OK ENABLE completed']);
    a.send('a2 SELECT INBOX\r\n');
    await a.until('a2');
    await a.run('a3 NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))', ['a3 OK NOTIFY completed']);
    b.send('b1 SELECT INBOX\r\n');
    await b.until('b1');
    await b.run('b2 STORE 1 +FLAGS.SILENT (\\Deleted)', ['b2 OK STORE completed']);
    await b.run('b3 EXPUNGE', ['* 1 EXPUNGE', 'b3 OK EXPUNGE completed']);
    await a.expect(['* VANISHED 1']);
    b.send('b4 SELECT Lists\r\n');
    await b.until('b4');
    await b.run('b5 STORE 1 +FLAGS.SILENT (\\Deleted)', ['b5 OK STORE completed']);
    await b.run('b6 EXPUNGE', ['* 1 EXPUNGE', 'b6 OK EXPUNGE completed']);
    await a.expect(['* STATUS Lists (MESSAGES 0 UIDNEXT 2 HIGHESTMODSEQ %d)']);
    // INBOX is selected: the SELECTED filter, not PERSONAL, decides for it (no STATUS).
    await ts.deliver('mona', 'INBOX', MSG);
    await a.expect(['* 1 EXISTS']);
    await quiet(a);
  });

  test('SEARCH RETURN (UPDATE (fetch-att)) fetches new messages that join the result, not flag-changed ones (RFC 5465 7)', async () => {
    await ts.deliver('nina', 'INBOX', message(['From: other@example.org', 'Subject: x', '', 'body']));
    const a = await ts.login('nina');
    const b = await ts.login('nina');
    a.send('a1 SELECT INBOX\r\n');
    await a.until('a1');
    await a.run('a2 SEARCH RETURN (COUNT UPDATE (UID BODY.PEEK[HEADER.FIELDS (FROM)])) FROM "boss"', ['* ESEARCH (TAG "a2") COUNT 0', 'a2 OK SEARCH completed']);
    await a.run('a3 SEARCH RETURN (UPDATE(FLAGS)) FLAGGED', ['* ESEARCH (TAG "a3")', 'a3 OK SEARCH completed']);
    await ts.deliver('nina', 'INBOX', message(['From: boss@example.org', 'Subject: y', '', 'body']));
    await a.run('a4 NOOP', [
      '* 2 EXISTS',
      '* ESEARCH (TAG "a2") ADDTO (0 2)',
      '* 2 FETCH (UID 2 BODY[HEADER.FIELDS (FROM)] {26}',
      'From: boss@example.org',
      '',
      ')',
      'a4 OK NOOP completed',
    ]);
    b.send('b1 SELECT INBOX\r\n');
    await b.until('b1');
    await b.run('b2 STORE 1 +FLAGS.SILENT (\\Flagged)', ['b2 OK STORE completed']);
    // Flagged now, but not new: ADDTO without a FETCH of the UPDATE attributes.
    await a.run('a5 NOOP', ['* 1 FETCH (FLAGS (\\Flagged))', '* ESEARCH (TAG "a3") ADDTO (0 1)', 'a5 OK NOOP completed']);
  });
});
