// STORE and EXPUNGE on PostgreSQL without a transaction of their own
// (messages.ts, "at once"): an unlocked read, then one statement that
// writes only if no message of the mailbox changed since the read;
// otherwise the transaction runs. Which path ran is counted with
// pg_stat_statements; a writer that holds the mailbox row is another
// connection's open transaction, and the statement is seen waiting for it
// in pg_stat_activity.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { openPostgresRepository, type PostgresRepository } from '../../../src/store/postgres/index.js';
import { FLAGGED } from '../../../src/mail/flags.js';
import { isMailError } from '../../../src/mail/errors.js';
import type { MailboxInfo } from '../../../src/mail/types.js';
import { testMessage, uniqueName } from '../../conformance/fixtures.js';
import { queryOnce } from '../../support/replication.js';
import { startPostgres, waitFor } from '../../support/postgres.js';

const pg = await startPostgres({ settings: { shared_preload_libraries: 'pg_stat_statements' } });
after(() => pg.stop());
const url = await pg.createDatabase();
let repo: PostgresRepository;
let other: postgres.Sql;
before(async () => {
  await queryOnce(url, 'CREATE EXTENSION pg_stat_statements');
  repo = await openPostgresRepository(url, { max: 2 });
  other = postgres(url, { max: 1, onnotice: () => {} });
});
after(async () => {
  await other.end();
  await repo.close();
});

/**
 * Calls so far of the one-statement STORE and EXPUNGE, of the transactions'
 * flag and expunge UPDATEs, and of the transaction's lock of the mailbox row
 * (every write transaction of STORE and EXPUNGE takes it).
 */
async function calls(): Promise<Counts> {
  const rows = await queryOnce<{ query: string; calls: string }>(url, 'SELECT query, calls FROM pg_stat_statements');
  const sum = (match: (q: string) => boolean) => rows.filter((r) => match(r.query)).reduce((n, r) => n + Number(r.calls), 0);
  return {
    atOnce: sum((q) => q.includes('highestmodseq = $6::bigint') && q.includes('system_flags = u.f')),
    inTransaction: sum((q) => q.includes('FROM bumped b, unnest($2::bigint[], $3::int[], $4::text[])')),
    expungeAtOnce: sum((q) => q.includes('highestmodseq = $6::bigint') && q.includes('expunged_at = $9')),
    expungeInTransaction: sum((q) => q.includes('expunged_at = $3')),
    locks: sum((q) => q.startsWith('SELECT') && q.includes('FROM mailboxes WHERE id = $1 FOR UPDATE')),
  };
}

interface Counts {
  atOnce: number;
  inTransaction: number;
  expungeAtOnce: number;
  expungeInTransaction: number;
  locks: number;
}

async function counted<T>(fn: () => Promise<T>): Promise<{ value: T } & Counts> {
  const before = await calls();
  const value = await fn();
  const now = await calls();
  return {
    value,
    atOnce: now.atOnce - before.atOnce,
    inTransaction: now.inTransaction - before.inTransaction,
    expungeAtOnce: now.expungeAtOnce - before.expungeAtOnce,
    expungeInTransaction: now.expungeInTransaction - before.expungeInTransaction,
    locks: now.locks - before.locks,
  };
}

/** Shared buffers the at-once reads touched so far (pg_stat_statements), by which read. */
async function readBlocks(): Promise<{ ranges: number; deleted: number }> {
  const rows = await queryOnce<{ query: string; blocks: string }>(url, 'SELECT query, shared_blks_hit + shared_blks_read AS blocks FROM pg_stat_statements');
  const sum = (match: (q: string) => boolean) => rows.filter((r) => match(r.query)).reduce((n, r) => n + Number(r.blocks), 0);
  return {
    ranges: sum((q) => q.includes('mb.deleted_count') && q.includes('unnest($2::bigint[], $3::bigint[])')),
    deleted: sum((q) => q.includes('mb.deleted_count BETWEEN 1 AND')),
  };
}

const expungeCounts = (c: Counts) => ({ expungeAtOnce: c.expungeAtOnce, expungeInTransaction: c.expungeInTransaction });

