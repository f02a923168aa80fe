// REPLACE part of the MailStore conformance suite (RFC 8508): replaceMessage
// appends and expunges in one transaction (the original alone, never flagged
// \Deleted on the way; nothing changes when it is gone), counts quota on the
// net change (3.4) within an account and the whole new message across
// accounts, and two concurrent replacements of one original leave exactly
// one replacement.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailError } from '../../src/mail/errors.js';
import type { MailStore } from '../../src/mail/ports.js';
import type { MailboxInfo } from '../../src/mail/types.js';
import { putBlob, testMessage, uniqueName, type TestMessage } from './fixtures.js';
import { rejects, type Ctx, type OpenRepository } from './mailstore-suite.js';

const ALL = [{ start: 1, end: Infinity }];

/** Everything replaceMessage may change in a mailbox, to check that a failure changed none of it. */
async function state(store: MailStore, mailbox: MailboxInfo): Promise<unknown> {
  const c = await store.counts(mailbox.id);
  return { uids: await store.listUids(mailbox.id), uidNext: c.uidNext, modseq: c.highestModseq };
}

export function mailStoreReplaceConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>, open: OpenRepository): void {
  const msg = (tag: string, bodyBytes = 100): TestMessage => testMessage({ subject: uniqueName(tag), body: 'x'.repeat(bodyBytes) });

  describe('replaceMessage (RFC 8508)', () => {
    test('appends and expunges the original alone, one modseq each, the original never flagged \\Deleted', () =>
      withCtx(async ({ repo, store, accountId, append }) => {
        const drafts = await store.createMailbox(accountId, 'Drafts');
        await append(drafts, [{ m: msg('r1') }, { m: msg('r2'), flags: ['\\Deleted'] }, { m: msg('r3'), flags: ['\\Seen'] }]);
        const before = (await store.counts(drafts.id)).highestModseq;
        const next = msg('r4');
        await putBlob(repo.blobs, next);
        const date = new Date('2025-01-02T03:04:05Z');
        const r = await store.replaceMessage(drafts.id, 3, drafts.id, next.item(['\\Draft', '$Work'], date));
        assert.deepEqual(r.appended.uids, [4]);
        assert.equal(r.appended.uidValidity, drafts.uidValidity);
        assert.equal(r.appended.highestModseq, before + 1);
        assert.deepEqual(r.expunged, { uids: [3], highestModseq: before + 2 });
        // The other \Deleted message stays.
        assert.deepEqual(await store.listUids(drafts.id), [1, 2, 4]);
        const [old, added] = await store.fetchMessages(drafts.id, [{ start: 3, end: 4 }]);
        assert.deepEqual([old!.flags, old!.expungedModseq], [['\\Seen'], before + 2]);
        assert.deepEqual([added!.flags, added!.internalDate.getTime(), added!.blobId], [['\\Draft', '$Work'], date.getTime(), next.blobId]);
        const changes = await store.changesSince(drafts.id, before);
        assert.deepEqual(changes.expunged, [3]);
        assert.deepEqual(changes.changed.map((c) => c.uid), [4]);
        assert.equal(changes.highestModseq, before + 2);
      }));

    test('into another mailbox; EXPUNGED, and nothing changes, when the original is gone', () =>
      withCtx(async ({ repo, store, accountId, append }) => {
        const drafts = await store.createMailbox(accountId, 'Drafts');
        const sent = await store.createMailbox(accountId, 'Sent');
        await append(drafts, [{ m: msg('d1') }, { m: msg('d2') }]);
        const first = msg('s1');
        await putBlob(repo.blobs, first);
        const r = await store.replaceMessage(drafts.id, 1, sent.id, first.item(['\\Seen']));
        assert.deepEqual(r.appended.uids, [1]);
        assert.equal(r.appended.uidValidity, sent.uidValidity);
        assert.deepEqual(r.expunged.uids, [1]);
        assert.deepEqual(await store.listUids(drafts.id), [2]);
        assert.deepEqual(await store.listUids(sent.id), [1]);
        const [draftsBefore, sentBefore] = [await state(store, drafts), await state(store, sent)];
        const again = msg('s2');
        await putBlob(repo.blobs, again);
        await rejects(store.replaceMessage(drafts.id, 1, sent.id, again.item()), 'EXPUNGED'); // expunged
        await rejects(store.replaceMessage(drafts.id, 9, sent.id, again.item()), 'EXPUNGED'); // never there
        assert.deepEqual([await state(store, drafts), await state(store, sent)], [draftsBefore, sentBefore]);
        await rejects(store.replaceMessage(drafts.id, 2, drafts.id + 1_000_000, again.item()), 'NOT_FOUND');
        assert.deepEqual(await state(store, drafts), draftsBefore);
      }));

    test('quota within one account: the net change (RFC 8508 3.4)', () =>
      withCtx(async ({ repo, store, accountId, accountName, append }) => {
        const drafts = await store.createMailbox(accountId, 'Drafts');
        // Subjects of one length: messages of one size.
        const sized = (subject: string, bodyBytes: number): TestMessage => testMessage({ subject: `${subject}-${accountName}`, body: 'x'.repeat(bodyBytes) });
        const [a, b, sameSize] = [sized('qa', 400), sized('qb', 400), sized('qc', 400)];
        await append(drafts, [{ m: a }, { m: b }]);
        const used = a.raw.length + b.raw.length;
        // At both limits: an APPEND fails, a REPLACE by a message of the same size does not.
        await repo.directory.setQuota(accountName, { storage: Math.ceil(used / 1024), messages: 2 });
        assert.equal(sameSize.raw.length, a.raw.length);
        await putBlob(repo.blobs, sameSize);
        await rejects(store.appendMessages(drafts.id, [sameSize.item()]), 'OVER_QUOTA');
        await store.replaceMessage(drafts.id, 1, drafts.id, sameSize.item());
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: used, messages: 2 });
        // Growing past the storage limit fails whole.
        await repo.directory.setQuota(accountName, { storage: Math.ceil(used / 1024), messages: null });
        const big = sized('qd', Math.ceil(used / 1024) * 1024);
        await putBlob(repo.blobs, big);
        const before = await state(store, drafts);
        await rejects(store.replaceMessage(drafts.id, 2, drafts.id, big.item()), 'OVER_QUOTA');
        assert.deepEqual(await state(store, drafts), before);
        // Over a lowered limit, a smaller replacement is still allowed (it adds nothing).
        await repo.directory.setQuota(accountName, { storage: 0, messages: 1 });
        const small = sized('qe', 10);
        await putBlob(repo.blobs, small);
        await store.replaceMessage(drafts.id, 2, drafts.id, small.item());
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: sameSize.raw.length + small.raw.length, messages: 2 });
      }));

    test('quota across accounts: the target account takes the whole new message', () =>
      withCtx(async ({ repo, store, accountId, append }) => {
        const drafts = await store.createMailbox(accountId, 'Drafts');
        await append(drafts, [{ m: msg('x1') }]);
        const otherName = uniqueName('other');
        const other = await repo.directory.createAccount(otherName, 'x');
        const shared = await store.createMailbox(other.id, 'Inbox2');
        await repo.directory.setQuota(otherName, { storage: null, messages: 0 });
        const next = msg('x2');
        await putBlob(repo.blobs, next);
        const before = [await state(store, drafts), await state(store, shared)];
        await rejects(store.replaceMessage(drafts.id, 1, shared.id, next.item()), 'OVER_QUOTA');
        assert.deepEqual([await state(store, drafts), await state(store, shared)], before);
        await repo.directory.setQuota(otherName, { storage: null, messages: 1 });
        await store.replaceMessage(drafts.id, 1, shared.id, next.item());
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 0, messages: 0 });
        assert.deepEqual(await store.quotaUsage(other.id), { storageBytes: next.raw.length, messages: 1 });
      }));

    test('race: concurrent replacements of one original over several connections leave exactly one', async () => {
      const conns = await Promise.all([open(), open(), open()]);
      try {
        const [first] = conns;
        const name = uniqueName('replace-race');
        const account = await first!.directory.createAccount(name, 'x');
        const drafts = await first!.store.createMailbox(account.id, 'Drafts');
        const sent = await first!.store.createMailbox(account.id, 'Sent');
        const original = msg('orig');
        await putBlob(first!.blobs, original);
        await first!.store.appendMessages(drafts.id, [original.item()]);
        await first!.directory.setQuota(name, { storage: null, messages: 1 });
        const copies = Array.from({ length: 6 }, (_, i) => msg(`copy${i}`));
        for (const m of copies) await putBlob(first!.blobs, m);
        const results = await Promise.allSettled(
          copies.map((m, i) => conns[i % 3]!.store.replaceMessage(drafts.id, 1, i % 2 ? sent.id : drafts.id, m.item())),
        );
        for (const r of results) if (r.status === 'rejected') assert.ok(isMailError(r.reason, 'EXPUNGED'), String(r.reason));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        const live = (await first!.store.listUids(drafts.id)).length + (await first!.store.listUids(sent.id)).length;
        assert.equal(live, 1);
        assert.equal((await first!.store.quotaUsage(account.id)).messages, 1);
        assert.equal((await first!.store.fetchMessages(sent.id, ALL)).length + (await first!.store.fetchMessages(drafts.id, ALL)).length, 2);
      } finally {
        for (const c of conns) await c.close();
      }
    });
  });
}
