// `petrel user add-many`: users from stdin ("name" with --password, or "name
// password"), one hash per distinct password; a bad line stops it with the
// users before it created.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './harness.js';

test('user add-many creates the listed users; an existing name stops it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'petrel-add-many-'));
  const env = { ...process.env, PETREL_DATA_DIR: dataDir };
  try {
    const r = await runCli(env, ['user', 'add-many', '--password', 'shared-pw'], '# bench users\nann\nbob own-pw\n\ncid\r\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3 users created/);
    const list = await runCli(env, ['user', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const names = (JSON.parse(list.stdout) as Array<{ name: string }>).map((u) => u.name).sort();
    assert.deepEqual(names, ['ann', 'bob', 'cid']);

    const again = await runCli(env, ['user', 'add-many', '--password', 'x'], 'dan\nbob\neve\n');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /line 2: user "bob" already exists \(1 created before it\)/);
    const after = await runCli(env, ['user', 'list', '--json']);
    assert.deepEqual((JSON.parse(after.stdout) as Array<{ name: string }>).map((u) => u.name).sort(), ['ann', 'bob', 'cid', 'dan']);

    const noPassword = await runCli(env, ['user', 'add-many'], 'fay\n');
    assert.notEqual(noPassword.code, 0);
    assert.match(noPassword.stderr, /line 1: no password/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