async function inboxWith(n: number): Promise<{ inbox: MailboxInfo; highestModseq: number }> {
  const account = await repo.directory.createAccount(uniqueName('once'), '{PLAIN}x');
  const inbox = await repo.store.createMailbox(account.id, 'INBOX');
  const items = Array.from({ length: n }, (_, i) => testMessage({ subject: `m${i}` }).item());
  const appended = await repo.store.appendMessages(inbox.id, items);
  return { inbox, highestModseq: appended.highestModseq };
}

const flagsOf = async (mailboxId: number, uid: number) => (await repo.store.fetchMessages(mailboxId, [{ start: uid, end: uid }]))[0]!;

/**
 * Runs `store` while another connection's transaction holds the mailbox row
 * and has run `change` (uncommitted): `store` reads before that commit, its
 * statement waits for the row, then the transaction commits.
 */
async function againstHeldMailbox<T>(mailboxId: number, change: (tx: postgres.TransactionSql) => Promise<unknown>, store: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const transaction = other.begin(async (tx) => {
    await tx`SELECT 1 FROM mailboxes WHERE id = ${mailboxId} FOR UPDATE`;
    await change(tx);
    holding();
    await released;
  });
  await held;
  const storing = store();
  // The STORE's or EXPUNGE's statement is waiting for the mailbox row's lock.
  await waitFor(
    async () =>
      (await queryOnce<{ n: string }>(url, `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%highestmodseq = $6::bigint%'`))[0]!.n === '1',
    10_000,
    'the statement to wait for the mailbox row',
  );
  release();
  await transaction;
  return storing;
}

test('a STORE of one message is one statement, no transaction', async () => {
  const { inbox, highestModseq } = await inboxWith(2);
  const run = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 2, end: 2 }], 'add', ['\\Seen', '$Label']));
  assert.deepEqual({ atOnce: run.atOnce, inTransaction: run.inTransaction, locks: run.locks }, { atOnce: 1, inTransaction: 0, locks: 0 });
  assert.deepEqual(run.value, {
    changed: [{ uid: 2, modseq: highestModseq + 1, flags: ['\\Seen', '$Label'] }],
    modified: [],
    highestModseq: highestModseq + 1,
  });
  const meta = await flagsOf(inbox.id, 2);
  assert.deepEqual([meta.flags, meta.modseq], [['\\Seen', '$Label'], highestModseq + 1]);
  assert.deepEqual((await flagsOf(inbox.id, 1)).flags, []);
  // The counters' trigger ran: one message left unseen.
  assert.equal((await repo.store.counts(inbox.id)).unseen, 1);
  const removed = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 1, end: 2 }], 'remove', ['$Label']));
  assert.deepEqual(removed.value.changed, [{ uid: 2, modseq: highestModseq + 2, flags: ['\\Seen'] }]);
  assert.equal(removed.atOnce, 1);
});

test('a STORE that changes nothing writes nothing: no statement, no MODSEQ', async () => {
  const { inbox, highestModseq } = await inboxWith(1);
  await repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']);
  const run = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']));
  assert.deepEqual(run.value, { changed: [], modified: [], highestModseq: highestModseq + 1 });
  assert.deepEqual({ atOnce: run.atOnce, inTransaction: run.inTransaction, locks: run.locks }, { atOnce: 0, inTransaction: 0, locks: 0 });
  // UNCHANGEDSINCE below the message's MODSEQ: reported modified, nothing written.
  const conditional = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Flagged'], highestModseq));
  assert.deepEqual(conditional.value, { changed: [], modified: [1], highestModseq: highestModseq + 1 });
  assert.deepEqual({ atOnce: conditional.atOnce, inTransaction: conditional.inTransaction, locks: conditional.locks }, { atOnce: 0, inTransaction: 0, locks: 0 });
});

test('a STORE of more than 100 messages runs the transaction', async () => {
  const { inbox, highestModseq } = await inboxWith(101);
  const run = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 1, end: Infinity }], 'add', ['\\Seen']));
  assert.deepEqual({ atOnce: run.atOnce, inTransaction: run.inTransaction }, { atOnce: 0, inTransaction: 1 });
  assert.equal(run.value.changed.length, 101);
  assert.equal(run.value.highestModseq, highestModseq + 1);
  // 100 of them: at once.
  const hundred = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 2, end: 101 }], 'add', ['\\Flagged']));
  assert.deepEqual({ atOnce: hundred.atOnce, inTransaction: hundred.inTransaction }, { atOnce: 1, inTransaction: 0 });
  assert.equal(hundred.value.changed.length, 100);
});

