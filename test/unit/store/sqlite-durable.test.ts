// SQLite writes with fsync on: synchronous=NORMAL plus our own WAL fsync
// after each commit (group commit for concurrent writers).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteRepository } from '../../../src/store/sqlite/index.js';
import { indexMessage } from '../../../src/mime/indexer.js';

test('concurrent durable appends all commit, in UID order, and survive reopening', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-durable-'));
  const file = path.join(dir, 'petrel.db');
  try {
    const repo = openSqliteRepository(file, { fsync: true });
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const account = await repo.directory.createAccount('u', '{PLAIN}x');
    const mailbox = await repo.store.createMailbox(account.id, 'INBOX');
    const raw = Buffer.from('Subject: durable\r\n\r\nbody\r\n');
    const item = { blobId: 'a'.repeat(64), index: indexMessage(raw), flags: [], internalDate: new Date() };
    const results = await Promise.all(Array.from({ length: 20 }, () => repo.store.appendMessages(mailbox.id, [item])));
    assert.deepEqual(
      results.map((r) => r.uids[0]),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    await repo.store.storeFlags(mailbox.id, [{ start: 1, end: 20 }], 'add', ['\\Seen']);
    await repo.close();

    const again = openSqliteRepository(file, { fsync: true });
    const metas = await again.store.fetchMessages(mailbox.id, [{ start: 1, end: Infinity }]);
    assert.equal(metas.length, 20);
    assert.ok(metas.every((m) => m.flags.includes('\\Seen') && m.blobId === item.blobId));
    await again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
