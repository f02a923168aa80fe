// QUOTA part of the MailStore conformance suite (RFC 9208 STORAGE and MESSAGE
// resources): limits in the directory, exact usage, all-or-nothing enforcement
// inside append/copy/move, and no overshoot under concurrent appends.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailError } from '../../src/mail/errors.js';
import { putBlob, testMessage, uniqueName } from './fixtures.js';
import { rejects, type Ctx, type OpenRepository } from './mailstore-suite.js';

const ALL = [{ start: 1, end: Infinity }];

export function mailStoreQuotaConformance(
  withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>,
  open: OpenRepository,
): void {
  const msg = (tag: string, bodyBytes = 100) => testMessage({ subject: uniqueName(tag), body: 'x'.repeat(bodyBytes) });

  describe('quota', () => {
    test('limits: unlimited by default, set, remove, NOT_FOUND, invalid', () =>
      withCtx(async ({ repo, accountName }) => {
        const d = repo.directory;
        assert.deepEqual(await d.getQuota(accountName), { storage: null, messages: null });
        await d.setQuota(accountName, { storage: 500, messages: 10 });
        assert.deepEqual(await d.getQuota(accountName), { storage: 500, messages: 10 });
        await d.setQuota(accountName, { storage: null, messages: 0 });
        assert.deepEqual(await d.getQuota(accountName), { storage: null, messages: 0 });
        await rejects(d.getQuota(uniqueName('nobody')), 'NOT_FOUND');
        await rejects(d.setQuota(uniqueName('nobody'), { storage: 1, messages: 1 }), 'NOT_FOUND');
        await rejects(d.setQuota(accountName, { storage: -1, messages: null }), 'LIMIT');
        await rejects(d.setQuota(accountName, { storage: 1.5, messages: null }), 'LIMIT');
      }));

    test('usage is exact after append, copy, move, expunge and delete of a mailbox', () =>
      withCtx(async ({ store, accountId, append }) => {
        const inbox = await store.createMailbox(accountId, 'INBOX');
        const other = await store.createMailbox(accountId, 'Other');
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 0, messages: 0 });
        const a = msg('ua', 300);
        const b = msg('ub', 700);
        await append(inbox, [{ m: a }, { m: b, flags: ['\\Deleted'] }]);
        const size = a.raw.length + b.raw.length;
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: size, messages: 2 });
        await store.copyMessages(inbox.id, ALL, other.id); // a copy counts again (RFC822.SIZE sum)
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 2 * size, messages: 4 });
        await store.moveMessages(other.id, [{ start: 1, end: 1 }], inbox.id);
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 2 * size, messages: 4 });
        await store.expunge(inbox.id); // the \Deleted b in INBOX
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 2 * size - b.raw.length, messages: 3 });
        await store.deleteMailbox(accountId, 'Other');
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 2 * a.raw.length, messages: 2 });
      }));

    test('usage is per account', () =>
      withCtx(async ({ repo, store, accountId, append }) => {
        const inbox = await store.createMailbox(accountId, 'INBOX');
        await append(inbox, [{ m: msg('own') }]);
        const stranger = await repo.directory.createAccount(uniqueName('stranger'), 'x');
        assert.deepEqual(await store.quotaUsage(stranger.id), { storageBytes: 0, messages: 0 });
        assert.equal((await store.quotaUsage(accountId)).messages, 1);
      }));

    test('MESSAGE limit: a MULTIAPPEND that would exceed it fails whole and changes nothing', () =>
      withCtx(async ({ repo, store, accountId, accountName, append }) => {
        const inbox = await store.createMailbox(accountId, 'INBOX');
        await repo.directory.setQuota(accountName, { storage: null, messages: 3 });
        await append(inbox, [{ m: msg('m1') }, { m: msg('m2') }]);
        const before = await store.counts(inbox.id);
        await rejects(append(inbox, [{ m: msg('m3') }, { m: msg('m4') }]), 'OVER_QUOTA');
        const after = await store.counts(inbox.id);
        assert.equal(after.messages, 2);
        assert.equal(after.uidNext, before.uidNext);
        assert.equal(after.highestModseq, before.highestModseq);
        await append(inbox, [{ m: msg('m5') }]); // exactly at the limit is allowed
        await rejects(append(inbox, [{ m: msg('m6') }]), 'OVER_QUOTA');
        assert.equal((await store.quotaUsage(accountId)).messages, 3);
        await store.appendMessages(inbox.id, []); // adding nothing never fails
      }));

    test('STORAGE limit (KiB): append over it fails, exactly at it succeeds', () =>
      withCtx(async ({ repo, store, accountId, accountName, append }) => {
        const inbox = await store.createMailbox(accountId, 'INBOX');
        const big = msg('big', 3000);
        await repo.directory.setQuota(accountName, { storage: 2, messages: null }); // 2048 octets
        await rejects(append(inbox, [{ m: big }]), 'OVER_QUOTA');
        assert.deepEqual(await store.quotaUsage(accountId), { storageBytes: 0, messages: 0 });
        // A limit of exactly the message's size in KiB, rounded up, admits it.
        await repo.directory.setQuota(accountName, { storage: Math.ceil(big.raw.length / 1024), messages: null });
        await append(inbox, [{ m: big }]);
        await rejects(append(inbox, [{ m: msg('more', 1200) }]), 'OVER_QUOTA');
        await repo.directory.setQuota(accountName, { storage: null, messages: null });
        await append(inbox, [{ m: msg('free', 5000) }]);
      }));

    test('COPY over quota fails whole; MOVE within the account is allowed; expunge frees', () =>
      withCtx(async ({ repo, store, accountId, accountName, append }) => {
        const inbox = await store.createMailbox(accountId, 'INBOX');
        const other = await store.createMailbox(accountId, 'Other');
        await append(inbox, [{ m: msg('c1') }, { m: msg('c2') }, { m: msg('c3') }]);
        await repo.directory.setQuota(accountName, { storage: null, messages: 4 });
        const before = await store.counts(other.id);
        await rejects(store.copyMessages(inbox.id, ALL, other.id), 'OVER_QUOTA');
        const after = await store.counts(other.id);
        assert.deepEqual([after.messages, after.uidNext, after.highestModseq], [0, before.uidNext, before.highestModseq]);
        await store.copyMessages(inbox.id, [{ start: 1, end: 1 }], other.id); // 4: at the limit
        await repo.directory.setQuota(accountName, { storage: null, messages: 2 }); // now over a lowered limit
        const moved = await store.moveMessages(inbox.id, [{ start: 2, end: 2 }], other.id);
        assert.deepEqual(moved.sourceUids, [2]);
        assert.equal((await store.quotaUsage(accountId)).messages, 4);
        await store.storeFlags(inbox.id, ALL, 'add', ['\\Deleted']);
        await store.expunge(inbox.id);
        assert.equal((await store.quotaUsage(accountId)).messages, 2);
        await rejects(append(other, [{ m: msg('c4') }]), 'OVER_QUOTA');
      }));

    test('race: concurrent appends to several mailboxes over several connections never exceed the limit', async () => {
      const conns = await Promise.all([open(), open(), open()]);
      try {
        const [first] = conns;
        const name = uniqueName('race');
        const account = await first!.directory.createAccount(name, 'x');
        const boxes = await Promise.all(['INBOX', 'A', 'B'].map((n) => first!.store.createMailbox(account.id, n)));
        await first!.directory.setQuota(name, { storage: null, messages: 5 });
        const messages = Array.from({ length: 15 }, (_, i) => msg(`r${i}`));
        for (const m of messages) await putBlob(first!.blobs, m);
        const results = await Promise.allSettled(
          messages.map((m, i) => conns[i % 3]!.store.appendMessages(boxes[i % 3]!.id, [m.item()])),
        );
        const ok = results.filter((r) => r.status === 'fulfilled').length;
        for (const r of results)
          if (r.status === 'rejected') assert.ok(isMailError(r.reason, 'OVER_QUOTA'), String(r.reason));
        assert.equal(ok, 5);
        assert.deepEqual((await first!.store.quotaUsage(account.id)).messages, 5);
        let live = 0;
        for (const b of boxes) live += (await first!.store.counts(b.id)).messages;
        assert.equal(live, 5);
      } finally {
        for (const c of conns) await c.close();
      }
    });

    test('race: concurrent COPYs and appends under a STORAGE limit never exceed it', async () => {
      const conns = await Promise.all([open(), open(), open()]);
      try {
        const [first] = conns;
        const name = uniqueName('race-copy');
        const account = await first!.directory.createAccount(name, 'x');
        const boxes = await Promise.all(['INBOX', 'A', 'B', 'C'].map((n) => first!.store.createMailbox(account.id, n)));
        const seed = msg('seed', 900);
        await putBlob(first!.blobs, seed);
        await first!.store.appendMessages(boxes[0]!.id, [seed.item()]);
        const unit = seed.raw.length;
        // Room for exactly 4 more messages of that size (more than 1 KiB each, so 5 fit and 6 do not).
        const limitKiB = Math.ceil((5 * unit) / 1024);
        assert.equal(Math.floor((limitKiB * 1024) / unit), 5);
        await first!.directory.setQuota(name, { storage: limitKiB, messages: null });
        const attempts = Array.from({ length: 12 }, (_, i) => {
          const c = conns[i % 3]!;
          return i % 2 === 0
            ? c.store.copyMessages(boxes[0]!.id, [{ start: 1, end: 1 }], boxes[1 + (i % 3)]!.id)
            : c.store.appendMessages(boxes[1 + (i % 3)]!.id, [seed.item()]);
        });
        const results = await Promise.allSettled(attempts);
        for (const r of results)
          if (r.status === 'rejected') assert.ok(isMailError(r.reason, 'OVER_QUOTA'), String(r.reason));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 4);
        const usage = await first!.store.quotaUsage(account.id);
        assert.deepEqual(usage, { storageBytes: 5 * unit, messages: 5 });
        assert.ok(usage.storageBytes <= limitKiB * 1024);
      } finally {
        for (const c of conns) await c.close();
      }
    });
  });
}
