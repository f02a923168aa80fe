// The MailStore + Directory conformance suite, run unchanged against every
// backend. `open()` must return a NEW connection to the SAME repository each
// time it is called (so reopening and several concurrent connections can be
// tested); tests isolate themselves by creating their own account.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailError, type MailErrorCode } from '../../src/mail/errors.js';
import type { BlobStore, Directory, MailStore } from '../../src/mail/ports.js';
import type { AccountId, MailboxInfo } from '../../src/mail/types.js';
import { putBlob, testMessage, uniqueName, type TestMessage } from './fixtures.js';
import { mailStoreSearchConformance } from './mailstore-search.js';
import { mailStoreSearchIndexConformance } from './mailstore-search-index.js';
import { mailStoreSearchCasemapConformance } from './mailstore-search-casemap.js';
import { mailStoreQuotaConformance } from './mailstore-quota.js';
import { mailStoreReplaceConformance } from './mailstore-replace.js';
import { mailStoreMetadataConformance } from './mailstore-metadata.js';
import { mailStoreAclConformance } from './mailstore-acl.js';
import { mailStoreFlagListingConformance } from './mailstore-flag-listing.js';
import { mailStoreCountersConformance } from './mailstore-counters.js';

export interface RepositoryHandle {
  store: MailStore;
  directory: Directory;
  blobs?: BlobStore;
  /**
   * Optional: resolves once every read path has seen the writes made so far
   * (a read replica has replayed them). Immutable reads (a blob's index) may
   * be served by any replica that has the row, so a deletion is only seen
   * there once it is replayed.
   */
  settle?(): Promise<void>;
  close(): Promise<void>;
}
export type OpenRepository = () => Promise<RepositoryHandle>;

export interface Ctx {
  repo: RepositoryHandle;
  store: MailStore;
  accountId: AccountId;
  accountName: string;
  /** Stores the blob (if the backend has a BlobStore) and appends. */
  append(mailbox: MailboxInfo, messages: Array<{ m: TestMessage; flags?: string[]; date?: Date }>): Promise<number[]>;
}

export async function rejects(p: Promise<unknown>, code: MailErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMailError(err, code), `expected MailError ${code}, got ${String(err)}`);
    return true;
  });
}

export function makeCtxFactory(open: OpenRepository): { withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void> } {
  return {
    withCtx: async (fn) => {
      const repo = await open();
      try {
        const accountName = uniqueName('user');
        const account = await repo.directory.createAccount(accountName, '{PLAIN}x');
        const ctx: Ctx = {
          repo,
          store: repo.store,
          accountId: account.id,
          accountName,
          append: async (mailbox, messages) => {
            for (const { m } of messages) await putBlob(repo.blobs, m);
            const r = await repo.store.appendMessages(
              mailbox.id,
              messages.map(({ m, flags, date }) => m.item(flags, date)),
            );
            return r.uids;
          },
        };
        await fn(ctx);
      } finally {
        await repo.close();
      }
    },
  };
}

const ALL = [{ start: 1, end: Infinity }];

