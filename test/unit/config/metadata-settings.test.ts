// The METADATA settings (RFC 5464): limits.max_metadata_value_size,
// limits.max_metadata_entries, imap.server_comment, imap.server_admin.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultConfig, loadConfig } from '../../../src/config/index.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-config-md-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('METADATA settings', () => {
  test('defaults: 64 KiB values, 256 entries, no server comment or admin', () => {
    const c = defaultConfig();
    assert.equal(c.limits.maxMetadataValueSize, 65536);
    assert.equal(c.limits.maxMetadataEntries, 256);
    assert.equal(c.imap.serverComment, null);
    assert.equal(c.imap.serverAdmin, null);
  });

  test('from the file and the environment', () =>
    withDir(async (dir) => {
      await writeFile(
        join(dir, 'petrel.toml'),
        ['[imap]', 'server_comment = "Mail for example.org"', 'server_admin = "mailto:postmaster@example.org"', '[limits]', 'max_metadata_entries = 10'].join('\n'),
      );
      const c = loadConfig({ env: { PETREL_LIMITS_MAX_METADATA_VALUE_SIZE: '1024' }, cwd: dir });
      assert.equal(c.imap.serverComment, 'Mail for example.org');
      assert.equal(c.imap.serverAdmin, 'mailto:postmaster@example.org');
      assert.equal(c.limits.maxMetadataEntries, 10);
      assert.equal(c.limits.maxMetadataValueSize, 1024);
      const unset = loadConfig({ env: { PETREL_IMAP_SERVER_ADMIN: '', PETREL_IMAP_SERVER_COMMENT: '' }, cwd: dir });
      assert.equal(unset.imap.serverAdmin, 'mailto:postmaster@example.org', 'an empty variable counts as unset');
    }));

  test('RFC 5464 minimums, the in-memory literal bound, and URIs are checked', () =>
    withDir(async (dir) => {
      const load = (env: Record<string, string>) => () => loadConfig({ env, cwd: dir });
      assert.equal(errorOf(load({ PETREL_LIMITS_MAX_METADATA_VALUE_SIZE: '1023' })).setting, 'limits.max_metadata_value_size');
      assert.equal(errorOf(load({ PETREL_LIMITS_MAX_METADATA_ENTRIES: '9' })).setting, 'limits.max_metadata_entries');
      const tooBig = errorOf(load({ PETREL_LIMITS_MAX_METADATA_VALUE_SIZE: '70000' }));
      assert.equal(tooBig.setting, 'limits.max_metadata_value_size');
      assert.match(tooBig.message, /max_memory_literal/);
      assert.equal(loadConfig({ env: { PETREL_LIMITS_MAX_METADATA_VALUE_SIZE: '70000', PETREL_LIMITS_MAX_MEMORY_LITERAL: '70000' }, cwd: dir }).limits.maxMetadataValueSize, 70000);
      assert.equal(errorOf(load({ PETREL_IMAP_SERVER_ADMIN: 'postmaster at example' })).setting, 'imap.server_admin');
      assert.equal(errorOf(load({ PETREL_IMAP_SERVER_COMMENT: 'two\nlines' })).setting, 'imap.server_comment');
    }));
});
