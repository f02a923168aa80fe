// Rollback detection without a promotion (src/store/postgres/rollback.ts):
// the database goes back under a store that saw more (here by deleting the
// last append's row and lowering the counters, as a crash that lost a
// commit would; the timeline stays the same). Two stores on one database
// stand for two servers. The promotion itself is test/e2e/failover-rollback.test.ts.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresRepository, type PostgresRepository } from '../../../src/store/postgres/index.js';
import type { MailEvent } from '../../../src/mail/types.js';
import { testMessage } from '../../conformance/fixtures.js';
import { queryOnce } from '../../support/replication.js';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres();
after(() => pg.stop());
const url = await pg.createDatabase();

/** A store with a bus that records what it publishes; `published` resolves at the first mailbox-changed with modseq 0. */
async function server(): Promise<{ repo: PostgresRepository; events: MailEvent[]; changed: Promise<MailEvent> }> {
  const repo = await openPostgresRepository(url, { max: 2 });
  const events: MailEvent[] = [];
  let resolve!: (e: MailEvent) => void;
  const changed = new Promise<MailEvent>((r) => (resolve = r));
  repo.store.useEvents('default', {
    publish: (e) => {
      events.push(e);
      if (e.kind === 'mailbox-changed' && e.modseq === 0) resolve(e);
    },
  });
  return { repo, events, changed };
}

/** Forgets the last append of `mailboxId` as a lost commit would: its row, one UID and one MODSEQ. */
async function loseLastAppend(mailboxId: number): Promise<void> {
  await queryOnce(url, `DELETE FROM messages WHERE mailbox_id = ${mailboxId} AND uid = (SELECT max(uid) FROM messages WHERE mailbox_id = ${mailboxId})`);
  await queryOnce(url, `UPDATE mailboxes SET uidnext = uidnext - 1, highestmodseq = highestmodseq - 1 WHERE id = ${mailboxId}`);
}

const message = (n: number) => testMessage({ subject: `message ${n}`, body: `body ${n}` }).item();

test('a write that would take a UID already seen: the mailbox gets a new UIDVALIDITY first, once', async () => {
  const a = await server();
  const b = await server();
  try {
    const account = await a.repo.directory.createAccount('writer', '{PLAIN}x');
    const mailbox = await a.repo.store.createMailbox(account.id, 'INBOX');
    for (let i = 1; i <= 3; i++) await a.repo.store.appendMessages(mailbox.id, [message(i)]);
    const seen = await b.repo.store.counts(mailbox.id); // the other server saw the same
    assert.equal(seen.uidNext, 4);
    const [row] = await queryOnce<{ counters_timeline: string; fork_uidnext: string | null }>(
      url,
      `SELECT counters_timeline, fork_uidnext FROM mailboxes WHERE id = ${mailbox.id}`,
    );
    assert.equal(Number(row!.counters_timeline), 1, 'the counters changed on timeline 1');
    assert.equal(Number(row!.fork_uidnext), 1, 'their values when that timeline began');

    await loseLastAppend(mailbox.id);
    const appended = await a.repo.store.appendMessages(mailbox.id, [message(4)]);
    assert.notEqual(appended.uidValidity, mailbox.uidValidity, 'a new UIDVALIDITY');
    assert.ok(appended.uids[0]! >= 4, `UID ${appended.uids[0]} is not the lost one (3)`);
    assert.deepEqual(await a.changed, { kind: 'mailbox-changed', repository: 'default', accountId: account.id, mailboxId: mailbox.id, modseq: 0 });

    // The other server learns it from its next read (its sessions then end), and changes nothing more.
    const later = await b.repo.store.counts(mailbox.id);
    assert.equal(later.uidValidity, appended.uidValidity);
    await b.changed;
    assert.equal(a.repo.store.rollback.revalidated + b.repo.store.rollback.revalidated, 1, 'one new UIDVALIDITY');
    assert.equal((await a.repo.store.getMailboxById(mailbox.id))!.uidValidity, appended.uidValidity);
  } finally {
    await a.repo.close();
    await b.repo.close();
  }
});

