// SqlDb.writeDurable(): the calls made in one turn of the event loop share a
// transaction, each in its own savepoint: results in call order, a failing
// call loses only its own changes, a failure of the whole transaction
// rejects every call, and a batch is bounded.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { SqlDb } from '../../../src/store/sqlite/db.js';
import { MailError } from '../../../src/mail/errors.js';

describe('SqlDb write batches', () => {
  let dir: string;
  let file: string;
  let raw: Database.Database;
  let db: SqlDb;
  let commits = 0;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-batch-'));
    file = path.join(dir, 'batch.db');
    raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.pragma('busy_timeout = 0');
    raw.exec(`CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`);
    db = new SqlDb(raw, { walFile: `${file}-wal` });
    db.afterCommit = () => commits++;
  });
  after(() => {
    db.closeWal();
    raw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const insert = (k: string, v: number) => () => {
    db.stmt(`INSERT INTO t (k, v) VALUES (?, ?)`).run(k, v);
    return k;
  };
  const rows = () => Object.fromEntries((raw.prepare(`SELECT k, v FROM t ORDER BY k`).raw(true).all() as Array<[string, number]>).map(([k, v]) => [k, v]));

  test('calls of one turn commit once, answered in order', async () => {
    raw.exec(`DELETE FROM t`);
    commits = 0;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => db.writeDurable(insert(`a${i}`, i))));
    assert.deepEqual(results, Array.from({ length: 10 }, (_, i) => `a${i}`));
    assert.equal(commits, 1, 'one transaction');
    assert.equal(Object.keys(rows()).length, 10);
  });

  test('a failing call rolls back its own changes only', async () => {
    raw.exec(`DELETE FROM t`);
    const outcomes = await Promise.allSettled([
      db.writeDurable(insert('b1', 1)),
      db.writeDurable(() => {
        db.stmt(`INSERT INTO t (k, v) VALUES ('b2', 2)`).run();
        throw new MailError('NOT_FOUND', 'no such thing');
      }),
      db.writeDurable(() => {
        db.stmt(`INSERT INTO t (k, v) VALUES ('b3', 3)`).run();
        db.stmt(`INSERT INTO t (k, v) VALUES ('b1', 9)`).run(); // primary key conflict
      }),
      // A nested transaction inside a batched call.
      db.writeDurable(() => db.write(insert('b4', 4))),
      db.writeDurable(insert('b5', 5)),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof MailError);
    assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.deepEqual(rows(), { b1: 1, b4: 4, b5: 5 });
  });

  test('when the transaction cannot begin, every call of the batch is rejected; the next batch works', async () => {
    raw.exec(`DELETE FROM t`);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const outcomes = await Promise.allSettled([db.writeDurable(insert('c1', 1)), db.writeDurable(insert('c2', 2))]);
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected');
        assert.equal(((o as PromiseRejectedResult).reason as MailError).code, 'UNAVAILABLE');
      }
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.deepEqual(await Promise.all([db.writeDurable(insert('c3', 3)), db.writeDurable(insert('c4', 4))]), ['c3', 'c4']);
    assert.deepEqual(rows(), { c3: 3, c4: 4 });
  });

  test('a batch is bounded: the calls beyond it go to the next transaction', async () => {
    raw.exec(`DELETE FROM t`);
    commits = 0;
    await Promise.all(Array.from({ length: 150 }, (_, i) => db.writeDurable(insert(`d${String(i).padStart(3, '0')}`, i))));
    assert.equal(commits, 3, '64 + 64 + 22');
    assert.equal(Object.keys(rows()).length, 150);
  });

  test('a call alone in its turn runs as a plain transaction', async () => {
    raw.exec(`DELETE FROM t`);
    await assert.rejects(
      db.writeDurable(() => {
        db.stmt(`INSERT INTO t (k, v) VALUES ('e1', 1)`).run();
        throw new MailError('NOT_FOUND', 'gone');
      }),
      MailError,
    );
    assert.equal(await db.writeDurable(insert('e2', 2)), 'e2');
    assert.deepEqual(rows(), { e2: 2 });
  });
});
