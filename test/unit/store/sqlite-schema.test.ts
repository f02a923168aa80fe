import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { isMailError } from '../../../src/mail/errors.js';
import { openSqliteRepository, SCHEMA_VERSION } from '../../../src/store/sqlite/index.js';

test('schema: migrated on open, pragmas set, a newer database is refused with a clear error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-schema-'));
  const file = path.join(dir, 'petrel.db');
  try {
    const repo = openSqliteRepository(file, { fsync: true });
    await repo.close();
    const raw = new Database(file);
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(
      () => openSqliteRepository(file, { fsync: false }),
      (e: unknown) => isMailError(e, 'CORRUPT') && /newer than this Petrel/.test((e as Error).message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
