// The storage backend settings: defaults that follow the backend, one-line
// errors for settings that do not fit together, and URL checks.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { redactUrl } from '../../../src/config/values.js';

const load = (env: Record<string, string>) => loadConfig({ env, cwd: '/nonexistent-petrel-dir' });

function errorOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

const URL = 'postgres://petrel:s3cret@db1:5432,db2:5432/petrel?target_session_attrs=primary';

describe('storage backend settings', () => {
  test('sqlite with fs blobs by default', () => {
    const c = load({});
    assert.equal(c.storage.backend, 'sqlite');
    assert.equal(c.storage.blobStore, 'fs');
    assert.equal(c.storage.autoMigrate, false);
  });

  test('postgres defaults to postgres blobs; fs blobs may be chosen', () => {
    const c = load({ PETREL_STORAGE_BACKEND: 'postgres', PETREL_STORAGE_POSTGRES_URL: URL });
    assert.equal(c.storage.backend, 'postgres');
    assert.equal(c.storage.postgresUrl, URL);
    assert.equal(c.storage.blobStore, 'postgres');
    const fs = load({ PETREL_STORAGE_BACKEND: 'postgres', PETREL_STORAGE_POSTGRES_URL: URL, PETREL_STORAGE_BLOB_STORE: 'fs' });
    assert.equal(fs.storage.blobStore, 'fs');
  });

  test('pool, timeouts and auto_migrate from the environment', () => {
    const c = load({
      PETREL_STORAGE_POSTGRES_POOL_SIZE: '20',
      PETREL_STORAGE_POSTGRES_CONNECT_TIMEOUT_SECONDS: '3',
      PETREL_STORAGE_POSTGRES_STATEMENT_TIMEOUT_SECONDS: '0',
      PETREL_STORAGE_AUTO_MIGRATE: 'yes',
      PETREL_IMAP_IDLE_POLL_SECONDS: '5',
    });
    assert.equal(c.storage.postgresPoolSize, 20);
    assert.equal(c.storage.postgresConnectTimeoutSeconds, 3);
    assert.equal(c.storage.postgresStatementTimeoutSeconds, 0);
    assert.equal(c.storage.autoMigrate, true);
    assert.equal(c.imap.idlePollSeconds, 5);
  });

  test('IDLE polls the change log by default only in cluster mode', () => {
    assert.equal(load({}).imap.idlePollSeconds, 0);
    assert.equal(load({ PETREL_STORAGE_BACKEND: 'postgres', PETREL_STORAGE_POSTGRES_URL: 'postgres://db/petrel' }).imap.idlePollSeconds, 30);
    assert.equal(load({ PETREL_IMAP_IDLE_POLL_SECONDS: '7' }).imap.idlePollSeconds, 7);
  });

  test('settings that do not fit together give one clear line', () => {
    assert.equal(
      errorOf({ PETREL_STORAGE_BACKEND: 'postgres' }),
      'config: storage.backend (from PETREL_STORAGE_BACKEND): postgres needs storage.postgres_url (or PETREL_STORAGE_POSTGRES_URL)',
    );
    assert.equal(
      errorOf({ PETREL_STORAGE_BLOB_STORE: 'postgres' }),
      'config: storage.blob_store (from PETREL_STORAGE_BLOB_STORE): postgres blobs need storage.backend = "postgres"',
    );
    assert.match(errorOf({ PETREL_STORAGE_BACKEND: 'mysql' }), /storage\.backend .*expected one of sqlite, postgres, got "mysql"/);
  });

  test('URLs: the scheme is checked, passwords never echoed, read-write refused', () => {
    const bad = errorOf({ PETREL_STORAGE_POSTGRES_URL: 'mysql://root:hunter2@db/x' });
    assert.match(bad, /storage\.postgres_url .*expected a postgres:\/\/ URL/);
    assert.ok(!bad.includes('hunter2'), bad);
    assert.match(
      errorOf({ PETREL_STORAGE_POSTGRES_URL: 'postgres://db1,db2/petrel?target_session_attrs=read-write' }),
      /read-write may connect to a hot standby; use target_session_attrs=primary/,
    );
    assert.match(
      errorOf({ PETREL_STORAGE_POSTGRES_URL: 'postgres://db1,db2/petrel?target_session_attrs=standby' }),
      /must write to the primary/,
    );
    assert.equal(load({ PETREL_STORAGE_POSTGRES_URL: 'postgresql://db/petrel' }).storage.postgresUrl, 'postgresql://db/petrel');
    assert.equal(redactUrl(URL), 'postgres://petrel:***@db1:5432,db2:5432/petrel?target_session_attrs=primary');
  });

  test('read replicas: a list of URLs (space-separated in the environment); none may select the primary', () => {
    assert.deepEqual(load({}).storage.postgresReplicaUrls, []);
    const c = load({ PETREL_STORAGE_POSTGRES_REPLICA_URLS: ' postgres://r@db2/petrel  postgres://r@db3/petrel?target_session_attrs=standby ' });
    assert.deepEqual(c.storage.postgresReplicaUrls, ['postgres://r@db2/petrel', 'postgres://r@db3/petrel?target_session_attrs=standby']);
    const bad = errorOf({ PETREL_STORAGE_POSTGRES_REPLICA_URLS: 'postgres://r@db2/petrel mysql://root:hunter2@db/x' });
    assert.match(bad, /storage\.postgres_replica_urls .*expected postgres:\/\/ URLs/);
    assert.ok(!bad.includes('hunter2'), bad);
    assert.match(
      errorOf({ PETREL_STORAGE_POSTGRES_REPLICA_URLS: 'postgres://db2/petrel?target_session_attrs=primary' }),
      /may reach the primary; use standby/,
    );
    assert.match(errorOf({ PETREL_STORAGE_REPLICA_MAX_LAG_SECONDS: '0' }), /storage\.replica_max_lag_seconds/);
  });
});
