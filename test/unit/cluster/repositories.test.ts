// Repositories' account methods keep the account rows of a non-default
// repository (Repository.accounts, made by adoptAccount) in step with the
// directory: creation, quota, deletion. Two SQLite databases stand for the
// default repository and another one (the registry opens "b" by its entry).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RepositoryRegistry } from '../../../src/cluster/repositories.js';
import { isMailError } from '../../../src/mail/errors.js';
import type { Repository } from '../../../src/mail/repository.js';
import { openSqliteRepository, type SqliteRepository } from '../../../src/store/sqlite/index.js';

type Closable = Repository & { close(): Promise<void> };

/** Only the store and the account rows are used here. */
function asRepository(name: string, repo: SqliteRepository): Closable {
  return { name, store: repo.store, accounts: repo.directory, close: () => repo.close() } as unknown as Closable;
}

describe('Repositories: the account rows of a non-default repository follow the directory', () => {
  let dir: string;
  let registry: RepositoryRegistry;
  let b: Repository;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-repos-'));
    const primary = openSqliteRepository(path.join(dir, 'default.db'), { fsync: false });
    const other = openSqliteRepository(path.join(dir, 'b.db'), { fsync: false });
    await primary.directory.addRepository({ name: 'b', url: 'postgres://unused/b' });
    registry = new RepositoryRegistry(primary.directory, asRepository('default', primary), async (entry) => asRepository(entry.name, other));
    b = await registry.byName('b');
  });
  after(async () => {
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('createAccount in another repository adopts the account there; in the default one there is one row', async () => {
    const alice = await registry.createAccount('alice', '{PLAIN}x', b);
    assert.equal(alice.repository, 'b');
    assert.equal((await b.accounts.getAccount(alice.id))?.name, 'alice');
    const carol = await registry.createAccount('carol', '{PLAIN}x', registry.primary);
    assert.equal(carol.repository, 'default');
    assert.equal(await b.accounts.getAccount(carol.id), null);
  });

  test('setQuota reaches the directory and the account row of its repository', async () => {
    const alice = (await registry.directory.findAccount('alice'))!;
    const limits = { storage: 1024, messages: 10 };
    await registry.setQuota(alice, limits);
    assert.deepEqual(await registry.directory.getQuota('alice'), limits);
    assert.deepEqual(await b.accounts.getQuota('alice'), limits);
  });

  test('adoptAccount copies the row with the quota given; nothing for the default repository', async () => {
    const dave = await registry.createAccount('dave', '{PLAIN}x', registry.primary);
    await registry.adoptAccount(dave, registry.primary, { storage: 1, messages: 1 });
    assert.deepEqual(await registry.directory.getQuota('dave'), { storage: null, messages: null });
    await registry.adoptAccount({ ...dave, repository: 'b' }, b, { storage: 2048, messages: null });
    assert.deepEqual(await b.accounts.getQuota('dave'), { storage: 2048, messages: null });
    await registry.adoptAccount(dave, b); // again: nothing changes
    assert.deepEqual(await b.accounts.getQuota('dave'), { storage: 2048, messages: null });
  });

  test('deleteAccount removes the row (and the mailboxes) in its repository, then the directory entry', async () => {
    const alice = (await registry.directory.findAccount('alice'))!;
    await b.store.createMailbox(alice.id, 'INBOX');
    await registry.deleteAccount(alice);
    assert.equal(await registry.directory.findAccount('alice'), null);
    assert.equal(await b.accounts.getAccount(alice.id), null);
    assert.deepEqual(await b.store.listMailboxes(alice.id), []);
    // An account whose row there is already gone (an interrupted deletion) is still deleted.
    const erin = await registry.createAccount('erin', '{PLAIN}x', b);
    await b.accounts.deleteAccount('erin');
    await registry.deleteAccount(erin);
    assert.equal(await registry.directory.findAccount('erin'), null);
    await assert.rejects(registry.deleteAccount(erin), (err) => isMailError(err, 'NOT_FOUND'));
  });
});
