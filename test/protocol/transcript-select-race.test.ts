// SELECT/EXAMINE of a mailbox that goes away, or becomes \Noselect, between
// the name lookup and the listing (another session's DELETE in between):
// still NO, and no mailbox selected. The listing's read is the only one after
// the lookup (it brings the mailbox's counters with it), so its own check is
// what answers. On both backends: the PostgreSQL listing checks in the same
// statement.

import { after, before, describe, test } from 'node:test';
import { bothBackends, message, startTestServer, type TestRepository, type TestServer } from './transcript.js';

const MSG = message(['From: bob@example.com', 'Subject: Hi', '', 'Hello']);

const backends = bothBackends();

for (const [name, open] of Object.entries(backends)) {
  describe(`SELECT racing a DELETE (${name})`, () => {
    let ts: TestServer<TestRepository>;
    let accountId: number;
    /** Run once, inside the next listFlags, before it reads: another session's change between lookup and listing. */
    let beforeListing: (() => Promise<void>) | null = null;

    before(async () => {
      ts = await startTestServer({ repository: open });
      const store = ts.repo.store;
      const listFlags = store.listFlags.bind(store);
      store.listFlags = async (mailboxId, range) => {
        const hook = beforeListing;
        beforeListing = null;
        await hook?.();
        return listFlags(mailboxId, range);
      };
      accountId = (await ts.repo.directory.findAccount('alice'))!.id;
      for (const mailbox of ['INBOX', 'Gone', 'Parent', 'Parent/Child']) {
        await store.createMailbox(accountId, mailbox);
        await ts.deliver('alice', mailbox, MSG);
      }
    });

    after(async () => {
      await ts.close();
    });

    const login = () => ts.login();

    test('deleted: NO [NONEXISTENT], nothing selected', async () => {
      const c = await login();
      await c.run('a SELECT INBOX', [
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
        '* 1 EXISTS',
        '* 0 RECENT',
        '* OK [UNSEEN 1] First unseen',
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
        '* OK [UIDVALIDITY %d] UIDs valid',
        '* OK [UIDNEXT 2] Predicted next UID',
        '* OK [MAILBOXID (%s)] Ok',
        'a OK [READ-WRITE] SELECT completed',
      ]);
      beforeListing = () => ts.repo.store.deleteMailbox(accountId, 'Gone');
      await c.run('b SELECT Gone', ['* OK [CLOSED] Previous mailbox is now closed', 'b NO [NONEXISTENT] Mailbox does not exist']);
      await c.run('c FETCH 1 FLAGS', ['c BAD FETCH not allowed in the authenticated (no mailbox selected) state']);
    });

    test('made \\Noselect (DELETE of a parent): NO [CANNOT], nothing selected', async () => {
      const c = await login();
      beforeListing = () => ts.repo.store.deleteMailbox(accountId, 'Parent');
      await c.run('a EXAMINE Parent', ['a NO [CANNOT] Mailbox is not selectable']);
      await c.run('b FETCH 1 FLAGS', ['b BAD FETCH not allowed in the authenticated (no mailbox selected) state']);
    });

    test('a flag change between lookup and listing: the view holds it, at the HIGHESTMODSEQ it says', async () => {
      const c = await login();
      beforeListing = async () => {
        await ts.repo.store.storeFlags((await ts.repo.store.getMailbox(accountId, 'Parent/Child'))!.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']);
      };
      await c.run('a SELECT Parent/Child (CONDSTORE)', [
        '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
        '* 1 EXISTS',
        '* 0 RECENT',
        '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
        '* OK [UIDVALIDITY %d] UIDs valid',
        '* OK [UIDNEXT 2] Predicted next UID',
        '* OK [MAILBOXID (%s)] Ok',
        '* OK [HIGHESTMODSEQ 3] Highest',
        'a OK [READ-WRITE] SELECT completed',
      ]);
      // The view holds the change (no [UNSEEN 1] above) at the modseq it says: nothing more to tell.
      await c.run('b NOOP', ['b OK NOOP completed']);
      await c.run('c FETCH 1 (FLAGS MODSEQ)', ['* 1 FETCH (FLAGS (\\Seen) MODSEQ (3))', 'c OK FETCH completed']);
    });
  });
}
