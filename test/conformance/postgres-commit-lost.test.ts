// A COMMIT whose answer is lost (the primary crashed, or the network broke,
// after PostgreSQL received it): the PostgreSQL store must not store an
// append twice, and must not answer "failed" for one that committed.
//
// A TCP proxy between the store and a private PostgreSQL forwards everything
// until it is armed; armed, it lets the next COMMIT (or the next one-statement
// append, its own transaction) through, waits for PostgreSQL's answer (so the
// transaction did commit), and then cuts the connection instead of passing the
// answer on. The store sees a connection
// lost during COMMIT: the outcome is unknown to it.

import assert from 'node:assert/strict';
import { createServer, Socket, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openPostgresRepository, type PostgresRepository } from '../../src/store/postgres/index.js';
import { isMailError } from '../../src/mail/errors.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import { testMessage, uniqueName } from './fixtures.js';

/**
 * Splits what a client sends into protocol messages: the startup message
 * (length-prefixed, no type byte) first, then typed ones. Says whether a
 * chunk completed a message that commits: COMMIT (a simple Query, or a Bind
 * of a statement prepared as COMMIT), or a Bind of the store's one-statement
 * append (messages.appendInOneStatement: the statement that records the
 * append's token in a CTE) or STORE (messages.storeFlagsInOneStatement: the
 * statement that takes the MODSEQ if HIGHESTMODSEQ is still $6).
 */
class FrontendMessages {
  private buffer = Buffer.alloc(0);
  private started = false;
  private readonly commitStatements = new Set<string>();

  commitIn(chunk: Buffer): boolean {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    let found = false;
    for (;;) {
      const typed = this.started ? 1 : 0;
      if (this.buffer.length < typed + 4) return found;
      const length = this.buffer.readUInt32BE(typed);
      if (this.buffer.length < typed + length) return found;
      const type = typed ? String.fromCharCode(this.buffer[0]!) : '';
      const body = this.buffer.subarray(typed + 4, typed + length).toString('latin1');
      if (type === 'Q' && /^commit\0/i.test(body)) found = true;
      // postgres.js prepares a statement once per connection, then only binds it.
      const parsed = type === 'P' ? /^([^\0]*)\0(?:commit\0|[^\0]*(?:token_recorded AS|highestmodseq = \$6::bigint))/i.exec(body) : null;
      if (parsed) this.commitStatements.add(parsed[1]!);
      const bound = type === 'B' ? /^[^\0]*\0([^\0]*)\0/.exec(body) : null;
      if (bound && this.commitStatements.has(bound[1]!)) found = true;
      // An SSLRequest/startup is followed by another startup-style message only after a reply; none here.
      this.started = true;
      this.buffer = this.buffer.subarray(typed + length);
    }
  }
}

class CommitCutter {
  private armed = false;
  cuts = 0;
  private readonly server: Server;

  constructor(private readonly target: number) {
    this.server = createServer((client) => this.relay(client));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }

  /** The next COMMIT commits, and its answer is lost. */
  arm(): void {
    this.armed = true;
  }

