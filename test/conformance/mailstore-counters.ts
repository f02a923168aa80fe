// Counters part of the MailStore conformance suite: counts() (STATUS) and
// quotaUsage() come from counters kept on the mailbox row, so after every
// kind of change, and after concurrent changes over several connections,
// they must equal what the messages themselves say (fetchMessages, live
// rows), and integrityCheck() must find nothing.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailStore } from '../../src/mail/ports.js';
import type { AccountId, MailboxId } from '../../src/mail/types.js';
import { putBlob, testMessage, uniqueName } from './fixtures.js';
import type { Ctx, OpenRepository } from './mailstore-suite.js';

const ALL = [{ start: 1, end: Infinity }];

interface Counted {
  messages: number;
  unseen: number;
  deleted: number;
  size: number;
  deletedSize: number;
}

/** The counts as the live messages say them (no counters involved). */
async function countedFromMessages(store: MailStore, mailboxId: MailboxId): Promise<Counted> {
  const live = (await store.fetchMessages(mailboxId, ALL)).filter((m) => m.expungedModseq === null);
  const deleted = live.filter((m) => m.flags.includes('\\Deleted'));
  return {
    messages: live.length,
    unseen: live.filter((m) => !m.flags.includes('\\Seen')).length,
    deleted: deleted.length,
    size: live.reduce((n, m) => n + m.size, 0),
    deletedSize: deleted.reduce((n, m) => n + m.size, 0),
  };
}

async function assertCounts(store: MailStore, mailboxId: MailboxId, step: string): Promise<Counted> {
  const c = await store.counts(mailboxId);
  const expected = await countedFromMessages(store, mailboxId);
  assert.deepEqual(
    { messages: c.messages, unseen: c.unseen, deleted: c.deleted, size: c.size, deletedSize: c.deletedSize ?? 0 },
    expected,
    `counts after ${step}`,
  );
  return expected;
}

/** Every mailbox of the account agrees, quotaUsage is their sum, and the integrity check is clean. */
async function assertAccount(store: MailStore, accountId: AccountId, step: string): Promise<void> {
  let messages = 0;
  let bytes = 0;
  for (const mb of await store.listMailboxes(accountId)) {
    const c = await assertCounts(store, mb.id, `${step} (${mb.name})`);
    messages += c.messages;
    bytes += c.size;
  }
  assert.deepEqual(await store.quotaUsage(accountId), { messages, storageBytes: bytes }, `quota usage after ${step}`);
  assert.deepEqual(await store.integrityCheck(), [], `integrity check after ${step}`);
}

