// Transcripts with two sessions on one mailbox: the MSN/UID rules of RFC 9051
// 5.2/7.5.1 (no EXPUNGE during FETCH/STORE/SEARCH by MSN), each other's
// appends, flag changes and expunges, IDLE, FETCH of a message another
// session expunged, COPY and MOVE.

import { after, before, describe, test } from 'node:test';
import { message, startTestServer, type Client, type TestServer } from './transcript.js';

const M = (n: number): string => message([`Subject: message ${n}`, '', `body ${n}`]);

describe('two sessions on one mailbox', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ users: ['alice', 'bob', 'carol', 'dave'] });
  });
  after(async () => {
    await ts.close();
  });

  async function selectBoth(user: string): Promise<[Client, Client]> {
    const a = await ts.login(user);
    const b = await ts.login(user);
    for (const [c, t] of [[a, 'sa'], [b, 'sb']] as const) {
      c.send(`${t} SELECT INBOX\r\n`);
      await c.until(t);
    }
    return [a, b];
  }

  test('EXPUNGE by another session is held during FETCH/STORE/SEARCH and sent at NOOP', async () => {
    for (let i = 1; i <= 3; i++) await ts.deliver('alice', 'INBOX', M(i));
    const [a, b] = await selectBoth('alice');
    await b.run('b1 STORE 2 +FLAGS.SILENT (\\Deleted)', ['b1 OK STORE completed']);
    await b.run('b2 EXPUNGE', ['* 2 EXPUNGE', 'b2 OK EXPUNGE completed']);
    // A still sees 3 messages; message 2 can still be fetched.
    const body = M(2);
    await a.run('a1 FETCH 2 (UID BODY.PEEK[])', [`* 2 FETCH (UID 2 BODY[] {${body.length}}`, 'Subject: message 2', '', 'body 2', ')', 'a1 OK FETCH completed']);
    await a.run('a2 STORE 3 +FLAGS (\\Flagged)', ['* 3 FETCH (FLAGS (\\Flagged))', 'a2 OK STORE completed']);
    await a.run('a3 SEARCH ALL', ['* SEARCH 1 3', 'a3 OK SEARCH completed']);
    await a.run('a4 FETCH 1:* UID', ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 2)', '* 3 FETCH (UID 3)', 'a4 OK FETCH completed']);
    await a.run('a5 NOOP', ['* 2 EXPUNGE', 'a5 OK NOOP completed']);
    await a.run('a6 FETCH 1:* UID', ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 3)', 'a6 OK FETCH completed']);
    // B learns of A's flag change at its next command.
    await b.run('b3 NOOP', ['* 2 FETCH (FLAGS (\\Flagged))', 'b3 OK NOOP completed']);
  });

  test('EXPUNGE may be sent at the end of a UID command', async () => {
    for (let i = 1; i <= 2; i++) await ts.deliver('bob', 'INBOX', M(i));
    const [a, b] = await selectBoth('bob');
    await b.run('b1 UID STORE 1 +FLAGS.SILENT (\\Deleted)', ['b1 OK STORE completed']);
    await b.run('b2 EXPUNGE', ['* 1 EXPUNGE', 'b2 OK EXPUNGE completed']);
    await a.run('a1 UID FETCH 2 FLAGS', ['* 2 FETCH (UID 2 FLAGS ())', '* 1 EXPUNGE', 'a1 OK UID FETCH completed']);
    // Flag changes by another session carry the UID during UID commands.
    await b.run('b3 STORE 1 +FLAGS.SILENT (\\Answered)', ['b3 OK STORE completed']);
    await a.run('a2 UID SEARCH ALL', ['* SEARCH 2', '* 1 FETCH (UID 2 FLAGS (\\Answered))', 'a2 OK UID SEARCH completed']);
  });

  test('appends by others arrive as EXISTS; IDLE is told at once', async () => {
    const [a, b] = await selectBoth('carol');
    await ts.deliver('carol', 'INBOX', M(1));
    await a.run('a1 NOOP', ['* 1 EXISTS', 'a1 OK NOOP completed']);
    await b.run('b1 IDLE', ['+ idling', '* 1 EXISTS']);
    await ts.deliver('carol', 'INBOX', M(2));
    await b.expect(['* 2 EXISTS']);
    // A has not been told of message 2 yet: its number is not valid until the EXISTS.
    await a.run('a2 STORE 2 +FLAGS (\\Seen)', ['* 2 EXISTS', 'a2 BAD Invalid message sequence number']);
    await a.run('a2 STORE 2 +FLAGS (\\Seen)', ['* 2 FETCH (FLAGS (\\Seen))', 'a2 OK STORE completed']);
    await b.expect(['* 2 FETCH (FLAGS (\\Seen))']);
    await a.run('a3 STORE 1 +FLAGS (\\Deleted)', ['* 1 FETCH (FLAGS (\\Deleted))', 'a3 OK STORE completed']);
    await b.expect(['* 1 FETCH (FLAGS (\\Deleted))']);
    await a.run('a4 EXPUNGE', ['* 1 EXPUNGE', 'a4 OK EXPUNGE completed']);
    await b.expect(['* 1 EXPUNGE']);
    await b.run('DONE', ['b1 OK IDLE terminated']);
    await b.run('b2 IDLE', ['+ idling']);
    await b.run('nonsense', ['b2 BAD Expected DONE']);
  });

  test('COPY, MOVE and APPEND to the selected mailbox', async () => {
    for (let i = 1; i <= 3; i++) await ts.deliver('dave', 'INBOX', M(i));
    const [a, b] = await selectBoth('dave');
    await a.run('a1 COPY 1:2 Archive', ['a1 OK [COPYUID %d 1:2 1:2] COPY completed']);
    await a.run('a2 UID COPY 3 Nowhere', ['a2 NO [TRYCREATE] Mailbox does not exist']);
    await a.run('a3 MOVE 2 Archive', ['* OK [COPYUID %d 2 3] Moved', '* 2 EXPUNGE', 'a3 OK MOVE completed']);
    await a.run('a4 UID MOVE 3 Trash', ['* OK [COPYUID %d 3 1] Moved', '* 2 EXPUNGE', 'a4 OK MOVE completed']);
    await b.run('b1 NOOP', ['* 3 EXPUNGE', '* 2 EXPUNGE', 'b1 OK NOOP completed']);
    await a.run('a5 COPY 1 INBOX', ['* 2 EXISTS', 'a5 OK [COPYUID %d 1 4] COPY completed']);
    await b.run('b2 NOOP', ['* 2 EXISTS', 'b2 OK NOOP completed']);
    await a.run('a6 STATUS Archive (MESSAGES UIDNEXT)', ['* STATUS Archive (MESSAGES 3 UIDNEXT 4)', 'a6 OK STATUS completed']);
  });
});