export function mailStoreConformance(name: string, open: OpenRepository): void {
  const { withCtx } = makeCtxFactory(open);
  const msg = (n: number) => testMessage({ subject: `message ${n}`, body: `body ${n}` });

  describe(`MailStore conformance: ${name}`, () => {
    after(async () => {
      const repo = await open();
      try {
        assert.deepEqual(await repo.store.integrityCheck(), [], 'integrity check after the whole suite');
      } finally {
        await repo.close();
      }
    });

    describe('directory', () => {
      test('accounts: create, find, duplicate, password, disable, delete', async () => {
        const repo = await open();
        try {
          const d = repo.directory;
          const name = uniqueName('acct');
          const a = await d.createAccount(name, 'hash1');
          assert.equal(a.name, name);
          assert.equal(a.disabled, false);
          await rejects(d.createAccount(name, 'other'), 'ALREADY_EXISTS');
          assert.deepEqual((await d.findAccount(name))?.id, a.id);
          assert.equal((await d.getAccount(a.id))?.name, name);
          await d.setPassword(name, 'hash2');
          assert.equal((await d.findAccount(name))?.passwordHash, 'hash2');
          await d.setDisabled(name, true);
          assert.equal((await d.findAccount(name))?.disabled, true);
          assert.ok((await d.listAccounts()).some((x) => x.name === name));
          await d.deleteAccount(name);
          assert.equal(await d.findAccount(name), null);
          await rejects(d.deleteAccount(name), 'NOT_FOUND');
          await rejects(d.setPassword(name, 'x'), 'NOT_FOUND');
          await rejects(d.setDisabled(name, false), 'NOT_FOUND');
        } finally {
          await repo.close();
        }
      });

      test('deleting an account removes its mailboxes and unreferences its blobs', () =>
        withCtx(async ({ repo, store, accountId, accountName, append }) => {
          const inbox = await store.createMailbox(accountId, 'INBOX');
          await store.createMailbox(accountId, 'Archive/2024');
          await store.setSubscribed(accountId, 'Archive', true);
          const m = testMessage({ subject: uniqueName('solo') });
          await append(inbox, [{ m }]);
          await repo.directory.deleteAccount(accountName);
          assert.deepEqual(await store.listMailboxes(accountId), []);
          assert.equal(await store.getMailboxById(inbox.id), null);
          assert.ok((await store.unreferencedBlobs(100000)).includes(m.blobId));
        }));
    });

    describe('mailboxes', () => {
      test('create, list, parents created implicitly, ALREADY_EXISTS', () =>
        withCtx(async ({ store, accountId }) => {
          const c = await store.createMailbox(accountId, 'a/b/c', { specialUse: '\\Archive' });
          assert.equal(c.name, 'a/b/c');
          assert.equal(c.specialUse, '\\Archive');
          assert.equal(c.selectable, true);
          assert.equal(c.uidNext, 1);
          const names = (await store.listMailboxes(accountId)).map((m) => [m.name, m.selectable]);
          assert.deepEqual(names, [
            ['a', true],
            ['a/b', true],
            ['a/b/c', true],
          ]);
          await rejects(store.createMailbox(accountId, 'a/b'), 'ALREADY_EXISTS');
          assert.equal((await store.getMailbox(accountId, 'a/b'))?.name, 'a/b');
          assert.equal((await store.getMailboxById(c.id))?.name, 'a/b/c');
          assert.equal(await store.getMailbox(accountId, 'nope'), null);
          await store.setSpecialUse(c.id, '\\Trash');
          assert.equal((await store.getMailboxById(c.id))?.specialUse, '\\Trash');
        }));

      test('INBOX is case-insensitive, other names are not', () =>
        withCtx(async ({ store, accountId }) => {
          const inbox = await store.createMailbox(accountId, 'inbox');
          assert.equal(inbox.name, 'INBOX');
          await rejects(store.createMailbox(accountId, 'InBox'), 'ALREADY_EXISTS');
          const child = await store.createMailbox(accountId, 'Inbox/child');
          assert.equal(child.name, 'INBOX/child');
          assert.equal((await store.getMailbox(accountId, 'inbox/child'))?.id, child.id);
          const foo = await store.createMailbox(accountId, 'Foo');
          const foo2 = await store.createMailbox(accountId, 'foo');
          assert.notEqual(foo.id, foo2.id);
          assert.equal(await store.getMailbox(accountId, 'FOO'), null);
        }));

      test('invalid names are refused', () =>
        withCtx(async ({ store, accountId }) => {
          await rejects(store.createMailbox(accountId, ''), 'INVALID_NAME');
          await rejects(store.createMailbox(accountId, 'a//b'), 'INVALID_NAME');
          await rejects(store.createMailbox(accountId, '/a'), 'INVALID_NAME');
        }));

      test('DELETE: leaf removed, parent with children becomes \\Noselect, INBOX refused', () =>
        withCtx(async ({ store, accountId, append }) => {
          await store.createMailbox(accountId, 'INBOX');
          await rejects(store.deleteMailbox(accountId, 'inbox'), 'CANNOT');
          await rejects(store.deleteMailbox(accountId, 'missing'), 'NOT_FOUND');
          const parent = (await store.getMailbox(accountId, 'p')) ?? (await store.createMailbox(accountId, 'p'));
          await store.createMailbox(accountId, 'p/child');
          await append(parent, [{ m: msg(1) }, { m: msg(2) }]);
          await store.deleteMailbox(accountId, 'p');
          const p = await store.getMailbox(accountId, 'p');
          assert.equal(p?.selectable, false);
          assert.deepEqual(
            (await store.changesSince(parent.id, 0)).expunged,
            [1, 2],
            'messages of a \\Noselect placeholder are expunged',
          );
          await rejects(store.deleteMailbox(accountId, 'p'), 'HAS_CHILDREN');
          await rejects(store.appendMessages(parent.id, [msg(3).item()]), 'NOT_SELECTABLE');
          await store.deleteMailbox(accountId, 'p/child');
          assert.equal(await store.getMailbox(accountId, 'p/child'), null);
          // Placeholder without children can now be deleted.
          await store.deleteMailbox(accountId, 'p');
          assert.equal(await store.getMailbox(accountId, 'p'), null);
        }));

      test('re-creating a \\Noselect placeholder makes it selectable with a new UIDVALIDITY', () =>
        withCtx(async ({ store, accountId }) => {
          const p = await store.createMailbox(accountId, 'q/r');
          const q = (await store.getMailbox(accountId, 'q'))!;
          await store.deleteMailbox(accountId, 'q');
          assert.equal((await store.getMailbox(accountId, 'q'))?.selectable, false);
          const again = await store.createMailbox(accountId, 'q');
          assert.equal(again.selectable, true);
          assert.notEqual(again.uidValidity, q.uidValidity);
          assert.ok(p.id > 0);
        }));

      test('UIDVALIDITY: new after delete + recreate, unique per mailbox', () =>
        withCtx(async ({ store, accountId }) => {
          const a = await store.createMailbox(accountId, 'v');
          const b = await store.createMailbox(accountId, 'w');
          assert.notEqual(a.uidValidity, b.uidValidity);
          await store.deleteMailbox(accountId, 'v');
          const a2 = await store.createMailbox(accountId, 'v');
          assert.ok(a2.uidValidity > a.uidValidity, 'strictly increasing');
          assert.ok(a2.uidValidity > 0 && a2.uidValidity < 2 ** 32);
        }));

      test('UIDVALIDITY and UIDs are stable across reopen', async () => {
        let mailboxId = 0;
        let uidValidity = 0;
        let accountId = 0;
        await withCtx(async ({ store, accountId: acc, append }) => {
          const mb = await store.createMailbox(acc, 'stable');
          await append(mb, [{ m: msg(1) }]);
          mailboxId = mb.id;
          uidValidity = mb.uidValidity;
          accountId = acc;
        });
        const repo = await open();
        try {
          const mb = await repo.store.getMailbox(accountId, 'stable');
          assert.equal(mb?.id, mailboxId);
          assert.equal(mb?.uidValidity, uidValidity);
          assert.equal(mb?.uidNext, 2);
          assert.deepEqual(await repo.store.listUids(mailboxId), [1]);
        } finally {
          await repo.close();
        }
      });

      test('RENAME: children move, UIDVALIDITY and UIDs kept, parents created, errors', () =>
        withCtx(async ({ store, accountId, append }) => {
          const src = await store.createMailbox(accountId, 'old');
          await store.createMailbox(accountId, 'old/kid');
          await store.createMailbox(accountId, 'taken');
          await append(src, [{ m: msg(1) }, { m: msg(2) }]);
          await rejects(store.renameMailbox(accountId, 'nope', 'x'), 'NOT_FOUND');
          await rejects(store.renameMailbox(accountId, 'old', 'taken'), 'ALREADY_EXISTS');
          await rejects(store.renameMailbox(accountId, 'old', 'inbox'), 'ALREADY_EXISTS');
          await store.renameMailbox(accountId, 'old', 'new/place');
          const moved = await store.getMailbox(accountId, 'new/place');
          assert.equal(moved?.id, src.id);
          assert.equal(moved?.uidValidity, src.uidValidity);
          assert.deepEqual(await store.listUids(src.id), [1, 2]);
          assert.ok(await store.getMailbox(accountId, 'new/place/kid'));
          assert.equal((await store.getMailbox(accountId, 'new'))?.selectable, true);
          assert.equal(await store.getMailbox(accountId, 'old'), null);
          assert.equal(await store.getMailbox(accountId, 'old/kid'), null);
        }));

      test('RENAME INBOX moves its messages to a new mailbox and leaves INBOX empty', () =>
        withCtx(async ({ store, accountId, append }) => {
          const inbox = await store.createMailbox(accountId, 'INBOX');
          await store.createMailbox(accountId, 'INBOX/sub');
          const m1 = msg(1);
          await append(inbox, [{ m: m1, flags: ['\\Seen'] }, { m: msg(2) }]);
          await store.renameMailbox(accountId, 'Inbox', 'Old Mail');
          const inbox2 = (await store.getMailbox(accountId, 'INBOX'))!;
          assert.equal(inbox2.id, inbox.id);
          assert.deepEqual(await store.listUids(inbox.id), []);
          assert.ok(await store.getMailbox(accountId, 'INBOX/sub'), 'children of INBOX stay');
          const old = (await store.getMailbox(accountId, 'Old Mail'))!;
          assert.notEqual(old.uidValidity, inbox.uidValidity);
          const metas = await store.fetchMessages(old.id, ALL);
          assert.equal(metas.length, 2);
          assert.equal(metas[0]!.blobId, m1.blobId);
          assert.deepEqual(metas[0]!.flags, ['\\Seen']);
        }));

      test('subscriptions are names that need not exist', () =>
        withCtx(async ({ store, accountId }) => {
          await store.setSubscribed(accountId, 'ghost', true);
          await store.setSubscribed(accountId, 'inbox', true);
          await store.setSubscribed(accountId, 'ghost', true);
          assert.deepEqual(await store.listSubscriptions(accountId), ['INBOX', 'ghost']);
          await store.setSubscribed(accountId, 'ghost', false);
          assert.deepEqual(await store.listSubscriptions(accountId), ['INBOX']);
        }));
    });

    messageTests(withCtx, open);
    mailStoreSearchConformance(withCtx);
    mailStoreSearchIndexConformance(withCtx);
    mailStoreSearchCasemapConformance(withCtx);
    mailStoreQuotaConformance(withCtx, open);
    mailStoreReplaceConformance(withCtx, open);
    mailStoreMetadataConformance(withCtx);
    mailStoreFlagListingConformance(withCtx);
    mailStoreCountersConformance(withCtx, open);
    mailStoreAclConformance(withCtx);
  });
}