test('a message changed by another writer after the read: nothing written, the transaction applies both changes', async () => {
  const { inbox, highestModseq } = await inboxWith(1);
  const run = await counted(() =>
    againstHeldMailbox(
      inbox.id,
      async (tx) => {
        const [mb] = await tx<Array<{ m: string }>>`UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ${inbox.id} RETURNING highestmodseq AS m`;
        await tx`UPDATE messages SET system_flags = system_flags | ${FLAGGED}, modseq = ${mb!.m} WHERE mailbox_id = ${inbox.id} AND uid = 1`;
      },
      () => repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']),
    ),
  );
  // The statement ran, matched nothing (the MODSEQ read had moved), and the transaction did the work.
  assert.deepEqual({ atOnce: run.atOnce, inTransaction: run.inTransaction }, { atOnce: 1, inTransaction: 1 });
  assert.deepEqual(run.value.changed, [{ uid: 1, modseq: highestModseq + 2, flags: ['\\Seen', '\\Flagged'] }]);
  const meta = await flagsOf(inbox.id, 1);
  assert.deepEqual([meta.flags, meta.modseq], [['\\Seen', '\\Flagged'], highestModseq + 2]);
  assert.equal((await repo.store.counts(inbox.id)).highestModseq, highestModseq + 2);
});

test('a message expunged by another writer after the read: nothing written, nothing changed', async () => {
  const { inbox, highestModseq } = await inboxWith(2);
  const run = await counted(() =>
    againstHeldMailbox(
      inbox.id,
      async (tx) => {
        const [mb] = await tx<Array<{ m: string }>>`UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ${inbox.id} RETURNING highestmodseq AS m`;
        await tx`UPDATE messages SET expunged_modseq = ${mb!.m}, modseq = ${mb!.m}, expunged_at = 0 WHERE mailbox_id = ${inbox.id} AND uid = 2`;
      },
      () => repo.store.storeFlags(inbox.id, [{ start: 1, end: 2 }], 'add', ['\\Flagged']),
    ),
  );
  assert.deepEqual({ atOnce: run.atOnce, inTransaction: run.inTransaction }, { atOnce: 1, inTransaction: 1 });
  assert.deepEqual(run.value.changed, [{ uid: 1, modseq: highestModseq + 2, flags: ['\\Flagged'] }]);
  const gone = await flagsOf(inbox.id, 2);
  assert.deepEqual([gone.flags, gone.modseq], [[], highestModseq + 1]);
  assert.equal(gone.expungedModseq, highestModseq + 1, 'still expunged, untouched');
});

test('an EXPUNGE of a few messages is one statement; UID EXPUNGE takes only the deleted ones in its set', async () => {
  const { inbox, highestModseq } = await inboxWith(4);
  await repo.store.storeFlags(inbox.id, [{ start: 1, end: 3 }], 'add', ['\\Deleted']);
  const uidExpunge = await counted(() => repo.store.expunge(inbox.id, [{ start: 2, end: 4 }]));
  assert.deepEqual(expungeCounts(uidExpunge), { expungeAtOnce: 1, expungeInTransaction: 0 });
  assert.deepEqual(uidExpunge.value, { uids: [2, 3], highestModseq: highestModseq + 2 });
  const rest = await counted(() => repo.store.expunge(inbox.id));
  assert.deepEqual(expungeCounts(rest), { expungeAtOnce: 1, expungeInTransaction: 0 });
  assert.deepEqual(rest.value, { uids: [1], highestModseq: highestModseq + 3 });
  assert.deepEqual(await repo.store.listUids(inbox.id), [4]);
  const counts = await repo.store.counts(inbox.id);
  assert.deepEqual([counts.messages, counts.deleted, counts.highestModseq], [1, 0, highestModseq + 3]);
  const tombstone = await flagsOf(inbox.id, 2);
  assert.equal(tombstone.expungedModseq, highestModseq + 2);
  // Nothing left to expunge: nothing written.
  const none = await counted(() => repo.store.expunge(inbox.id));
  assert.deepEqual({ ...expungeCounts(none), locks: none.locks }, { expungeAtOnce: 0, expungeInTransaction: 0, locks: 0 });
  assert.deepEqual(none.value, { uids: [], highestModseq: highestModseq + 3 });
});

