// METADATA part of the MailStore conformance suite (RFC 5464 annotations):
// server and mailbox entries, /private per user and /shared for all, DEPTH,
// case-insensitive names, limits checked all-or-nothing (also under
// concurrency), and annotations following RENAME / going with DELETE.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataEntry, MetadataLimits } from '../../src/mail/metadata.js';
import { uniqueName } from './fixtures.js';
import { rejects, type Ctx } from './mailstore-suite.js';

const LIMITS: MetadataLimits = { maxValueSize: 1024, maxEntries: 10 };
const b = (s: string) => Buffer.from(s);
const show = (entries: MetadataEntry[]) => entries.map((e) => [e.name, e.value.toString('latin1')]);

export function mailStoreMetadataConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>): void {
  describe('metadata (RFC 5464)', () => {
    test('mailbox entries: set, replace, get, remove with null; names are case-insensitive', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Notes');
        const t = { accountId, mailboxId: box.id };
        assert.deepEqual(await store.getMetadata(t, ['/private/comment', '/shared/comment']), []);
        await store.setMetadata(t, [
          { name: '/Private/Comment', value: b('mine') },
          { name: '/shared/comment', value: b('for all') },
        ], LIMITS);
        assert.deepEqual(show(await store.getMetadata(t, ['/PRIVATE/comment', '/shared/comment'])), [
          ['/private/comment', 'mine'],
          ['/shared/comment', 'for all'],
        ]);
        await store.setMetadata(t, [{ name: '/private/comment', value: b('changed') }], LIMITS);
        await store.setMetadata(t, [{ name: '/shared/comment', value: null }], LIMITS);
        assert.deepEqual(show(await store.getMetadata(t, ['/private/comment', '/shared/comment'])), [['/private/comment', 'changed']]);
        // Removing an entry that does not exist is not an error.
        await store.setMetadata(t, [{ name: '/shared/nothing', value: null }], LIMITS);
      }));

    test('values are octets: empty, CRLF, NUL and 8-bit survive unchanged', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Bin');
        const t = { accountId, mailboxId: box.id };
        const binary = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0xc3, 0xa9, 0]);
        await store.setMetadata(t, [
          { name: '/private/empty', value: Buffer.alloc(0) },
          { name: '/private/binary', value: binary },
        ], LIMITS);
        const got = await store.getMetadata(t, ['/private/empty', '/private/binary']);
        assert.deepEqual(got.map((e) => e.name), ['/private/binary', '/private/empty']);
        assert.ok(got[0]!.value.equals(binary));
        assert.equal(got[1]!.value.length, 0);
      }));

    test('/private values are per user, /shared values are one for all users', () =>
      withCtx(async ({ repo, store, accountId }) => {
        const other = await repo.directory.createAccount(uniqueName('other'), '{PLAIN}x');
        const box = await store.createMailbox(accountId, 'Team');
        const mine = { accountId, mailboxId: box.id };
        const theirs = { accountId: other.id, mailboxId: box.id };
        await store.setMetadata(mine, [{ name: '/private/comment', value: b('mine') }, { name: '/shared/comment', value: b('s') }], LIMITS);
        await store.setMetadata(theirs, [{ name: '/private/comment', value: b('theirs') }], LIMITS);
        assert.deepEqual(show(await store.getMetadata(mine, ['/private/comment', '/shared/comment'])), [
          ['/private/comment', 'mine'],
          ['/shared/comment', 's'],
        ]);
        assert.deepEqual(show(await store.getMetadata(theirs, ['/private/comment', '/shared/comment'])), [
          ['/private/comment', 'theirs'],
          ['/shared/comment', 's'],
        ]);
        // Deleting the other account removes its /private values only.
        await repo.directory.deleteAccount(other.name);
        assert.deepEqual(show(await store.getMetadata(mine, ['/private/comment'])), [['/private/comment', 'mine']]);
      }));

    test('server entries (mailboxId null) are apart from mailbox entries', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'INBOX');
        const server = { accountId, mailboxId: null };
        await store.setMetadata(server, [{ name: '/private/vendor/example/theme', value: b('dark') }], LIMITS);
        assert.deepEqual(show(await store.getMetadata(server, ['/private/vendor/example/theme'])), [['/private/vendor/example/theme', 'dark']]);
        assert.deepEqual(await store.getMetadata({ accountId, mailboxId: box.id }, ['/private/vendor/example/theme']), []);
      }));

    test('DEPTH 0, 1 and infinity', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Filters');
        const t = { accountId, mailboxId: box.id };
        await store.setMetadata(t, [
          { name: '/private/filters/values', value: b('v') },
          { name: '/private/filters/values/small', value: b('SMALLER 5000') },
          { name: '/private/filters/values/boss', value: b('FROM boss') },
          { name: '/private/filters/values/boss/deep', value: b('deeper') },
          { name: '/private/filters/valuesx', value: b('not below') },
          { name: '/shared/filters/values/shared', value: b('other scope') },
        ], LIMITS);
        const get = async (depth: 0 | 1 | 'infinity') => (await store.getMetadata(t, ['/private/filters/values'], { depth })).map((e) => e.name);
        assert.deepEqual(await get(0), ['/private/filters/values']);
        assert.deepEqual(await get(1), ['/private/filters/values', '/private/filters/values/boss', '/private/filters/values/small']);
        assert.deepEqual(await get('infinity'), [
          '/private/filters/values',
          '/private/filters/values/boss',
          '/private/filters/values/boss/deep',
          '/private/filters/values/small',
        ]);
        // The scope prefix alone with DEPTH infinity lists the whole scope.
        assert.deepEqual((await store.getMetadata(t, ['/shared'], { depth: 'infinity' })).map((e) => e.name), ['/shared/filters/values/shared']);
      }));

    test('many names in one request (several statements), overlapping ones listed once', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Many');
        const t = { accountId, mailboxId: box.id };
        const set = Array.from({ length: 30 }, (_, i) => ({ name: `/shared/m/${String(i).padStart(3, '0')}`, value: b(String(i)) }));
        await store.setMetadata(t, set, { maxValueSize: 10, maxEntries: 100 });
        const names = [...Array.from({ length: 250 }, (_, i) => `/shared/m/${String(i).padStart(3, '0')}`), '/shared', '/SHARED/m/001'];
        const got = await store.getMetadata(t, names, { depth: 'infinity' });
        assert.deepEqual(got.map((e) => e.name), set.map((e) => e.name));
        assert.deepEqual((await store.getMetadata(t, names)).length, 30);
      }));

    test('limits: value size and entry count, all or nothing', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Limited');
        const t = { accountId, mailboxId: box.id };
        const limits = { maxValueSize: 8, maxEntries: 3 };
        await store.setMetadata(t, [{ name: '/private/a', value: b('12345678') }], limits); // exactly the limit
        await rejects(store.setMetadata(t, [{ name: '/private/b', value: b('1') }, { name: '/private/c', value: b('123456789') }], limits), 'TOO_BIG');
        assert.deepEqual((await store.getMetadata(t, ['/private'], { depth: 'infinity' })).map((e) => e.name), ['/private/a']);
        // /shared entries and the user's /private ones count together on a mailbox.
        await store.setMetadata(t, [{ name: '/shared/b', value: b('1') }, { name: '/private/c', value: b('1') }], limits);
        await rejects(store.setMetadata(t, [{ name: '/private/d', value: b('1') }], limits), 'LIMIT');
        await rejects(store.setMetadata(t, [{ name: '/private/a', value: b('x') }, { name: '/shared/e', value: b('1') }], limits), 'LIMIT');
        assert.deepEqual(show(await store.getMetadata(t, ['/private/a'])), [['/private/a', '12345678']]);
        // Replacing and removing is allowed at the limit, and a removal makes room in the same command.
        await store.setMetadata(t, [{ name: '/private/a', value: b('y') }], limits);
        await store.setMetadata(t, [{ name: '/private/a', value: null }, { name: '/private/d', value: b('1') }], limits);
        assert.deepEqual((await store.getMetadata(t, ['/private', '/shared'], { depth: 'infinity' })).map((e) => e.name), [
          '/private/c',
          '/private/d',
          '/shared/b',
        ]);
      }));

    test('concurrent writers never exceed the entry limit', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Race');
        const t = { accountId, mailboxId: box.id };
        const limits = { maxValueSize: 64, maxEntries: 5 };
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) => store.setMetadata(t, [{ name: `/shared/n${i}`, value: b(String(i)) }], limits)),
        );
        const fulfilled = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(fulfilled, 5);
        assert.equal((await store.getMetadata(t, ['/shared'], { depth: 'infinity' })).length, 5);
      }));

    test('invalid names and missing targets', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Names');
        const t = { accountId, mailboxId: box.id };
        await rejects(store.setMetadata(t, [{ name: '/other/x', value: b('1') }], LIMITS), 'INVALID_NAME');
        await rejects(store.setMetadata(t, [{ name: '/private', value: b('1') }], LIMITS), 'INVALID_NAME');
        await rejects(store.getMetadata(t, ['/comment']), 'INVALID_NAME');
        await rejects(store.getMetadata({ accountId, mailboxId: box.id + 1_000_000 }, ['/private/comment']), 'NOT_FOUND');
        await rejects(store.setMetadata({ accountId, mailboxId: box.id + 1_000_000 }, [{ name: '/private/x', value: b('1') }], LIMITS), 'NOT_FOUND');
      }));

    test('RENAME keeps annotations, DELETE removes them (also when a \\Noselect placeholder stays)', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, 'Old');
        await store.setMetadata({ accountId, mailboxId: box.id }, [{ name: '/private/comment', value: b('keep') }], LIMITS);
        await store.renameMailbox(accountId, 'Old', 'New');
        const renamed = (await store.getMailbox(accountId, 'New'))!;
        assert.deepEqual(show(await store.getMetadata({ accountId, mailboxId: renamed.id }, ['/private/comment'])), [['/private/comment', 'keep']]);

        await store.createMailbox(accountId, 'New/Child');
        await store.deleteMailbox(accountId, 'New'); // becomes \Noselect
        const placeholder = (await store.getMailbox(accountId, 'New'))!;
        assert.equal(placeholder.selectable, false);
        assert.deepEqual(await store.getMetadata({ accountId, mailboxId: placeholder.id }, ['/private/comment']), []);

        const gone = await store.createMailbox(accountId, 'Gone');
        await store.setMetadata({ accountId, mailboxId: gone.id }, [{ name: '/shared/comment', value: b('x') }], LIMITS);
        await store.deleteMailbox(accountId, 'Gone');
        const again = await store.createMailbox(accountId, 'Gone');
        assert.deepEqual(await store.getMetadata({ accountId, mailboxId: again.id }, ['/shared/comment']), []);
      }));

    test('RENAME INBOX copies its annotations and INBOX keeps them', () =>
      withCtx(async ({ store, accountId }) => {
        const inbox = await store.createMailbox(accountId, 'INBOX');
        await store.setMetadata({ accountId, mailboxId: inbox.id }, [
          { name: '/private/comment', value: b('p') },
          { name: '/shared/comment', value: b('s') },
        ], LIMITS);
        await store.renameMailbox(accountId, 'INBOX', 'Old Inbox');
        const moved = (await store.getMailbox(accountId, 'Old Inbox'))!;
        for (const id of [inbox.id, moved.id])
          assert.deepEqual(show(await store.getMetadata({ accountId, mailboxId: id }, ['/private/comment', '/shared/comment'])), [
            ['/private/comment', 'p'],
            ['/shared/comment', 's'],
          ]);
      }));
  });
}