function messageTests(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>, open: OpenRepository): void {
  const msg = (n: number) => testMessage({ subject: `message ${n}`, body: `body ${n}` });
  describe('messages', () => {
    test('append: UIDs strictly increasing, uidnext and highestmodseq move, getIndex(es)', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, 'box');
        const before = await store.counts(mb.id);
        const date = new Date('2023-05-06T07:08:09Z');
        const uids = await append(mb, [{ m: msg(1), flags: ['\\Seen', '$Work'], date }, { m: msg(2) }]);
        assert.deepEqual(uids, [1, 2]);
        const after1 = await store.counts(mb.id);
        assert.equal(after1.uidNext, 3);
        assert.ok(after1.highestModseq > before.highestModseq);
        const more = await append(mb, [{ m: msg(3) }]);
        assert.deepEqual(more, [3]);
        const metas = await store.fetchMessages(mb.id, ALL);
        assert.deepEqual(
          metas.map((m) => m.uid),
          [1, 2, 3],
        );
        assert.deepEqual(metas[0]!.flags, ['\\Seen', '$Work']);
        assert.equal(metas[0]!.internalDate.getTime(), date.getTime());
        assert.equal(metas[0]!.size, msg(1).raw.length);
        assert.equal(metas[0]!.expungedModseq, null);
        assert.ok(metas[2]!.modseq > metas[0]!.modseq);
        // Several at once (before any getIndex: from the database), an unknown blob left out.
        const some = await store.getIndexes([metas[2]!.blobId, metas[0]!.blobId, '0'.repeat(64), metas[0]!.blobId]);
        assert.deepEqual([...some.keys()].sort(), [metas[0]!.blobId, metas[2]!.blobId].sort());
        assert.equal(some.get(metas[2]!.blobId)!.envelope.subject, 'message 3');
        assert.equal((await store.getIndexes([])).size, 0);
        const index = await store.getIndex(metas[0]!.blobId);
        assert.equal(index.size, msg(1).raw.length);
        assert.equal(index.envelope.subject, 'message 1');
        await rejects(store.getIndex('0'.repeat(64)), 'NOT_FOUND');
        await rejects(store.appendMessages(987654321, [msg(1).item()]), 'NOT_FOUND');
      }));

    test('append is atomic: a bad item stores none', () =>
      withCtx(async ({ store, accountId }) => {
        const mb = await store.createMailbox(accountId, 'atomic');
        await assert.rejects(store.appendMessages(mb.id, [msg(1).item(), msg(2).item([], new Date(NaN))]));
        assert.deepEqual(await store.listUids(mb.id), []);
        assert.equal((await store.counts(mb.id)).uidNext, 1);
      }));

    test('many concurrent appends over several connections get unique increasing UIDs', () =>
      withCtx(async ({ store, accountId, repo }) => {
        const mb = await store.createMailbox(accountId, 'busy');
        const m = msg(7);
        await putBlobOnce(repo, m);
        const others = await Promise.all([open(), open(), open()]);
        try {
          const stores = [store, ...others.map((o) => o.store)];
          const results = await Promise.all(
            Array.from({ length: 40 }, (_, i) => stores[i % stores.length]!.appendMessages(mb.id, [m.item(), m.item()])),
          );
          const all = results.flatMap((r) => r.uids);
          assert.equal(new Set(all).size, 80);
          for (const r of results) assert.equal(r.uids[1], r.uids[0]! + 1, 'one append gets consecutive UIDs');
          assert.deepEqual(await store.listUids(mb.id), [...all].sort((a, b) => a - b));
          assert.equal(Math.max(...all), 80);
          assert.equal((await store.counts(mb.id)).uidNext, 81);
        } finally {
          await Promise.all(others.map((o) => o.close()));
        }
      }));

    test('flags: add, remove, replace; modseq only when changed; keywords deduped case-insensitively', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, 'flags');
        await append(mb, [{ m: msg(1) }, { m: msg(2), flags: ['\\Seen'] }]);
        const h0 = (await store.counts(mb.id)).highestModseq;
        const r1 = await store.storeFlags(mb.id, ALL, 'add', ['\\seen', '$Label1']);
        assert.deepEqual(
          r1.changed.map((c) => [c.uid, c.flags]),
          [
            [1, ['\\Seen', '$Label1']],
            [2, ['\\Seen', '$Label1']],
          ],
        );
        assert.ok(r1.highestModseq > h0);
        assert.equal(r1.changed[0]!.modseq, r1.highestModseq);
        const r2 = await store.storeFlags(mb.id, ALL, 'add', ['$label1', '\\Seen']);
        assert.deepEqual(r2.changed, [], 'no change, no modseq');
        assert.equal(r2.highestModseq, r1.highestModseq);
        const r3 = await store.storeFlags(mb.id, [{ start: 2, end: 2 }], 'remove', ['$LABEL1']);
        assert.deepEqual(r3.changed.map((c) => [c.uid, c.flags]), [[2, ['\\Seen']]]);
        const r4 = await store.storeFlags(mb.id, [{ start: 1, end: 1 }], 'replace', ['\\Flagged', '\\Recent', 'x', 'X']);
        assert.deepEqual(r4.changed[0]!.flags, ['\\Flagged', 'x']);
        const metas = await store.fetchMessages(mb.id, ALL);
        assert.equal(metas[0]!.modseq, r4.highestModseq);
        assert.equal(metas[1]!.modseq, r3.highestModseq);
      }));

    test('flags: UNCHANGEDSINCE reports modified messages and leaves them alone', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, 'condstore');
        await append(mb, [{ m: msg(1) }, { m: msg(2) }]);
        const base = (await store.counts(mb.id)).highestModseq;
        await store.storeFlags(mb.id, [{ start: 2, end: 2 }], 'add', ['\\Answered']);
        const r = await store.storeFlags(mb.id, ALL, 'add', ['\\Flagged'], base);
        assert.deepEqual(r.modified, [2]);
        assert.deepEqual(r.changed.map((c) => c.uid), [1]);
        const metas = await store.fetchMessages(mb.id, ALL);
        assert.deepEqual(metas[1]!.flags, ['\\Answered']);
      }));

    test('expunge: only \\Deleted, UID EXPUNGE restriction, expunged rows stay fetchable, tombstones after prune', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, 'expunge');
        await append(mb, [{ m: msg(1), flags: ['\\Deleted'] }, { m: msg(2) }, { m: msg(3), flags: ['\\Deleted'] }]);
        const since = (await store.counts(mb.id)).highestModseq;
        const r1 = await store.expunge(mb.id, [{ start: 3, end: 5 }]);
        assert.deepEqual(r1.uids, [3]);
        assert.ok(r1.highestModseq > since);
        const r2 = await store.expunge(mb.id);
        assert.deepEqual(r2.uids, [1]);
        const r3 = await store.expunge(mb.id);
        assert.deepEqual(r3.uids, []);
        assert.equal(r3.highestModseq, r2.highestModseq);
        assert.deepEqual(await store.listUids(mb.id), [2]);
        const metas = await store.fetchMessages(mb.id, ALL);
        assert.deepEqual(
          metas.map((m) => [m.uid, m.expungedModseq]),
          [
            [1, r2.highestModseq],
            [2, null],
            [3, r1.highestModseq],
          ],
        );
        const c = await store.counts(mb.id);
        assert.equal(c.messages, 1);
        assert.equal(c.deleted, 0);
        assert.deepEqual((await store.changesSince(mb.id, since)).expunged, [1, 3]);
        assert.deepEqual((await store.changesSince(mb.id, r1.highestModseq)).expunged, [1]);
        assert.deepEqual(await store.storeFlags(mb.id, [{ start: 1, end: 1 }], 'add', ['\\Seen']).then((r) => r.changed), []);
        const pruned = await store.pruneExpunged(new Date(Date.now() + 60_000));
        assert.ok(pruned >= 2);
        assert.deepEqual((await store.fetchMessages(mb.id, ALL)).map((m) => m.uid), [2]);
        const changes = await store.changesSince(mb.id, since);
        assert.deepEqual(changes.expunged, [1, 3], 'tombstones keep changesSince exact');
        assert.deepEqual(changes.changed, []);
        assert.equal((await store.counts(mb.id)).uidNext, 4);
      }));

    test('copy and move: COPYUID pairs, flags and internal date kept, move expunges the source', () =>
      withCtx(async ({ store, accountId, append }) => {
        const a = await store.createMailbox(accountId, 'src');
        const b = await store.createMailbox(accountId, 'dst');
        const date = new Date('2020-01-02T03:04:05Z');
        await append(b, [{ m: msg(9) }]);
        await append(a, [{ m: msg(1), flags: ['\\Flagged', 'kw'], date }, { m: msg(2) }, { m: msg(3) }]);
        const c = await store.copyMessages(a.id, [{ start: 3, end: 3 }, { start: 1, end: 1 }], b.id);
        assert.deepEqual(c.sourceUids, [1, 3]);
        assert.deepEqual(c.targetUids, [2, 3]);
        assert.equal(c.uidValidity, b.uidValidity);
        const copied = await store.fetchMessages(b.id, [{ start: 2, end: 2 }]);
        assert.deepEqual(copied[0]!.flags, ['\\Flagged', 'kw']);
        assert.equal(copied[0]!.internalDate.getTime(), date.getTime());
        assert.equal(copied[0]!.blobId, msg(1).blobId);
        const since = (await store.counts(a.id)).highestModseq;
        const mv = await store.moveMessages(a.id, [{ start: 2, end: Infinity }], b.id);
        assert.deepEqual(mv.sourceUids, [2, 3]);
        assert.deepEqual(mv.targetUids, [4, 5]);
        assert.deepEqual(mv.expunged.uids, [2, 3]);
        assert.deepEqual(await store.listUids(a.id), [1]);
        assert.deepEqual(await store.listUids(b.id), [1, 2, 3, 4, 5]);
        assert.deepEqual((await store.changesSince(a.id, since)).expunged, [2, 3]);
        const none = await store.copyMessages(a.id, [{ start: 50, end: 60 }], b.id);
        assert.deepEqual([none.sourceUids, none.targetUids], [[], []]);
        await rejects(store.copyMessages(a.id, [{ start: 1, end: 1 }], 987654321), 'NOT_FOUND');
      }));

    test('changesSince: new messages, flag changes, expunges', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, 'changes');
        await append(mb, [{ m: msg(1) }, { m: msg(2) }]);
        const s0 = (await store.counts(mb.id)).highestModseq;
        await append(mb, [{ m: msg(3) }]);
        await store.storeFlags(mb.id, [{ start: 1, end: 1 }], 'add', ['\\Seen', '\\Deleted']);
        const s1 = (await store.counts(mb.id)).highestModseq;
        const ch = await store.changesSince(mb.id, s0);
        assert.deepEqual(
          ch.changed.map((c) => [c.uid, c.flags]),
          [
            [1, ['\\Seen', '\\Deleted']],
            [3, []],
          ],
        );
        assert.equal(ch.highestModseq, s1);
        assert.equal(ch.uidNext, 4);
        assert.deepEqual(ch.expunged, []);
        await store.expunge(mb.id);
        const ch2 = await store.changesSince(mb.id, s1);
        assert.deepEqual(ch2.changed, []);
        assert.deepEqual(ch2.expunged, [1]);
        assert.deepEqual((await store.changesSince(mb.id, ch2.highestModseq)).expunged, []);
      }));

    test('counts: messages, unseen, deleted, size', () =>
      withCtx(async ({ store, accountId, append }) => {
        const mb = await store.createMailbox(accountId, 'counts');
        await append(mb, [{ m: msg(1), flags: ['\\Seen'] }, { m: msg(2), flags: ['\\Deleted'] }, { m: msg(3) }]);
        const c = await store.counts(mb.id);
        assert.deepEqual(
          { messages: c.messages, unseen: c.unseen, deleted: c.deleted, size: c.size, uidNext: c.uidNext },
          { messages: 3, unseen: 2, deleted: 1, size: msg(1).raw.length + msg(2).raw.length + msg(3).raw.length, uidNext: 4 },
        );
        assert.equal(c.uidValidity, mb.uidValidity);
      }));

    test('GC candidates: a blob is unreferenced only when no row (live or expunged) points at it', () =>
      withCtx(async ({ repo, store, accountId, append }) => {
        const a = await store.createMailbox(accountId, 'gc-a');
        const b = await store.createMailbox(accountId, 'gc-b');
        const m = testMessage({ subject: uniqueName('gc') });
        await append(a, [{ m, flags: ['\\Deleted'] }]);
        await store.copyMessages(a.id, ALL, b.id);
        const unref = async () => (await store.unreferencedBlobs(100000)).includes(m.blobId);
        await store.expunge(a.id);
        assert.equal(await unref(), false);
        await store.pruneExpunged(new Date(Date.now() + 60_000));
        assert.equal(await unref(), false, 'still in b');
        await store.storeFlags(b.id, ALL, 'add', ['\\Deleted']);
        await store.expunge(b.id);
        assert.equal(await unref(), false, 'expunged but not pruned rows still reference it');
        await store.pruneExpunged(new Date(Date.now() + 60_000));
        assert.equal(await unref(), true);
        // Appending the same content again references it again.
        await append(a, [{ m }]);
        assert.equal(await unref(), false);
        await store.forgetBlobs([m.blobId]);
        assert.equal((await store.getIndex(m.blobId)).size, m.raw.length, 'a referenced blob is not forgotten');
        await store.storeFlags(a.id, ALL, 'add', ['\\Deleted']);
        await store.expunge(a.id);
        await store.pruneExpunged(new Date(Date.now() + 60_000));
        await store.forgetBlobs([m.blobId]);
        assert.equal(await unref(), false);
        await repo.settle?.();
        await rejects(store.getIndex(m.blobId), 'NOT_FOUND');
        assert.deepEqual(await store.integrityCheck(), []);
      }));
  });
}

async function putBlobOnce(repo: RepositoryHandle, m: TestMessage): Promise<void> {
  await putBlob(repo.blobs, m);
}