  private relay(client: Socket): void {
    const upstream = new Socket();
    upstream.connect(this.target, '127.0.0.1');
    let cutting = false;
    const messages = new FrontendMessages();
    client.on('data', (chunk) => {
      if (messages.commitIn(chunk) && this.armed) {
        this.armed = false;
        cutting = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!cutting) {
        client.write(chunk);
        return;
      }
      // PostgreSQL has answered the COMMIT (CommandComplete, ReadyForQuery): it committed.
      this.cuts++;
      client.destroy();
      upstream.destroy();
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('PostgreSQL store: a COMMIT whose answer is lost', () => {
  let pg: PostgresInstance;
  let cutter: CommitCutter;
  let repo: PostgresRepository;

  before(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    const direct = await openPostgresRepository(url); // migrates
    await direct.close();
    cutter = new CommitCutter(Number(new URL(url).port));
    const port = await cutter.listen();
    const viaProxy = new URL(url);
    viaProxy.port = String(port);
    repo = await openPostgresRepository(viaProxy.toString(), { max: 2, connectTimeoutSeconds: 5 });
  });

  after(async () => {
    await repo?.close();
    await cutter?.close();
    await pg?.stop();
  });

  test('an append that committed is answered with its UIDs, and stored once', async () => {
    const account = await repo.directory.createAccount(uniqueName('lost'), '{PLAIN}x');
    const inbox = await repo.store.createMailbox(account.id, 'INBOX');
    const message = testMessage({ subject: 'commit answer lost' });
    cutter.arm();
    const result = await repo.store.appendMessages(inbox.id, [message.item()]);
    assert.equal(cutter.cuts, 1, 'the COMMIT answer was cut');
    assert.deepEqual(result.uids, [1]);
    assert.deepEqual(await repo.store.listUids(inbox.id), [1]);
    // The next append gets the next UID: nothing was appended twice.
    const next = await repo.store.appendMessages(inbox.id, [testMessage({ subject: 'after' }).item()]);
    assert.deepEqual(next.uids, [2]);
  });

  test('another write whose COMMIT answer is lost is answered UNAVAILABLE (its outcome is unknown)', async () => {
    const account = await repo.directory.createAccount(uniqueName('lost'), '{PLAIN}x');
    const inbox = await repo.store.createMailbox(account.id, 'INBOX');
    await repo.store.appendMessages(inbox.id, [testMessage({ subject: 'to copy' }).item()]);
    const target = await repo.store.createMailbox(account.id, 'Archive');
    const cutsBefore = cutter.cuts;
    cutter.arm();
    await assert.rejects(repo.store.copyMessages(inbox.id, [{ start: 1, end: 1 }], target.id), (err) => isMailError(err, 'UNAVAILABLE'));
    assert.equal(cutter.cuts, cutsBefore + 1);
    // It did commit.
    assert.deepEqual(await repo.store.listUids(target.id), [1]);
  });

  test('a STORE whose one-statement answer is lost is answered UNAVAILABLE (its outcome is unknown), and was made once', async () => {
    const account = await repo.directory.createAccount(uniqueName('lost'), '{PLAIN}x');
    const inbox = await repo.store.createMailbox(account.id, 'INBOX');
    const appended = await repo.store.appendMessages(inbox.id, [testMessage({ subject: 'to flag' }).item()]);
    const cutsBefore = cutter.cuts;
    cutter.arm();
    await assert.rejects(repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Flagged']), (err) => isMailError(err, 'UNAVAILABLE'));
    assert.equal(cutter.cuts, cutsBefore + 1, 'the statement was cut');
    const [meta] = await repo.store.fetchMessages(inbox.id, [{ start: 1, end: 1 }]);
    assert.ok(meta?.flags.includes('\\Flagged'));
    assert.equal(meta?.modseq, appended.highestModseq + 1, 'one MODSEQ taken: the change was made once');
    // The same STORE again (as the client would send it) changes nothing more.
    const again = await repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Flagged']);
    assert.deepEqual(again, { changed: [], modified: [], highestModseq: appended.highestModseq + 1 });
  });
});

describe('PostgreSQL store: an append that waited too long for a connection', () => {
  let pg: PostgresInstance;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg?.stop();
  });

  test('is answered UNAVAILABLE and never committed afterwards', async () => {
    const url = new URL(await pg.createDatabase());
    url.searchParams.set('statement_timeout', '1000');
    // One connection; a caller waits 1 s for it (the connect timeout).
    const repo = await openPostgresRepository(url.toString(), { max: 1, connectTimeoutSeconds: 1 });
    try {
      const account = await repo.directory.createAccount(uniqueName('late'), '{PLAIN}x');
      const inbox = await repo.store.createMailbox(account.id, 'INBOX');
      await repo.store.appendMessages(inbox.id, [testMessage({ subject: 'first' }).item()]);
      let occupied!: () => void;
      const isOccupied = new Promise<void>((resolve) => (occupied = resolve));
      const busy = repo.sql.begin(async (tx) => {
        await tx`SET LOCAL statement_timeout = 0`;
        occupied();
        await tx`SELECT pg_sleep(3)`;
      });
      await isOccupied;
      await assert.rejects(repo.store.appendMessages(inbox.id, [testMessage({ subject: 'late' }).item()]), (err) =>
        isMailError(err, 'UNAVAILABLE'),
      );
      await busy;
      // The pool serves its waiting callers in order: a statement left queued by the append would run before this one.
      const counts = await repo.store.counts(inbox.id);
      assert.equal(counts.messages, 1, 'the append told UNAVAILABLE committed later');
      assert.equal(counts.uidNext, 2);
    } finally {
      await repo.close();
    }
  });
});
