// ACL (RFC 4314) and directory-registry part of the conformance suite: ACL
// entries per mailbox, kept across RENAME, dropped by DELETE (also when a
// \Noselect placeholder stays), the lookup of mailboxes shared with an
// identifier; accounts' repositories, adoptAccount and the repository registry.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from './fixtures.js';
import { rejects, type Ctx } from './mailstore-suite.js';

export function mailStoreAclConformance(withCtx: (fn: (c: Ctx) => Promise<void>) => Promise<void>): void {
  describe('acl', () => {
    test('set, replace, list in identifier order, remove; NOT_FOUND for a missing mailbox', () =>
      withCtx(async ({ store, accountId }) => {
        const box = await store.createMailbox(accountId, uniqueName('Team'));
        assert.deepEqual(await store.getAcl(box.id), []);
        await store.setAcl(box.id, 'zoe', 'lr');
        await store.setAcl(box.id, 'anyone', 'l');
        await store.setAcl(box.id, 'zoe', 'lrswi');
        assert.deepEqual(await store.getAcl(box.id), [
          { identifier: 'anyone', rights: 'l' },
          { identifier: 'zoe', rights: 'lrswi' },
        ]);
        await store.setAcl(box.id, 'anyone', null);
        await store.setAcl(box.id, 'nobody', '');
        assert.deepEqual(await store.getAcl(box.id), [{ identifier: 'zoe', rights: 'lrswi' }]);
        await rejects(store.setAcl(987654321, 'zoe', 'l'), 'NOT_FOUND');
      }));

    test('RENAME keeps the ACL; DELETE drops it, also when a \\Noselect placeholder stays', () =>
      withCtx(async ({ store, accountId }) => {
        const base = uniqueName('Acl');
        const box = await store.createMailbox(accountId, base);
        await store.createMailbox(accountId, `${base}/child`);
        await store.setAcl(box.id, 'zoe', 'lr');
        await store.renameMailbox(accountId, base, `${base}2`);
        assert.deepEqual(await store.getAcl(box.id), [{ identifier: 'zoe', rights: 'lr' }]);
        await store.deleteMailbox(accountId, `${base}2`);
        const placeholder = await store.getMailbox(accountId, `${base}2`);
        assert.equal(placeholder?.selectable, false);
        assert.deepEqual(await store.getAcl(box.id), []);
        // Re-creating the name does not bring the old ACL back.
        const again = await store.createMailbox(accountId, `${base}2`);
        assert.deepEqual(await store.getAcl(again.id), []);
      }));

    test("createMailbox with aclFrom gets that mailbox's ACL, also when it re-creates a \\Noselect placeholder", () =>
      withCtx(async ({ store, accountId }) => {
        const base = uniqueName('Inherit');
        const parent = await store.createMailbox(accountId, base);
        await store.setAcl(parent.id, 'zoe', 'lrk');
        await store.setAcl(parent.id, 'anyone', 'l');
        const child = await store.createMailbox(accountId, `${base}/child`, { aclFrom: parent.id, specialUse: '\\Archive' });
        const inherited = [
          { identifier: 'anyone', rights: 'l' },
          { identifier: 'zoe', rights: 'lrk' },
        ];
        assert.deepEqual(await store.getAcl(child.id), inherited);
        assert.equal(child.specialUse, '\\Archive');
        assert.deepEqual(await store.getAcl(parent.id), inherited, 'the source keeps its own');
        // A placeholder made selectable again (its ACL went with DELETE).
        await store.createMailbox(accountId, `${base}/child/grandchild`);
        await store.deleteMailbox(accountId, `${base}/child`);
        const again = await store.createMailbox(accountId, `${base}/child`, { aclFrom: parent.id });
        assert.equal(again.id, child.id);
        assert.deepEqual(await store.getAcl(again.id), inherited);
        // Without aclFrom, none; a source without entries gives none.
        const plain = await store.createMailbox(accountId, `${base}/plain`);
        assert.deepEqual(await store.getAcl(plain.id), []);
        const fromBare = await store.createMailbox(accountId, `${base}/plain/sub`, { aclFrom: plain.id });
        assert.deepEqual(await store.getAcl(fromBare.id), []);
      }));

    test('mailboxesWithAcl finds the mailboxes with an entry for any identifier, with their whole ACL', () =>
      withCtx(async ({ store, accountId }) => {
        const user = uniqueName('reader');
        const a = await store.createMailbox(accountId, uniqueName('SharedA'));
        const b = await store.createMailbox(accountId, uniqueName('SharedB'));
        const c = await store.createMailbox(accountId, uniqueName('Private'));
        await store.setAcl(a.id, user, 'lr');
        await store.setAcl(a.id, `-${user}`, 'r');
        await store.setAcl(b.id, 'anyone', 'l');
        await store.setAcl(c.id, uniqueName('someone-else'), 'lr');
        const found = await store.mailboxesWithAcl([user, 'anyone']);
        const mine = found.filter((f) => [a.id, b.id, c.id].includes(f.mailbox.id));
        assert.deepEqual(
          mine.map((f) => [f.mailbox.name, f.acl]).sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
          [
            [a.name, [{ identifier: `-${user}`, rights: 'r' }, { identifier: user, rights: 'lr' }]],
            [b.name, [{ identifier: 'anyone', rights: 'l' }]],
          ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
        );
        assert.equal(mine.every((f) => f.mailbox.accountId === accountId), true);
      }));
  });

  describe('directory: repositories', () => {
    test('accounts are in the default repository unless told; adoptAccount copies one; registry of repositories', () =>
      withCtx(async ({ repo, store }) => {
        const d = repo.directory;
        const name = uniqueName('repo-user');
        const created = await d.createAccount(name, 'x');
        assert.equal(created.repository, 'default');
        await rejects(d.createAccount(uniqueName('elsewhere'), 'x', { repository: uniqueName('missing') }), 'NOT_FOUND');

        const entry = { name: uniqueName('r').replace(/[^A-Za-z0-9._-]/g, '-'), url: 'postgres://db.example/petrel' };
        await d.addRepository(entry);
        await rejects(d.addRepository(entry), 'ALREADY_EXISTS');
        await rejects(d.addRepository({ name: 'default', url: entry.url }), 'INVALID_NAME');
        await rejects(d.addRepository({ name: 'bad name', url: entry.url }), 'INVALID_NAME');
        await rejects(d.addRepository({ name: uniqueName('x').replace(/[^A-Za-z0-9._-]/g, '-'), url: 'mysql://x' }), 'INVALID_NAME');
        assert.ok((await d.listRepositories()).some((e) => e.name === entry.name && e.url === entry.url));
        const there = await d.createAccount(uniqueName('there'), 'x', { repository: entry.name });
        assert.equal(there.repository, entry.name);

        // What the repository's own database records for an account of another directory.
        const adopted = { id: created.id + 100000, name: uniqueName('adopted'), repository: entry.name };
        await d.adoptAccount(adopted);
        await d.adoptAccount(adopted); // again: nothing changes
        const found = await d.getAccount(adopted.id);
        assert.equal(found?.name, adopted.name);
        assert.equal(found?.repository, entry.name);
        // It can own mailboxes.
        const box = await store.createMailbox(adopted.id, 'INBOX');
        assert.equal(box.accountId, adopted.id);
      }));
  });
}
