// Transcripts from the RFC 9051 / RFC 3501 conformance audit: each test pins
// one deviation that was found and fixed (exact bytes), plus the session's
// reaction to changes made elsewhere (mailbox deleted or renamed, account
// disabled or deleted).

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const M = (n: number): string => message([`Subject: message ${n}`, '', `body ${n}`]);

describe('conformance audit', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'] });
  });
  after(async () => {
    await ts.close();
  });

  async function select(c: Client, tag: string, mailbox = 'INBOX'): Promise<void> {
    c.send(`${tag} SELECT ${mailbox}\r\n`);
    await c.until(tag);
  }

  test('MOVE into the selected mailbox itself is allowed (RFC 9051 6.4.8)', async () => {
    for (let i = 1; i <= 3; i++) await ts.deliver('alice', 'INBOX', M(i));
    const c = await ts.login('alice');
    await select(c, 's');
    await c.run('a MOVE 1 INBOX', ['* OK [COPYUID %d 1 4] Moved', '* 1 EXPUNGE', '* 3 EXISTS', 'a OK MOVE completed']);
    await c.run('b UID MOVE 2:3 INBOX', ['* OK [COPYUID %d 2:3 5:6] Moved', '* 2 EXPUNGE', '* 1 EXPUNGE', '* 3 EXISTS', 'b OK MOVE completed']);
    await c.run('c FETCH 1:* UID', ['* 1 FETCH (UID 4)', '* 2 FETCH (UID 5)', '* 3 FETCH (UID 6)', 'c OK FETCH completed']);
  });

  test('LSUB "*" lists only subscribed names; "%" adds the \\Noselect parent (RFC 3501 6.3.9)', async () => {
    const c = await ts.login('bob');
    await c.run('a CREATE zip/zap/zop', ['a OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('b SUBSCRIBE zip/zap/zop', ['b OK SUBSCRIBE completed']);
    await c.run('c LSUB "" zip*', ['* LSUB () "/" zip/zap/zop', 'c OK LSUB completed']);
    await c.run('d LSUB "" zip/%', ['* LSUB (\\Noselect) "/" zip/zap', 'd OK LSUB completed']);
    await c.run('e LSUB zip/ %', ['* LSUB (\\Noselect) "/" zip/zap', 'e OK LSUB completed']);
    // Subscribed but deleted: still listed (RFC 3501 6.3.6), and not selectable.
    await c.run('f DELETE zip/zap/zop', ['f OK DELETE completed']);
    await c.run('g LSUB "" zip*', ['* LSUB (\\Noselect) "/" zip/zap/zop', 'g OK LSUB completed']);
  });

  test('STORE and APPEND refuse unknown system flags (RFC 9051 9, flag-extension)', async () => {
    await ts.deliver('carol', 'INBOX', M(1));
    const c = await ts.login('carol');
    await select(c, 's');
    await c.run('a STORE 1 +FLAGS (\\Bogus)', ['a BAD Unknown system flag \\Bogus']);
    await c.run('b STORE 1 +FLAGS (\\seen foo[bar $Junk)', ['* 1 FETCH (FLAGS (\\Seen foo[bar $Junk))', 'b OK STORE completed']);
    await c.run('c APPEND INBOX (\\Seen \\Bogus) {3+}\r\nx\r\n', ['c BAD Unknown system flag \\Bogus']);
    await c.run('d FETCH 1:* FLAGS', ['* 1 FETCH (FLAGS (\\Seen foo[bar $Junk))', 'd OK FETCH completed']);
  });

  test('an oversized non-synchronizing literal is read, discarded and answered BAD [TOOBIG] (RFC 7888 4)', async () => {
    const c = await ts.login('gina');
    // LITERAL+: any size may be sent; a non-APPEND argument is held to limits.maxMemoryLiteral.
    const data = 'x'.repeat(70000);
    await c.run(`a CREATE {70000+}\r\n${data}\r\n`, ['a BAD [TOOBIG] Literal too large (limit 65536 octets)']);
    // The connection is still in step: the literal's bytes were not taken as commands.
    await c.run('b NOOP', ['b OK NOOP completed']);
  });

  test('AUTHENTICATE PLAIN: an empty initial response fails (NO), bad base64 and "*" are BAD', async () => {
    const c = await ts.connect();
    await c.run('a AUTHENTICATE PLAIN =', ['a NO [AUTHENTICATIONFAILED] Authentication failed']);
    await c.run('b AUTHENTICATE PLAIN', ['+ ']);
    await c.run('!!!!', ['b BAD Invalid SASL response']);
    await c.run('c AUTHENTICATE PLAIN', ['+ ']);
    await c.run('*', ['c BAD Authentication cancelled']);
    await c.run('d AUTHENTICATE PLAIN', ['+ ']);
    await c.run('=', ['d NO [AUTHENTICATIONFAILED] Authentication failed']);
    const ir = Buffer.from('\0carol\0secret').toString('base64');
    c.send(`e AUTHENTICATE PLAIN ${ir}\r\n`);
    await c.expectMatch(/^e OK \[CAPABILITY IMAP4rev1 IMAP4rev2 [^\]]+\] Logged in$/);
  });

  test('ENABLE answers only advertised extensions (RFC 5161 3.1)', async () => {
    const c = await ts.login('carol');
    await c.run('a ENABLE UTF8=ONLY X-UNKNOWN', ['* ENABLED', 'a OK ENABLE completed']);
    await c.run('b ENABLE imap4rev2 utf8=accept', ['* ENABLED IMAP4rev2 UTF8=ACCEPT', 'b OK ENABLE completed']);
  });

  test('the selected mailbox deleted by another session: BYE at the next command', async () => {
    const a = await ts.login('dave');
    const b = await ts.login('dave');
    await a.run('a1 CREATE Box', ['a1 OK [MAILBOXID (%s)] CREATE completed']);
    await select(a, 'a2', 'Box');
    await b.run('b1 DELETE Box', ['b1 OK DELETE completed']);
    await a.run('a3 NOOP', ['* BYE Selected mailbox was deleted, have to disconnect.']);
    await a.closed();
    // The session that deleted it goes on.
    await b.run('b2 NOOP', ['b2 OK NOOP completed']);
  });

  test('the selected mailbox deleted by another session during IDLE: BYE at once', async () => {
    const a = await ts.login('dave');
    const b = await ts.login('dave');
    await a.run('a1 CREATE Box2/Child', ['a1 OK [MAILBOXID (%s)] CREATE completed']);
    await select(a, 'a2', 'Box2');
    await a.run('a3 IDLE', ['+ idling']);
    // Box2 has a child, so it stays as a \Noselect placeholder: as gone for the session.
    await b.run('b1 DELETE Box2', ['b1 OK DELETE completed']);
    await a.expect(['* BYE Selected mailbox was deleted, have to disconnect.']);
    await a.closed();
  });

  test('the selected mailbox renamed by another session stays selected under its new name', async () => {
    const a = await ts.login('erin');
    const b = await ts.login('erin');
    await a.run('a1 CREATE Old', ['a1 OK [MAILBOXID (%s)] CREATE completed']);
    await select(a, 'a2', 'Old');
    await b.run('b1 RENAME Old New', ['b1 OK RENAME completed']);
    await a.run('a3 NOOP', ['a3 OK NOOP completed']);
    await a.run('a4 IDLE', ['+ idling']);
    await b.run('b2 APPEND New {12+}\r\nSubject: z\r\n', ['b2 OK [APPENDUID %d 1] APPEND completed']);
    await a.expect(['* 1 EXISTS']);
    await a.run('DONE', ['a4 OK IDLE terminated']);
    await a.run('a5 FETCH 1 UID', ['* 1 FETCH (UID 1)', 'a5 OK FETCH completed']);
  });

  test('an account disabled while its sessions are open: BYE at the next command and in IDLE', async () => {
    const a = await ts.login('frank');
    const b = await ts.login('frank');
    await select(b, 'b1');
    await b.run('b2 IDLE', ['+ idling']);
    await ts.repo.directory.setDisabled('frank', true);
    ts.events.publish({ kind: 'account-changed', accountName: 'frank' });
    await b.expect(['* BYE Account was disabled']);
    await b.closed();
    await a.run('a1 LIST "" INBOX', ['* BYE Account was disabled']);
    await a.closed();
    // A change to another account leaves sessions alone.
    const c = await ts.login('alice');
    ts.events.publish({ kind: 'account-changed', accountName: 'frank' });
    await c.run('c1 NOOP', ['c1 OK NOOP completed']);
  });

  test('an account deleted while a session is open: BYE at the next command', async () => {
    const a = await ts.login('gina');
    await select(a, 'a1');
    await ts.repo.directory.deleteAccount('gina');
    ts.events.publish({ kind: 'account-changed', accountName: 'gina' });
    await a.run('a2 FETCH 1:* UID', ['* BYE Account was deleted']);
    await a.closed();
  });
});
