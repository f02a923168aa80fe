// Transcripts: OBJECTID (RFC 8474): MAILBOXID in CREATE/SELECT/EXAMINE/STATUS
// (kept by RENAME, new for a new mailbox), EMAILID/THREADID fetch items and
// search keys; and imapflow reading them. EMAILID is the content address, so
// copies share it; THREADID is the thread root's message-id, hashed.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const OBJECTID = /^[A-Za-z][A-Za-z0-9_-]{0,254}$/;

const A = message(['Subject: Message A', 'Message-ID: <a@example.com>', '', 'first']);
const B = message(['Subject: Re: Message A', 'Message-ID: <b@example.org>', 'References: <a@example.com>', '', 'reply']);
const C = message(['Subject: Message C', 'Message-ID: <c@example.com>', '', 'other']);

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The value of `name (id)` in a line. */
function idIn(line: string, name: string): string {
  const m = new RegExp(`${name} \\(([^)]*)\\)`).exec(line);
  assert.ok(m, `${name} in ${line}`);
  assert.match(m[1]!, OBJECTID);
  return m[1]!;
}

describe('OBJECTID', () => {
  let ts: TestServer;
  let c: Client;
  before(async () => {
    ts = await startTestServer();
    for (const m of [A, B, C]) await ts.deliver('alice', 'INBOX', m);
    c = await ts.login();
  });
  after(async () => {
    await ts.close();
  });

  test('is advertised', async () => {
    c.send('a CAPABILITY\r\n');
    await c.expectMatch(/^\* CAPABILITY .* OBJECTID( |$)/);
    await c.expect(['a OK CAPABILITY completed']);
  });

  test('MAILBOXID: CREATE, STATUS, SELECT/EXAMINE, LIST-STATUS; kept by RENAME, new for a new mailbox', async () => {
    c.send('a CREATE foo\r\n');
    const foo = idIn(await c.expectMatch(/^a OK \[MAILBOXID \([^)]+\)\] CREATE completed$/), 'MAILBOXID');
    c.send('b CREATE bar\r\n');
    const bar = idIn(await c.expectMatch(/^b OK \[MAILBOXID \([^)]+\)\] CREATE completed$/), 'MAILBOXID');
    assert.notEqual(foo, bar);
    await c.run('c STATUS foo (MAILBOXID)', [`* STATUS foo (MAILBOXID (${foo}))`, 'c OK STATUS completed']);
    await c.run('d STATUS bar (MESSAGES MAILBOXID)', [`* STATUS bar (MESSAGES 0 MAILBOXID (${bar}))`, 'd OK STATUS completed']);
    await c.run('e RENAME foo renamed', ['e OK RENAME completed']);
    await c.run('f STATUS renamed (MAILBOXID)', [`* STATUS renamed (MAILBOXID (${foo}))`, 'f OK STATUS completed']);
    await c.run('g LIST "" "renamed" RETURN (STATUS (MAILBOXID))', ['* LIST (\\HasNoChildren) "/" renamed', `* STATUS renamed (MAILBOXID (${foo}))`, 'g OK LIST completed']);
    // A mailbox created under the old name is another mailbox.
    c.send('h CREATE foo\r\n');
    const foo2 = idIn(await c.expectMatch(/^h OK \[MAILBOXID /), 'MAILBOXID');
    assert.notEqual(foo2, foo);
    assert.notEqual(foo2, bar);
    // Deleted and created again: new.
    await c.run('i DELETE bar', ['i OK DELETE completed']);
    c.send('j CREATE bar\r\n');
    const bar2 = idIn(await c.expectMatch(/^j OK \[MAILBOXID /), 'MAILBOXID');
    assert.notEqual(bar2, bar);
    await c.run('k CREATE bar', ['k NO [ALREADYEXISTS] Mailbox already exists']);
    c.send('l EXAMINE renamed\r\n');
    const lines = await c.until('l');
    assert.ok(lines.includes(`* OK [MAILBOXID (${foo})] Ok`), lines.join('\n'));
    c.send('m SELECT INBOX\r\n');
    const inbox = (await c.until('m')).find((l) => l.startsWith('* OK [MAILBOXID '));
    assert.ok(inbox);
    await c.run('n STATUS INBOX (MAILBOXID)', [`* STATUS INBOX (MAILBOXID (${idIn(inbox, 'MAILBOXID')}))`, 'n OK STATUS completed']);
  });

  test('EMAILID is the content address, THREADID groups a thread; COPY keeps both', async () => {
    c.send('a SELECT INBOX\r\n');
    await c.until('a');
    c.send('b FETCH 1:* (EMAILID THREADID)\r\n');
    const lines = await c.until('b');
    assert.equal(lines.length, 4);
    assert.equal(lines[3], 'b OK FETCH completed');
    const email = lines.slice(0, 3).map((l) => idIn(l, 'EMAILID'));
    const thread = lines.slice(0, 3).map((l) => idIn(l, 'THREADID'));
    assert.deepEqual(email, [A, B, C].map((m) => `M${sha256(m)}`));
    assert.equal(thread[0], thread[1]);
    assert.notEqual(thread[0], thread[2]);
    assert.equal(new Set([...email, ...thread]).size, 5, 'EMAILIDs and THREADIDs never share a value');
    for (const [i, l] of lines.slice(0, 3).entries()) assert.equal(l, `* ${i + 1} FETCH (EMAILID (${email[i]}) THREADID (${thread[i]}))`);

    await c.run('c COPY 2 renamed', ['c OK [COPYUID %d 2 1] COPY completed']);
    await c.run('d SEARCH EMAILID ' + email[0], ['* SEARCH 1', 'd OK SEARCH completed']);
    await c.run('e SEARCH THREADID ' + thread[0], ['* SEARCH 1 2', 'e OK SEARCH completed']);
    await c.run('f UID SEARCH NOT THREADID ' + thread[0], ['* SEARCH 3', 'f OK UID SEARCH completed']);
    await c.run('g SEARCH OR EMAILID ' + email[2] + ' EMAILID Mnothing', ['* SEARCH 3', 'g OK SEARCH completed']);
    await c.run('h SEARCH THREADID Tnothing', ['* SEARCH', 'h OK SEARCH completed']);
    await c.run('h2 UID SEARCH NOT EMAILID ' + email[1], ['* SEARCH 1 3', 'h2 OK UID SEARCH completed']);
    await c.run('h3 SEARCH EMAILID ' + thread[0], ['* SEARCH', 'h3 OK SEARCH completed']);
    await c.run('h4 SEARCH EMAILID M', ['* SEARCH', 'h4 OK SEARCH completed']);
    await c.run('h5 SEARCH EMAILID ' + email[0] + ' THREADID ' + thread[0], ['* SEARCH 1', 'h5 OK SEARCH completed']);
    // The same content delivered again is the same email (RFC 8474 5.1).
    await ts.deliver('alice', 'renamed', B);
    c.send('i SELECT renamed\r\n');
    const sel = await c.until('i');
    assert.equal(sel[sel.length - 1], 'i OK [READ-WRITE] SELECT completed');
    await c.run('j FETCH 1 (EMAILID THREADID)', [`* 1 FETCH (EMAILID (${email[1]}) THREADID (${thread[1]}))`, 'j OK FETCH completed']);
    await c.run('k SEARCH EMAILID ' + email[1], ['* SEARCH 1 2', 'k OK SEARCH completed']);
    await c.run('l SEARCH NOT EMAILID ' + email[1], ['* SEARCH', 'l OK SEARCH completed']);
  });

  test('errors: an objectid is 1*255 of A-Z a-z 0-9 _ -', async () => {
    await c.run('a SEARCH EMAILID "M1"', [`a BAD Expected EMAILID value, found '"M1"'`]);
    await c.run('b SEARCH EMAILID M1!', ["b BAD Unexpected '!' after the SEARCH arguments"]);
    await c.run(`c SEARCH THREADID T${'x'.repeat(255)}`, ['c BAD THREADID value is too long']);
    await c.run('d SEARCH EMAILID', ['d BAD Expected SP after EMAILID']);
    await c.run('e FETCH 1 (EMAILID.PEEK)', ["e BAD Unknown fetch attribute 'EMAILID.PEEK'"]);
  });

  test('imapflow reads mailboxId, emailId and threadId, and searches by them', async () => {
    const flow = new ImapFlow({ host: '127.0.0.1', port: ts.port, secure: false, auth: { user: 'alice', pass: 'secret' }, logger: false, disableAutoIdle: true });
    await flow.connect();
    try {
      const box = await flow.mailboxOpen('INBOX');
      assert.match(String(box.mailboxId), OBJECTID);
      const seen: Array<{ emailId?: string; threadId?: string }> = [];
      // imapflow asks for EMAILID on every FETCH once OBJECTID is advertised.
      for await (const m of flow.fetch('1:*', { uid: true, threadId: true })) seen.push({ emailId: m.emailId, threadId: m.threadId });
      assert.deepEqual(seen.map((m) => m.emailId), [A, B, C].map((m) => `M${sha256(m)}`));
      assert.equal(seen[0]!.threadId, seen[1]!.threadId);
      assert.notEqual(seen[0]!.threadId, seen[2]!.threadId);
      assert.deepEqual(await flow.search({ emailId: seen[2]!.emailId! }, { uid: true }), [3]);
      assert.deepEqual(await flow.search({ threadId: seen[0]!.threadId! }, { uid: true }), [1, 2]);
      const status = await flow.status('renamed', { messages: true });
      assert.equal(status && status.messages, 2);
    } finally {
      await flow.logout();
    }
  });
});
