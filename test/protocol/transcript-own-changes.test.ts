// A session's own STORE and EXPUNGE need no read of the change log
// afterwards when they took the MODSEQ right after the view's
// (MailboxView.absorbOwnModseqs): the view already holds them. When another
// session's change came between, the log is read and the client hears of
// that change too. Reads of the log are counted on the real store.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bothBackends, message, startTestServer, type Client, type TestRepository, type TestServer } from './transcript.js';

const M = (n: number): string => message([`Subject: message ${n}`, '', `body ${n}`]);

// On PostgreSQL, STORE and EXPUNGE of few messages take the one-statement path ("at once").
const backends = bothBackends();

for (const [backend, open] of Object.entries(backends)) {
  describe(`a session's own changes (${backend})`, () => {
    let ts: TestServer<TestRepository>;
    let logReads = 0;
    before(async () => {
      ts = await startTestServer({ users: ['alice', 'bob', 'carol'], repository: open });
      const store = ts.repo.store;
      const changesSince = store.changesSince.bind(store);
      store.changesSince = (...args) => {
        logReads++;
        return changesSince(...args);
      };
    });
    after(async () => {
      await ts.close();
    });

    async function selected(user: string, tag: string, condstore = false): Promise<Client> {
      const c = await ts.login(user);
      c.send(`${tag} SELECT INBOX${condstore ? ' (CONDSTORE)' : ''}\r\n`);
      await c.until(tag);
      return c;
    }

    /** Runs `command` expecting `lines`, and returns how many times the change log was read meanwhile. */
    async function logReadsOf(c: Client, command: string, lines: string[]): Promise<number> {
      const before = logReads;
      await c.run(command, lines);
      return logReads - before;
    }

    test('STORE and EXPUNGE alone: no read of the change log; later changes still arrive', async () => {
      for (let i = 1; i <= 3; i++) await ts.deliver('alice', 'INBOX', M(i));
      const a = await selected('alice', 's');
      assert.equal(await logReadsOf(a, 'a1 STORE 1 +FLAGS (\\Seen)', ['* 1 FETCH (FLAGS (\\Seen))', 'a1 OK STORE completed']), 0);
      assert.equal(await logReadsOf(a, 'a2 STORE 3 +FLAGS.SILENT (\\Deleted)', ['a2 OK STORE completed']), 0);
      assert.equal(await logReadsOf(a, 'a3 EXPUNGE', ['* 3 EXPUNGE', 'a3 OK EXPUNGE completed']), 0);
      assert.equal(await logReadsOf(a, 'a4 FETCH 1:* (UID FLAGS)', ['* 1 FETCH (UID 1 FLAGS (\\Seen))', '* 2 FETCH (UID 2 FLAGS ())', 'a4 OK FETCH completed']), 0);
      // Another session's flag change and a delivery reach the view as before.
      const b = await selected('alice', 't');
      await b.run('b1 STORE 2 +FLAGS.SILENT (\\Answered)', ['b1 OK STORE completed']);
      await ts.deliver('alice', 'INBOX', M(4));
      await a.run('a5 NOOP', ['* 3 EXISTS', '* 2 FETCH (FLAGS (\\Answered))', 'a5 OK NOOP completed']);
      await a.run('a6 FETCH 3 (UID FLAGS)', ['* 3 FETCH (UID 4 FLAGS ())', 'a6 OK FETCH completed']);
    });

    test('the \\Seen a FETCH of the body sets, and MOVE to another mailbox: no read of the change log either', async () => {
      const account = (await ts.repo.directory.findAccount('alice'))!;
      await ts.repo.store.createMailbox(account.id, 'Work');
      for (let i = 1; i <= 3; i++) await ts.deliver('alice', 'Work', M(i));
      const a = await ts.login('alice');
      a.send('s SELECT Work\r\n');
      await a.until('s');
      const body = M(1);
      const reads = await logReadsOf(a, 'a1 FETCH 1 (BODY[])', [
        `* 1 FETCH (BODY[] {${body.length}}`,
        'Subject: message 1',
        '',
        'body 1',
        ' FLAGS (\\Seen))',
        'a1 OK FETCH completed',
      ]);
      assert.equal(reads, 0);
      const before = logReads;
      a.send('a2 MOVE 2 INBOX\r\n');
      const moved = await a.until('a2');
      assert.equal(logReads - before, 0);
      assert.match(moved[0]!, /^\* OK \[COPYUID \d+ 2 \d+\] Moved$/);
      assert.deepEqual(moved.slice(1), ['* 2 EXPUNGE', 'a2 OK MOVE completed']);
      await a.run('a3 FETCH 1:* (UID FLAGS)', ['* 1 FETCH (UID 1 FLAGS (\\Seen))', '* 2 FETCH (UID 3 FLAGS ())', 'a3 OK FETCH completed']);
    });

    test("another session's change between: the log is read and the client is told of it", async () => {
      for (let i = 1; i <= 3; i++) await ts.deliver('bob', 'INBOX', M(i));
      const a = await selected('bob', 's');
      const b = await selected('bob', 't');
      await b.run('b1 STORE 2 +FLAGS.SILENT (\\Flagged)', ['b1 OK STORE completed']);
      assert.equal(await logReadsOf(a, 'a1 STORE 1 +FLAGS (\\Seen)', ['* 1 FETCH (FLAGS (\\Seen))', '* 2 FETCH (FLAGS (\\Flagged))', 'a1 OK STORE completed']), 1);
      await b.run('b2 STORE 3 +FLAGS.SILENT (\\Deleted)', ['* 1 FETCH (FLAGS (\\Seen))', 'b2 OK STORE completed']);
      await b.run('b3 STORE 1 +FLAGS.SILENT (\\Deleted)', ['b3 OK STORE completed']);
      // A's EXPUNGE takes both; the log is read for B's flag changes, whose news the expunge makes moot.
      assert.equal(await logReadsOf(a, 'a2 EXPUNGE', ['* 3 EXPUNGE', '* 1 EXPUNGE', 'a2 OK EXPUNGE completed']), 1);
      await a.run('a3 FETCH 1:* (UID FLAGS)', ['* 1 FETCH (UID 2 FLAGS (\\Flagged))', 'a3 OK FETCH completed']);
    });

    test('CONDSTORE: the HIGHESTMODSEQ after an own STORE covers it and nothing is left unsent', async () => {
      for (let i = 1; i <= 2; i++) await ts.deliver('carol', 'INBOX', M(i));
      const a = await selected('carol', 's', true);
      a.send('a0 FETCH 1:* (MODSEQ)\r\n');
      const lines = await a.until('a0');
      const modseqs = lines.flatMap((l) => /MODSEQ \((\d+)\)/.exec(l)?.[1] ?? []).map(Number);
      const highest = Math.max(...modseqs);
      assert.equal(await logReadsOf(a, 'a1 STORE 2 +FLAGS (\\Seen)', [`* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (${highest + 1}))`, 'a1 OK STORE completed']), 0);
      await a.run('a2 STORE 1 +FLAGS.SILENT (\\Deleted)', [`* 1 FETCH (UID 1 MODSEQ (${highest + 2}))`, 'a2 OK STORE completed']);
      // The view's HIGHESTMODSEQ, which the tagged OK reports: the view is caught up, no read of the log.
      assert.equal(await logReadsOf(a, 'a3 EXPUNGE', ['* 1 EXPUNGE', `a3 OK [HIGHESTMODSEQ ${highest + 3}] EXPUNGE completed`]), 0);
      await a.run('a4 STATUS INBOX (HIGHESTMODSEQ)', [`* STATUS INBOX (HIGHESTMODSEQ ${highest + 3})`, 'a4 OK STATUS completed']);
    });
  });
}
