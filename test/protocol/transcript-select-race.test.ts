// SELECT/EXAMINE of a mailbox that goes away, or becomes \Noselect, between
// the name lookup and the listing (another session's DELETE in between):
// still NO, and no mailbox selected. The listing's read is the only one after
// the lookup (it brings the mailbox's counters with it), so its own check is
// what answers. On both backends: the PostgreSQL listing checks in the same
// statement.

import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { ImapServer } from '../../src/imap/server.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import { Ingest } from '../../src/mail/ingest.js';
import type { Directory, MailStore } from '../../src/mail/ports.js';
import { singleRepository } from '../../src/mail/repository.js';
import { openPostgresRepository } from '../../src/store/postgres/index.js';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { silentLogger } from '../../src/util/log.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import { PlaintextTestAuthenticator } from './plaintext-test-authenticator.js';
import { Client, message } from './transcript.js';

const MSG = message(['From: bob@example.com', 'Subject: Hi', '', 'Hello']);

interface Backend {
  store: MailStore;
  directory: Directory;
  close(): Promise<void>;
}

let pg: PostgresInstance;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg.stop();
});

const backends: Record<string, (dir: string) => Promise<Backend>> = {
  sqlite: async (dir) => openSqliteRepository(join(dir, 'petrel.db'), { fsync: false }),
  postgres: async () => openPostgresRepository(await pg.createDatabase()),
};

for (const [name, open] of Object.entries(backends)) {
  describe(`SELECT racing a DELETE (${name})`, () => {
    let dir: string;
    let repo: Backend;
    let server: ImapServer;
    let events: InProcessEventBus;
    let blobs: FsBlobStore;
    let port: number;
    let accountId: number;
    /** Run once, inside the next listFlags, before it reads: another session's change between lookup and listing. */
    let beforeListing: (() => Promise<void>) | null = null;
    const clients: Client[] = [];

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'petrel-select-race-'));
      repo = await open(dir);
      const listFlags = repo.store.listFlags.bind(repo.store);
      repo.store.listFlags = async (mailboxId, range) => {
        const hook = beforeListing;
        beforeListing = null;
        await hook?.();
        return listFlags(mailboxId, range);
      };
      const config = defaultConfig();
      config.dataDir = dir;
      config.imap.listen = { host: '127.0.0.1', port: 0 };
      config.imap.allowPlaintextAuth = true;
      blobs = new FsBlobStore(dir, { fsync: false });
      events = new InProcessEventBus();
      const ingest = new Ingest({ store: repo.store, blobs, events, maxMessageSize: config.limits.maxMessageSize });
      accountId = (await repo.directory.createAccount('alice', 'plain:secret')).id;
      for (const mailbox of ['INBOX', 'Gone', 'Parent', 'Parent/Child']) {
        await repo.store.createMailbox(accountId, mailbox);
        await ingest.deliver(accountId, mailbox, (async function* () { yield Buffer.from(MSG.replace(/\r?\n/g, '\r\n')); })(), { flags: [] });
      }
      server = new ImapServer({
        config,
        directory: repo.directory,
        repositories: singleRepository(repo.directory, { store: repo.store, blobs, ingest, events }),
        events,
        auth: new PlaintextTestAuthenticator(repo.directory),
        logger: silentLogger,
      });
      port = (await server.listen()).imap!.port;
    });

    after(async () => {
      for (const c of clients) c.destroy();
      await server.close();
      await events.close();
      await repo.close();
      await blobs.close();
      await rm(dir, { recursive: true, force: true });
    });

    async function login(): Promise<Client> {
      const c = await Client.connect(port);
      clients.push(c);
      await c.expectMatch(/^\* OK \[CAPABILITY [^\]]+\] Petrel ready$/);
      c.send('L1 LOGIN alice secret\r\n');
      await c.expectMatch(/^L1 OK \[CAPABILITY [^\]]+\] Logged in$/);
      return c;
    }

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
      beforeListing = () => repo.store.deleteMailbox(accountId, 'Gone');
      await c.run('b SELECT Gone', ['* OK [CLOSED] Previous mailbox is now closed', 'b NO [NONEXISTENT] Mailbox does not exist']);
      await c.run('c FETCH 1 FLAGS', ['c BAD FETCH not allowed in the authenticated (no mailbox selected) state']);
    });

    test('made \\Noselect (DELETE of a parent): NO [CANNOT], nothing selected', async () => {
      const c = await login();
      beforeListing = () => repo.store.deleteMailbox(accountId, 'Parent');
      await c.run('a EXAMINE Parent', ['a NO [CANNOT] Mailbox is not selectable']);
      await c.run('b FETCH 1 FLAGS', ['b BAD FETCH not allowed in the authenticated (no mailbox selected) state']);
    });

    test('a flag change between lookup and listing: the view holds it, at the HIGHESTMODSEQ it says', async () => {
      const c = await login();
      beforeListing = async () => {
        await repo.store.storeFlags((await repo.store.getMailbox(accountId, 'Parent/Child'))!.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']);
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
