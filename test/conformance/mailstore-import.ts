// The MailStore methods `petrel user move` writes with (importMailboxes,
// importMessages) and the hold it takes on the repository it leaves
// (holdAccount), for every backend that implements them.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImportedMessage, MailStore } from '../../src/mail/ports.js';
import { putBlob, testMessage, uniqueName } from './fixtures.js';
import { rejects, type Ctx } from './mailstore-suite.js';

const ALL = [{ start: 1, end: Infinity }];

type Importing = Required<Pick<MailStore, 'importMailboxes' | 'importMessages'>> & MailStore;
type Holding = Required<Pick<MailStore, 'holdAccount'>> & MailStore;

function importing(store: MailStore): Importing {
  assert.ok(store.importMailboxes && store.importMessages, 'the backend implements the import methods');
  return store as Importing;
}

/**
 * `hold`: the backend can be the source of a move (holdAccount); SQLite
 * cannot (see src/store/sqlite/user-import.ts), and its suite says so.
 */
export function mailStoreImportConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>, options: { hold: boolean }): void {
  describe('import (user move)', () => {
    test('importMailboxes creates with the given UIDVALIDITY, renames (even swapped names), deletes, and later mailboxes get a greater UIDVALIDITY', () =>
      withCtx(async ({ store: s, accountId }) => {
        const store = importing(s);
        const base = 4_000_000_000;
        const first = await store.importMailboxes(accountId, [
          { name: 'INBOX', uidValidity: base + 1, specialUse: null, selectable: true },
          { name: 'A', uidValidity: base + 2, specialUse: '\\Archive', selectable: true },
          { name: 'B', uidValidity: base + 3, specialUse: null, selectable: false },
          { name: 'Gone', uidValidity: base + 4, specialUse: null, selectable: true },
        ]);
        assert.deepEqual(
          first.map((m) => [m.name, m.uidValidity, m.specialUse, m.selectable, m.uidNext]),
          [
            ['INBOX', base + 1, null, true, 1],
            ['A', base + 2, '\\Archive', true, 1],
            ['B', base + 3, null, false, 1],
            ['Gone', base + 4, null, true, 1],
          ],
        );
        const second = await store.importMailboxes(accountId, [
          { name: 'INBOX', uidValidity: base + 1, specialUse: null, selectable: true },
          { name: 'B', uidValidity: base + 2, specialUse: null, selectable: true },
          { name: 'A', uidValidity: base + 3, specialUse: '\\Junk', selectable: true },
        ]);
        assert.equal(second[1]!.id, first[1]!.id, 'the same mailbox, renamed');
        assert.equal(second[2]!.id, first[2]!.id);
        const listed = (await store.listMailboxes(accountId)).map((m) => [m.name, m.uidValidity, m.specialUse]);
        assert.deepEqual(listed, [
          ['A', base + 3, '\\Junk'],
          ['B', base + 2, null],
          ['INBOX', base + 1, null],
        ]);
        const fresh = await store.createMailbox(accountId, 'Fresh');
        assert.ok(fresh.uidValidity > base + 3, `new UIDVALIDITY ${fresh.uidValidity} above every imported one`);
        assert.deepEqual(await store.importMailboxes(accountId, []), []);
        assert.deepEqual(await store.listMailboxes(accountId), []);
      }));

    test('importMessages keeps UIDs, modseqs, flags and dates; updates flags; expunges with tombstones; later appends continue after', () =>
      withCtx(async ({ repo, store: s, accountId }) => {
        const store = importing(s);
        const [box] = await store.importMailboxes(accountId, [{ name: 'INBOX', uidValidity: 77, specialUse: null, selectable: true }]);
        const m1 = testMessage({ subject: uniqueName('one'), body: 'first' });
        const m2 = testMessage({ subject: uniqueName('two'), body: 'second body' });
        const m3 = testMessage({ subject: uniqueName('three') });
        for (const m of [m1, m2, m3]) await putBlob(repo.blobs, m);
        const saveDate = new Date('2025-01-02T03:04:05Z');
        const imported = (m: typeof m1, uid: number, modseq: number, flags: string[]): ImportedMessage => ({
          ...m.item(flags, new Date('2024-05-06T07:08:09Z')),
          uid,
          modseq,
          saveDate,
        });
        await store.importMessages(box!.id, {
          messages: [imported(m1, 3, 10, ['\\Seen', '$Work']), imported(m2, 7, 12, []), imported(m3, 9, 13, ['\\Deleted'])],
          expunged: [{ uid: 5, modseq: 11 }],
          uidNext: 12,
          highestModseq: 14,
        });
        const rows = await store.fetchMessages(box!.id, ALL);
        assert.deepEqual(
          rows.map((r) => [r.uid, r.modseq, r.flags, r.internalDate.toISOString(), r.saveDate.toISOString(), r.size, r.blobId]),
          [
            [3, 10, ['\\Seen', '$Work'], '2024-05-06T07:08:09.000Z', saveDate.toISOString(), m1.raw.length, m1.blobId],
            [7, 12, [], '2024-05-06T07:08:09.000Z', saveDate.toISOString(), m2.raw.length, m2.blobId],
            [9, 13, ['\\Deleted'], '2024-05-06T07:08:09.000Z', saveDate.toISOString(), m3.raw.length, m3.blobId],
          ],
        );
        const counts = await store.counts(box!.id);
        assert.equal(counts.messages, 3);
        assert.equal(counts.unseen, 2);
        assert.deepEqual(await store.quotaUsage(accountId), { messages: 3, storageBytes: m1.raw.length + m2.raw.length + m3.raw.length });
        let changes = await store.changesSince(box!.id, 10);
        assert.deepEqual(changes.changed.map((c) => c.uid), [7, 9]);
        assert.deepEqual(changes.expunged, [5], 'the tombstone of a message expunged before the copy');
        assert.equal(changes.highestModseq, 14);
        assert.equal(changes.uidNext, 12);
        assert.equal((await store.getMailboxById(box!.id))!.uidValidity, 77);

        // A later pass: a flag change, an expunge of a copied message, one new message.
        const m4 = testMessage({ subject: uniqueName('four') });
        await putBlob(repo.blobs, m4);
        await store.importMessages(box!.id, {
          messages: [imported(m1, 3, 15, ['\\Seen']), imported(m4, 12, 17, [])],
          expunged: [{ uid: 9, modseq: 16 }],
          uidNext: 13,
          highestModseq: 17,
        });
        changes = await store.changesSince(box!.id, 14);
        assert.deepEqual(changes.changed, [
          { uid: 3, modseq: 15, flags: ['\\Seen'] },
          { uid: 12, modseq: 17, flags: [] },
        ]);
        assert.deepEqual(changes.expunged, [9]);
        assert.deepEqual(await store.listUids(box!.id), [3, 7, 12]);
        assert.equal((await store.quotaUsage(accountId)).messages, 3);

        // The mailbox goes on from there, as if it had always been here.
        const m5 = testMessage({ subject: uniqueName('five') });
        await putBlob(repo.blobs, m5);
        const appended = await store.appendMessages(box!.id, [m5.item()]);
        assert.deepEqual(appended.uids, [13]);
        assert.equal(appended.highestModseq, 18);
        assert.deepEqual(await store.integrityCheck(), []);
      }));

    test('directory: a freeze is stored and ends; switchRepository only from the named repository and within the freeze', () =>
      withCtx(async ({ repo, accountName }) => {
        const d = repo.directory;
        assert.equal((await d.findAccount(accountName))!.frozenUntil, null);
        assert.equal(await d.switchRepository(accountName, 'default', 'elsewhere'), false, 'not frozen: no switch');
        const until = new Date(Date.now() + 60_000);
        await d.setFrozenUntil(accountName, until);
        assert.equal((await d.findAccount(accountName))!.frozenUntil?.getTime(), until.getTime());
        assert.equal(await d.switchRepository(accountName, 'nowhere', 'elsewhere'), false, 'not in that repository');
        assert.equal(await d.switchRepository(accountName, 'default', 'elsewhere'), true);
        const moved = (await d.findAccount(accountName))!;
        assert.equal(moved.repository, 'elsewhere');
        assert.equal(moved.frozenUntil, null, 'the switch ends the freeze');
        await d.setFrozenUntil(accountName, new Date(Date.now() - 1));
        assert.equal(await d.switchRepository(accountName, 'elsewhere', 'default'), false, 'a lapsed freeze: no switch');
        await d.setFrozenUntil(accountName, null);
        await rejects(d.setFrozenUntil(uniqueName('nobody'), null), 'NOT_FOUND');
      }));

    if (!options.hold) {
      test('holdAccount is absent', () =>
        withCtx(async ({ store }) => {
          assert.equal(store.holdAccount, undefined);
        }));
      return;
    }
    test('holdAccount blocks writers until released; drop removes the account data and fails the waiting writer', () =>
      withCtx(async ({ repo, store: s, accountId, accountName, append }) => {
        assert.ok(s.holdAccount);
        const store = s as Holding;
        const inbox = await store.createMailbox(accountId, 'INBOX');
        const other = await store.createMailbox(accountId, 'Other');
        await append(inbox, [{ m: testMessage({ subject: uniqueName('held') }) }]);
        await store.setSubscribed(accountId, 'Other', true);
        const limits = { maxValueSize: 1024, maxEntries: 10 };
        await store.setMetadata({ accountId, mailboxId: null }, [{ name: '/private/comment', value: Buffer.from('mine') }], limits);
        await store.setMetadata({ accountId, mailboxId: other.id }, [{ name: '/shared/comment', value: Buffer.from('box') }], limits);

        let hold = await store.holdAccount(accountId);
        let done = false;
        const waiting = store.storeFlags(inbox.id, ALL, 'add', ['\\Flagged']).finally(() => (done = true));
        // The writer is blocked on the hold: a read on another connection still answers meanwhile.
        assert.equal((await store.counts(inbox.id)).messages, 1);
        assert.equal(done, false);
        await hold.release();
        assert.equal((await waiting).changed.length, 1);

        hold = await store.holdAccount(accountId);
        // Its rejection is handled from the start (it may come while drop() is awaited).
        const failing = assert.rejects(store.storeFlags(inbox.id, ALL, 'add', ['\\Answered']));
        await hold.drop();
        await failing;
        assert.deepEqual(await store.listMailboxes(accountId), []);
        assert.deepEqual(await store.listSubscriptions(accountId), []);
        assert.deepEqual(await store.getMetadata({ accountId, mailboxId: null }, ['/private'], { depth: 'infinity' }), []);
        assert.deepEqual(await store.quotaUsage(accountId), { messages: 0, storageBytes: 0 });
        assert.ok(await repo.directory.findAccount(accountName), 'the account row stays');
        assert.deepEqual(await store.integrityCheck(), []);
      }));
  });
}

