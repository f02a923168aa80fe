// Transcripts: default special-use folders, LIST (basic and extended),
// LSUB, CREATE/DELETE/RENAME/SUBSCRIBE/UNSUBSCRIBE, STATUS, mailbox names in
// modified UTF-7 and UTF-8.

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type TestServer } from './transcript.js';

describe('mailbox management', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol', 'dave', 'erin'] });
  });
  after(async () => {
    await ts.close();
  });

  test('first login creates INBOX and the special-use folders, subscribed', async () => {
    const c = await ts.login('alice');
    await c.run('a LIST "" "*"', [
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
      'a OK LIST completed',
    ]);
    await c.run('b LIST "" ""', ['* LIST (\\Noselect) "/" ""', 'b OK LIST completed']);
    await c.run('c LSUB "" "*"', [
      '* LSUB () "/" INBOX',
      '* LSUB () "/" Archive',
      '* LSUB () "/" Drafts',
      '* LSUB () "/" Junk',
      '* LSUB () "/" Sent',
      '* LSUB () "/" Trash',
      'c OK LSUB completed',
    ]);
    await c.run('d LIST (SPECIAL-USE) "" "*" RETURN (SUBSCRIBED)', [
      '* LIST (\\HasNoChildren \\Archive \\Subscribed) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts \\Subscribed) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk \\Subscribed) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent \\Subscribed) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash \\Subscribed) "/" Trash',
      'd OK LIST completed',
    ]);
    await c.run('e LIST "" inbox', ['* LIST (\\HasNoChildren) "/" INBOX', 'e OK LIST completed']);
  });

  test('CREATE, hierarchy, % and *, DELETE with children -> \\Noselect', async () => {
    const c = await ts.login('bob');
    await c.run('a CREATE Work/Projects/Petrel', ['a OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('b CREATE Work', ['b NO [ALREADYEXISTS] Mailbox already exists']);
    await c.run('c LIST "" Work/%', ['* LIST (\\HasChildren) "/" Work/Projects', 'c OK LIST completed']);
    await c.run('d LIST Work/ *', ['* LIST (\\HasChildren) "/" Work/Projects', '* LIST (\\HasNoChildren) "/" Work/Projects/Petrel', 'd OK LIST completed']);
    await c.run('e DELETE Work', ['e OK DELETE completed']);
    await c.run('f LIST "" Work', ['* LIST (\\Noselect \\HasChildren) "/" Work', 'f OK LIST completed']);
    await c.run('g SELECT Work', ['g NO [CANNOT] Mailbox is not selectable']);
    await c.run('h DELETE INBOX', ['h NO [CANNOT] INBOX cannot be deleted']);
    await c.run('i DELETE Nothing', ['i NO [NONEXISTENT] Mailbox does not exist']);
    await c.run('j CREATE Flagged (USE (\\Flagged))', ['j NO [USEATTR] Special-use attribute \\Flagged not supported']);
    await c.run('k CREATE Stuff (USE (\\Archive))', ['k OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('l LIST "" Stuff RETURN (SPECIAL-USE CHILDREN)', ['* LIST (\\HasNoChildren \\Archive) "/" Stuff', 'l OK LIST completed']);
    await c.run('m CREATE INBOX', ['m NO [ALREADYEXISTS] INBOX always exists']);
  });

  test('RENAME keeps UIDs and UIDVALIDITY; renaming INBOX moves its messages', async () => {
    const c = await ts.login('carol');
    await c.run('a CREATE Old', ['a OK [MAILBOXID (%s)] CREATE completed']);
    await ts.deliver('carol', 'Old', message(['Subject: one', '', 'x']));
    await ts.deliver('carol', 'Old', message(['Subject: two', '', 'y']));
    c.send('b STATUS Old (UIDVALIDITY)\r\n');
    const before = (await c.until('b'))[0]!;
    const validity = /UIDVALIDITY (\d+)/.exec(before)![1];
    await c.run('c RENAME Old New/Name', ['c OK RENAME completed']);
    await c.run('d STATUS New/Name (MESSAGES UIDNEXT UIDVALIDITY)', [`* STATUS New/Name (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ${validity})`, 'd OK STATUS completed']);
    await c.run('e STATUS Old (MESSAGES)', ['e NO [NONEXISTENT] Mailbox does not exist']);
    await ts.deliver('carol', 'INBOX', message(['Subject: inbox', '', 'z']));
    await c.run('f RENAME INBOX Saved', ['f OK RENAME completed']);
    await c.run('g STATUS INBOX (MESSAGES)', ['* STATUS INBOX (MESSAGES 0)', 'g OK STATUS completed']);
    await c.run('h STATUS Saved (MESSAGES)', ['* STATUS Saved (MESSAGES 1)', 'h OK STATUS completed']);
    await c.run('i RENAME Nope Other', ['i NO [NONEXISTENT] Mailbox does not exist']);
    await c.run('j RENAME Saved Drafts', ['j NO [ALREADYEXISTS] Mailbox already exists']);
  });

  test('SUBSCRIBE, UNSUBSCRIBE, LIST (SUBSCRIBED RECURSIVEMATCH), LSUB parents', async () => {
    const c = await ts.login('dave');
    await c.run('a CREATE Fruit/Banana', ['a OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('b SUBSCRIBE Fruit/Banana', ['b OK SUBSCRIBE completed']);
    await c.run('c UNSUBSCRIBE Junk', ['c OK UNSUBSCRIBE completed']);
    await c.run('d SUBSCRIBE Missing', ['d NO [NONEXISTENT] Mailbox does not exist']);
    await c.run('e LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"', [
      '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
      '* LIST (\\HasNoChildren \\Archive \\Subscribed) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts \\Subscribed) "/" Drafts',
      '* LIST (\\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\HasNoChildren \\Sent \\Subscribed) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash \\Subscribed) "/" Trash',
      'e OK LIST completed',
    ]);
    await c.run('f LSUB "" "F%"', ['* LSUB (\\Noselect) "/" Fruit', 'f OK LSUB completed']);
    await c.run('g LIST "" "Fruit/*" RETURN (STATUS (MESSAGES UNSEEN))', [
      '* LIST (\\HasNoChildren) "/" Fruit/Banana',
      '* STATUS Fruit/Banana (MESSAGES 0 UNSEEN 0)',
      'g OK LIST completed',
    ]);
  });

  test('international names: modified UTF-7 for rev1, UTF-8 for rev2', async () => {
    const c = await ts.login('erin');
    await c.run('a CREATE "&AOk-t&AOk-"', ['a OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('b LIST "" "&AOk-*"', ['* LIST (\\HasNoChildren) "/" &AOk-t&AOk-', 'b OK LIST completed']);
    await c.run('c CREATE "&Jjo"', ['c BAD Invalid modified UTF-7 in mailbox name']);
    const d = await ts.login('erin');
    await d.run('a ENABLE IMAP4rev2', ['* ENABLED IMAP4rev2', 'a OK ENABLE completed']);
    await d.run('b LIST "" "é*"', ['* LIST (\\HasNoChildren) "/" "été"', 'b OK LIST completed']);
    await d.run('c STATUS "été" (MESSAGES)', ['* STATUS "été" (MESSAGES 0)', 'c OK STATUS completed']);
  });
});
