// The STATUS counters of both backends: the migration that adds them counts
// the messages already there, and integrityCheck() (petrel check) reports a
// counter that disagrees with the messages. (That every change keeps them
// exact is in test/conformance/mailstore-counters.ts.)

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { MailStore } from '../../../src/mail/ports.js';
import type { MailboxId } from '../../../src/mail/types.js';
import { COUNTER_COLUMNS } from '../../../src/store/shared/counters.js';
import { openSqliteRepository } from '../../../src/store/sqlite/index.js';
import { COUNTERS_SQL } from '../../../src/store/sqlite/schema.js';
import { openPostgresRepository } from '../../../src/store/postgres/index.js';
import { COUNTERS_MIGRATION } from '../../../src/store/postgres/schema.js';
import { connectPostgres } from '../../../src/store/postgres/pg.js';
import { startPostgres } from '../../support/postgres.js';
import { testMessage } from '../../conformance/fixtures.js';

const TRIGGERS = ['messages_counters_insert', 'messages_counters_update', 'messages_counters_delete'];
const ALL = [{ start: 1, end: Infinity }];

/** Two mailboxes with messages in several states: seen, deleted, expunged. Returns their ids. */
async function fill(store: MailStore, accountId: number): Promise<MailboxId[]> {
  const a = await store.createMailbox(accountId, 'A');
  const b = await store.createMailbox(accountId, 'B');
  const m = (n: number) => testMessage({ subject: `m${n}`, body: 'x'.repeat(100 * n) }).item;
  await store.appendMessages(a.id, [m(1)(['\\Seen']), m(2)(['\\Deleted']), m(3)(), m(4)(['\\Seen', '\\Deleted'])]);
  await store.appendMessages(b.id, [m(5)(), m(6)(['\\Seen'])]);
  await store.expunge(a.id, [{ start: 2, end: 2 }]);
  await store.storeFlags(b.id, ALL, 'add', ['\\Deleted']);
  return [a.id, b.id];
}

const snapshot = async (store: MailStore, ids: MailboxId[]) => Promise.all(ids.map((id) => store.counts(id)));

test('sqlite: the migration counts existing messages; the integrity check finds a wrong counter', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-counters-'));
  const file = path.join(dir, 'petrel.db');
  try {
    let repo = openSqliteRepository(file, { fsync: false });
    const account = await repo.directory.createAccount('u', '{PLAIN}x');
    const ids = await fill(repo.store, account.id);
    const expected = await snapshot(repo.store, ids);
    assert.deepEqual(expected.map((c) => [c.messages, c.unseen, c.deleted]), [[3, 1, 1], [2, 1, 2]]);
    await repo.close();

    // The database as it was before the migration: no triggers, no columns. Then the migration's SQL.
    const raw = new Database(file);
    for (const t of TRIGGERS) raw.exec(`DROP TRIGGER ${t}`);
    for (const c of COUNTER_COLUMNS) raw.exec(`ALTER TABLE mailboxes DROP COLUMN ${c}`);
    raw.exec(COUNTERS_SQL);
    raw.close();
    repo = openSqliteRepository(file, { fsync: false });
    assert.deepEqual(await snapshot(repo.store, ids), expected);
    assert.deepEqual(await repo.store.integrityCheck(), []);
    await repo.close();

    new Database(file).exec(`UPDATE mailboxes SET unseen_count = 99 WHERE id = ${ids[0]}`);
    repo = openSqliteRepository(file, { fsync: false });
    assert.deepEqual(await repo.store.integrityCheck(), [`mailbox ${ids[0]} (A): unseen_count 99, actual 1`]);
    await repo.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('postgres: the migration counts existing messages; the integrity check finds a wrong counter', async () => {
  const pg = await startPostgres();
  after(() => pg.stop());
  const url = await pg.createDatabase();
  let repo = await openPostgresRepository(url, { max: 2 });
  const account = await repo.directory.createAccount('u', '{PLAIN}x');
  const ids = await fill(repo.store, account.id);
  const expected = await snapshot(repo.store, ids);
  assert.deepEqual(expected.map((c) => [c.messages, c.unseen, c.deleted]), [[3, 1, 1], [2, 1, 2]]);
  await repo.close();

  const sql = connectPostgres(url, { max: 1 });
  try {
    await sql.begin(async (tx) => {
      for (const t of TRIGGERS) await tx.unsafe(`DROP TRIGGER ${t} ON messages`);
      await tx.unsafe(`DROP FUNCTION petrel_counters_insert, petrel_counters_update, petrel_counters_delete`);
      for (const c of COUNTER_COLUMNS) await tx.unsafe(`ALTER TABLE mailboxes DROP COLUMN ${c}`);
      await tx.unsafe(COUNTERS_MIGRATION.sql);
    });
    repo = await openPostgresRepository(url, { max: 2 });
    assert.deepEqual(await snapshot(repo.store, ids), expected);
    assert.deepEqual(await repo.store.integrityCheck(), []);
    await sql`UPDATE mailboxes SET total_size = total_size + 1 WHERE id = ${ids[1]!}`;
    const size = expected[1]!.size;
    assert.deepEqual(await repo.store.integrityCheck(), [`mailbox ${ids[1]} (B): total_size ${size + 1}, actual ${size}`]);
    await repo.close();
  } finally {
    await sql.end();
  }
});