test('a read that shows counters below what was seen: the mailbox gets a new UIDVALIDITY', async () => {
  const a = await server();
  try {
    const account = await a.repo.directory.createAccount('reader', '{PLAIN}x');
    const mailbox = await a.repo.store.createMailbox(account.id, 'INBOX');
    for (let i = 1; i <= 2; i++) await a.repo.store.appendMessages(mailbox.id, [message(i)]);
    const before = await a.repo.store.changesSince(mailbox.id, 0);
    assert.equal(before.uidNext, 3);

    await loseLastAppend(mailbox.id);
    await a.repo.store.changesSince(mailbox.id, 0); // shows UIDNEXT 2: checked in the background
    const e = await a.changed;
    assert.equal(e.kind === 'mailbox-changed' && e.mailboxId, mailbox.id);
    const now = (await a.repo.store.getMailboxById(mailbox.id))!;
    assert.notEqual(now.uidValidity, mailbox.uidValidity);
    assert.equal(now.uidNext, 3, 'UIDNEXT back at what was seen: UID 2 is not given again');
  } finally {
    await a.repo.close();
  }
});

test('no rollback, no change: writes and reads of several stores leave UIDVALIDITY alone', async () => {
  const a = await server();
  const b = await server();
  try {
    const account = await a.repo.directory.createAccount('quiet', '{PLAIN}x');
    const mailbox = await a.repo.store.createMailbox(account.id, 'INBOX');
    // Reads whose snapshot is older than a write another loop of the same store noted: not taken for a rollback.
    await Promise.all(
      [a, b, a, b].map(async (s, w) => {
        for (let i = 0; i < 40; i++) {
          if (w < 2) await s.repo.store.appendMessages(mailbox.id, [message(100 * w + i)]);
          else await s.repo.store.storeFlags(mailbox.id, [{ start: 1, end: Infinity }], 'add', [`$k${i}`]);
          await s.repo.store.changesSince(mailbox.id, 0);
          await s.repo.store.counts(mailbox.id);
        }
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await a.repo.store.getMailboxById(mailbox.id))!.uidValidity, mailbox.uidValidity);
    assert.equal(a.repo.store.rollback.revalidated + b.repo.store.rollback.revalidated, 0);
    assert.equal(a.repo.store.rollback.verified + b.repo.store.rollback.verified, 0, 'no read was taken for a rollback');
    assert.deepEqual([...a.events, ...b.events], []);
  } finally {
    await a.repo.close();
    await b.repo.close();
  }
});

test('a STORE or EXPUNGE at once after a lost STORE this store saw: the lost MODSEQ is not taken again, a new UIDVALIDITY', async () => {
  const a = await server();
  try {
    for (const kind of ['store', 'expunge'] as const) {
      const account = await a.repo.directory.createAccount(`lost-${kind}`, '{PLAIN}x');
      const mailbox = await a.repo.store.createMailbox(account.id, 'INBOX');
      const deleted = (n: number) => testMessage({ subject: `${kind} ${n}` }).item(['\\Deleted']);
      const appended = await a.repo.store.appendMessages(mailbox.id, [deleted(1), deleted(2)]);
      const h = appended.highestModseq;
      // A STORE this store sees (at once), then loses: its row and HIGHESTMODSEQ back as they were.
      assert.equal((await a.repo.store.storeFlags(mailbox.id, [{ start: 1, end: 1 }], 'add', ['\\Flagged'])).highestModseq, h + 1);
      await queryOnce(url, `UPDATE messages SET system_flags = system_flags & ~4, modseq = ${h} WHERE mailbox_id = ${mailbox.id} AND uid = 1`);
      await queryOnce(url, `UPDATE mailboxes SET highestmodseq = highestmodseq - 1 WHERE id = ${mailbox.id}`);
      const again =
        kind === 'store'
          ? await a.repo.store.storeFlags(mailbox.id, [{ start: 2, end: 2 }], 'add', ['\\Seen'])
          : await a.repo.store.expunge(mailbox.id, [{ start: 2, end: 2 }]);
      assert.ok(again.highestModseq > h + 1, `${kind}: MODSEQ ${again.highestModseq} is not the lost one (${h + 1})`);
      assert.notEqual((await a.repo.store.getMailboxById(mailbox.id))!.uidValidity, mailbox.uidValidity, `${kind}: a new UIDVALIDITY`);
    }
  } finally {
    await a.repo.close();
  }
});