export function mailStoreCountersConformance(
  withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>,
  open: OpenRepository,
): void {
  const msg = (n: number, extra = '') => testMessage({ subject: `counted ${n}${extra}`, body: `body ${n} ${'x'.repeat(n * 37)}` });

  describe('counters (STATUS, quota usage)', () => {
    test('exact after append, flag changes, expunge, copy, move, replace, prune, rename and delete', () =>
      withCtx(async ({ repo, store, accountId, append }) => {
        const a = await store.createMailbox(accountId, uniqueName('CountA'));
        const b = await store.createMailbox(accountId, uniqueName('CountB'));
        await assertAccount(store, accountId, 'create');

        await append(a, [
          { m: msg(1), flags: ['\\Seen'] },
          { m: msg(2), flags: ['\\Deleted'] },
          { m: msg(3), flags: ['\\Seen', '\\Deleted', '$Work'] },
          { m: msg(4) },
          { m: msg(5), flags: ['\\Flagged'] },
          { m: msg(6), flags: ['\\Seen', '\\Answered'] },
        ]);
        await assertAccount(store, accountId, 'append');

        await store.storeFlags(a.id, [{ start: 4, end: 5 }], 'add', ['\\Seen']);
        await assertAccount(store, accountId, 'add \\Seen');
        await store.storeFlags(a.id, [{ start: 1, end: 1 }], 'remove', ['\\Seen']);
        await assertAccount(store, accountId, 'remove \\Seen');
        await store.storeFlags(a.id, [{ start: 6, end: 6 }], 'replace', ['\\Deleted']);
        await assertAccount(store, accountId, 'replace with \\Deleted');
        await store.storeFlags(a.id, ALL, 'add', ['$Label']);
        await assertAccount(store, accountId, 'a keyword only');
        await store.storeFlags(a.id, [{ start: 2, end: 2 }], 'add', ['\\Deleted']);
        await assertAccount(store, accountId, 'a change that changes nothing');

        await store.copyMessages(a.id, ALL, b.id);
        await assertAccount(store, accountId, 'copy');
        await store.expunge(a.id, [{ start: 2, end: 2 }]);
        await assertAccount(store, accountId, 'UID EXPUNGE');
        await store.expunge(a.id);
        await assertAccount(store, accountId, 'EXPUNGE');
        await store.moveMessages(b.id, [{ start: 1, end: 3 }], a.id);
        await assertAccount(store, accountId, 'move');
        await store.moveMessages(a.id, ALL, a.id);
        await assertAccount(store, accountId, 'move into the same mailbox');

        const [first] = await store.listUids(a.id);
        await putBlob(repo.blobs, msg(7, ' replacing'));
        await store.replaceMessage(a.id, first!, a.id, msg(7, ' replacing').item(['\\Deleted']));
        await assertAccount(store, accountId, 'replace');
        const [firstB] = await store.listUids(b.id);
        await store.replaceMessage(b.id, firstB!, a.id, msg(7, ' replacing').item());
        await assertAccount(store, accountId, 'replace into another mailbox');

        await store.pruneExpunged(new Date(Date.now() + 60_000));
        await assertAccount(store, accountId, 'prune');

        await append(await store.createMailbox(accountId, 'INBOX'), [
          { m: msg(8) },
          { m: msg(9), flags: ['\\Seen'] },
        ]);
        await store.renameMailbox(accountId, 'INBOX', uniqueName('OldInbox'));
        await assertAccount(store, accountId, 'RENAME INBOX');

        const parent = uniqueName('Parent');
        await store.createMailbox(accountId, `${parent}/child`);
        const p = (await store.getMailbox(accountId, parent))!;
        await store.copyMessages(a.id, ALL, p.id);
        await store.deleteMailbox(accountId, parent); // has a child: becomes \Noselect, its messages expunged
        assert.equal((await store.counts(p.id)).messages, 0);
        await assertAccount(store, accountId, 'DELETE of a parent');
        await store.deleteMailbox(accountId, b.name);
        await assertAccount(store, accountId, 'DELETE');
      }));

    test('exact after concurrent appends, flag changes and expunges over several connections', async () => {
      const repos = await Promise.all(Array.from({ length: 3 }, () => open()));
      try {
        const [main] = repos;
        const account = await main!.directory.createAccount(uniqueName('counters'), '{PLAIN}x');
        const mb = await main!.store.createMailbox(account.id, 'Busy');
        const messages = Array.from({ length: 24 }, (_, i) => msg(100 + i, ' busy'));
        for (const m of messages) await putBlob(main!.blobs, m);
        await Promise.all(
          repos.map(async (r, k) => {
            for (let i = k; i < messages.length; i += repos.length) {
              await r.store.appendMessages(mb.id, [messages[i]!.item(i % 3 === 0 ? ['\\Seen'] : [])]);
              const op = i % 4 === 0 ? 'remove' : 'add';
              await r.store.storeFlags(mb.id, [{ start: Math.max(1, i - 2), end: i + 1 }], op, i % 2 ? ['\\Deleted'] : ['\\Seen']);
              if (i % 5 === 4) await r.store.expunge(mb.id);
            }
          }),
        );
        await assertAccount(main!.store, account.id, 'concurrent changes');
      } finally {
        await Promise.all(repos.map((r) => r.close()));
      }
    });
  });
}