test('an EXPUNGE of more than 100 deleted messages runs the transaction', async () => {
  const { inbox } = await inboxWith(101);
  await repo.store.storeFlags(inbox.id, [{ start: 1, end: Infinity }], 'add', ['\\Deleted']);
  const run = await counted(() => repo.store.expunge(inbox.id));
  assert.deepEqual(expungeCounts(run), { expungeAtOnce: 0, expungeInTransaction: 1 });
  assert.equal(run.value.uids.length, 101);
});

test('a message undeleted by another writer after the read: nothing written, nothing expunged', async () => {
  const { inbox, highestModseq } = await inboxWith(1);
  await repo.store.storeFlags(inbox.id, [{ start: 1, end: 1 }], 'add', ['\\Deleted']);
  const run = await counted(() =>
    againstHeldMailbox(
      inbox.id,
      async (tx) => {
        const [mb] = await tx<Array<{ m: string }>>`UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ${inbox.id} RETURNING highestmodseq AS m`;
        await tx`UPDATE messages SET system_flags = 0, modseq = ${mb!.m} WHERE mailbox_id = ${inbox.id} AND uid = 1`;
      },
      () => repo.store.expunge(inbox.id),
    ),
  );
  assert.deepEqual(expungeCounts(run), { expungeAtOnce: 1, expungeInTransaction: 0 });
  assert.deepEqual(run.value, { uids: [], highestModseq: highestModseq + 2 });
  assert.deepEqual(await repo.store.listUids(inbox.id), [1]);
});

test('a mailbox missing or not selectable: the transaction answers NOT_FOUND or NOT_SELECTABLE', async () => {
  const account = await repo.directory.createAccount(uniqueName('once'), '{PLAIN}x');
  const parent = await repo.store.createMailbox(account.id, 'Parent');
  await repo.store.createMailbox(account.id, 'Parent/Child');
  await repo.store.deleteMailbox(account.id, 'Parent'); // has a child: stays, \Noselect
  await assert.rejects(repo.store.storeFlags(parent.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']), (e) => isMailError(e, 'NOT_SELECTABLE'));
  await assert.rejects(repo.store.expunge(parent.id), (e) => isMailError(e, 'NOT_SELECTABLE'));
  await assert.rejects(repo.store.storeFlags(987654321, [{ start: 1, end: 1 }], 'add', ['\\Seen']), (e) => isMailError(e, 'NOT_FOUND'));
  await assert.rejects(repo.store.expunge(987654321, [{ start: 1, end: 1 }]), (e) => isMailError(e, 'NOT_FOUND'));
});

test('the reads look at the messages concerned only, not the whole mailbox', async () => {
  const { inbox } = await inboxWith(3000);
  await repo.store.storeFlags(inbox.id, [{ start: 10, end: 10 }], 'add', ['\\Seen']); // prepared, planned
  const before = await readBlocks();
  const run = await counted(() => repo.store.storeFlags(inbox.id, [{ start: 2000, end: 2000 }, { start: 2990, end: 2990 }], 'add', ['\\Deleted']));
  assert.equal(run.atOnce, 1);
  const uidExpunge = await counted(() => repo.store.expunge(inbox.id, [{ start: 1990, end: 2995 }]));
  assert.deepEqual([uidExpunge.expungeAtOnce, uidExpunge.value.uids], [1, [2000, 2990]], '1,006 UIDs, two of them deleted: at once');
  const noneDeleted = await counted(() => repo.store.expunge(inbox.id));
  assert.deepEqual([noneDeleted.value.uids, noneDeleted.locks], [[], 0]);
  const after = await readBlocks();
  // A few index and heap pages each; the mailbox's 3,000 rows take well over 100.
  assert.ok(after.ranges - before.ranges < 60, `the range reads touched ${after.ranges - before.ranges} buffers`);
  assert.ok(after.deleted - before.deleted < 10, `EXPUNGE with nothing deleted touched ${after.deleted - before.deleted} buffers`);
});
