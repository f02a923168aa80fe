// listFlags part of the MailStore conformance suite: the compact listing that
// SELECT reads must say exactly what listUids + fetchMessages say about the
// live messages (uids ascending, modseq, flags with keywords), after flag
// changes and expunges, whole or for a uid range, with each distinct flag
// set listed once.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlagListing, MailStore } from '../../src/mail/ports.js';
import { testMessage, uniqueName } from './fixtures.js';
import { rejects, type Ctx } from './mailstore-suite.js';

const ALL = [{ start: 1, end: Infinity }];

/** The listing as plain rows, flags sorted (flag order is not part of the contract). */
function rows(l: FlagListing): Array<{ uid: number; modseq: number; flags: string[] }> {
  assert.equal(l.modseqs.length, l.uids.length);
  assert.equal(l.flagSet.length, l.uids.length);
  return Array.from(l.uids, (uid, i) => ({ uid, modseq: l.modseqs[i]!, flags: [...l.flagSets[l.flagSet[i]!]!].sort() }));
}

async function expected(store: MailStore, mailboxId: number): Promise<Array<{ uid: number; modseq: number; flags: string[] }>> {
  const metas = await store.fetchMessages(mailboxId, ALL);
  return metas.filter((m) => m.expungedModseq === null).map((m) => ({ uid: m.uid, modseq: m.modseq, flags: [...m.flags].sort() }));
}

export function mailStoreFlagListingConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>): void {
  describe('listFlags', () => {
    test('empty mailbox, missing mailbox', () =>
      withCtx(async ({ store, accountId }) => {
        const mb = await store.createMailbox(accountId, uniqueName('Empty'));
        assert.deepEqual(rows(await store.listFlags(mb.id)), []);
        await rejects(store.listFlags(mb.id + 100_000), 'NOT_FOUND');
      }));

    test('agrees with fetchMessages after appends, flag changes and expunges; sets are shared', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, uniqueName('Listing'));
        const flagsOf = (i: number): string[] =>
          [[], ['\\Seen'], ['\\Seen', '\\Flagged'], ['$Label1'], ['\\Seen', '$Label1', '$Work'], ['\\Answered', '\\Seen']][i % 6]!;
        const msgs = Array.from({ length: 30 }, (_, i) => ({ m: testMessage({ subject: uniqueName(`l${i}`), body: `b${i}` }), flags: flagsOf(i) }));
        await append(mb, msgs.slice(0, 20));
        await append(mb, msgs.slice(20));
        await store.storeFlags(mb.id, [{ start: 3, end: 5 }], 'add', ['\\Deleted', '$New']);
        await store.storeFlags(mb.id, [{ start: 7, end: 7 }], 'replace', []);
        await store.storeFlags(mb.id, [{ start: 10, end: 12 }], 'add', ['\\Deleted']);
        await store.expunge(mb.id, [{ start: 10, end: 12 }]);

        const listing = await store.listFlags(mb.id);
        const got = rows(listing);
        assert.deepEqual(got, await expected(store, mb.id));
        assert.equal(got.length, 27);
        assert.deepEqual(got.map((r) => r.uid), await store.listUids(mb.id));
        assert.ok(got.every((r, i) => i === 0 || r.uid > got[i - 1]!.uid), 'ascending');
        const inRange = (await expected(store, mb.id)).filter((r) => r.uid >= 5 && r.uid <= 15);
        assert.deepEqual(rows(await store.listFlags(mb.id, { start: 5, end: 15 })), inRange);
        assert.deepEqual(rows(await store.listFlags(mb.id, { start: 1, end: Infinity })), got);
        assert.deepEqual(rows(await store.listFlags(mb.id, { start: 31, end: 40 })), []);
        // Distinct sets once: 30 messages, far fewer sets.
        const keys = listing.flagSets.map((f) => [...f].sort().join(' '));
        assert.equal(new Set(keys).size, keys.length);
        assert.ok(listing.flagSets.length < 12, `${listing.flagSets.length} sets`);
      }));

    test("with the mailbox's HIGHESTMODSEQ and UIDNEXT; NOT_SELECTABLE, then NOT_FOUND, as listUids and changesSince", () =>
      withCtx(async ({ store, accountId, append }) => {
        const parent = await store.createMailbox(accountId, uniqueName('Parent'));
        await store.createMailbox(accountId, `${parent.name}/Child`);
        await append(parent, [{ m: testMessage({ subject: 'a' }) }, { m: testMessage({ subject: 'b' }), flags: ['$Work'] }]);
        await store.storeFlags(parent.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']);
        const info = (await store.getMailboxById(parent.id))!;
        for (const range of [undefined, { start: 2, end: 2 }]) {
          const listing = await store.listFlags(parent.id, range);
          assert.equal(listing.highestModseq, info.highestModseq);
          assert.equal(listing.uidNext, info.uidNext);
        }
        await store.deleteMailbox(accountId, parent.name);
        await rejects(store.listFlags(parent.id), 'NOT_SELECTABLE');
        await rejects(store.listUids(parent.id), 'NOT_SELECTABLE');
        await store.deleteMailbox(accountId, `${parent.name}/Child`);
        await store.deleteMailbox(accountId, parent.name);
        await rejects(store.listFlags(parent.id), 'NOT_FOUND');
        await rejects(store.listUids(parent.id), 'NOT_FOUND');
        await rejects(store.changesSince(parent.id, 0), 'NOT_FOUND');
      }));

    test('changesSince agrees with fetchMessages: flags with keywords, modseqs, expunged UIDs', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, uniqueName('Changes'));
        const flagsOf = (i: number): string[] => [[], ['\\Seen', '$Label1'], ['$A', '$B'], ['\\Flagged']][i % 4]!;
        await append(mb, Array.from({ length: 8 }, (_, i) => ({ m: testMessage({ subject: uniqueName(`c${i}`) }), flags: flagsOf(i) })));
        const since = (await store.getMailboxById(mb.id))!.highestModseq;
        await store.storeFlags(mb.id, [{ start: 2, end: 3 }], 'add', ['$New']);
        await store.storeFlags(mb.id, [{ start: 5, end: 6 }], 'add', ['\\Deleted']);
        await store.expunge(mb.id);
        await store.storeFlags(mb.id, [{ start: 7, end: 8 }], 'replace', ['$Only']);
        const changes = await store.changesSince(mb.id, since);
        const metas = await store.fetchMessages(mb.id, ALL);
        const want = metas.filter((m) => m.expungedModseq === null && m.modseq > since);
        assert.deepEqual(
          changes.changed.map((c) => ({ uid: c.uid, modseq: c.modseq, flags: [...c.flags].sort() })),
          want.map((m) => ({ uid: m.uid, modseq: m.modseq, flags: [...m.flags].sort() })),
        );
        assert.deepEqual(changes.changed.map((c) => c.uid), [2, 3, 7, 8]);
        assert.deepEqual(changes.expunged, [5, 6]);
        const info = (await store.getMailboxById(mb.id))!;
        assert.equal(changes.highestModseq, info.highestModseq);
        assert.equal(changes.uidNext, info.uidNext);
        // Equal flags, each entry its own array, as before (a caller may keep or change one).
        assert.deepEqual(changes.changed[2]!.flags, changes.changed[3]!.flags);
        assert.notEqual(changes.changed[2]!.flags, changes.changed[3]!.flags);
        const none = await store.changesSince(mb.id, info.highestModseq);
        assert.deepEqual([none.changed, none.expunged], [[], []]);
      }));
  });
}
