// METADATA (RFC 5464) through the real `petrel serve` process on the
// PostgreSQL backend: the server entries from the configuration (env),
// mailbox and server annotations stored in PostgreSQL, /private per user,
// and the limits from the configuration.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startServer, type RunningServer } from './harness.js';
import { RawImap } from './wire-clients.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';

let pg: PostgresInstance;
let server: RunningServer;

before(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  const env = {
    PETREL_STORAGE_BACKEND: 'postgres',
    PETREL_STORAGE_POSTGRES_URL: url,
    PETREL_STORAGE_FSYNC: 'false',
    PETREL_LOG_LEVEL: 'warn',
    PETREL_IMAP_SERVER_ADMIN: 'mailto:postmaster@example.org',
    PETREL_IMAP_SERVER_COMMENT: 'Cluster test',
    PETREL_LIMITS_MAX_METADATA_ENTRIES: '10',
    PETREL_LIMITS_MAX_METADATA_VALUE_SIZE: '2048',
  };
  const migrated = await runCli({ ...process.env, ...env, PETREL_DATA_DIR: '/nonexistent-petrel' }, ['db', 'migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  server = await startServer({ env, users: { alice: 'secret', bob: 'secret' } });
});

after(async () => {
  await server?.cleanup();
  await pg?.stop();
});

async function login(user: string): Promise<RawImap> {
  return RawImap.login(server.imapPort, user);
}

describe('METADATA on PostgreSQL (petrel serve)', () => {
  test('server entries, mailbox entries, /private per user, limits', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    try {
      const caps = await alice.command('CAPABILITY');
      assert.ok(caps.untagged[0]!.split(' ').includes('METADATA'));

      let r = await alice.command('GETMETADATA "" (/shared/admin /shared/comment)');
      assert.deepEqual(r.untagged, ['* METADATA "" (/shared/admin "mailto:postmaster@example.org" /shared/comment "Cluster test")']);
      assert.equal(r.tagged, 'OK GETMETADATA completed');

      assert.equal((await alice.command('SETMETADATA "" (/private/vendor/vendor.test/a "1")')).tagged, 'OK SETMETADATA completed');
      assert.equal((await alice.command('SETMETADATA INBOX (/private/comment "alice" /shared/comment "everyone")')).tagged, 'OK SETMETADATA completed');

      r = await alice.command('GETMETADATA INBOX (DEPTH infinity) (/private /shared)');
      assert.deepEqual(r.untagged, ['* METADATA INBOX (/private NIL /private/comment "alice" /shared NIL /shared/comment "everyone")']);
      r = await bob.command('GETMETADATA "" /private/vendor/vendor.test/a');
      assert.deepEqual(r.untagged, ['* METADATA "" (/private/vendor/vendor.test/a NIL)']);
      r = await alice.command('GETMETADATA "" /private/vendor/vendor.test/a');
      assert.deepEqual(r.untagged, ['* METADATA "" (/private/vendor/vendor.test/a "1")']);

      r = await alice.command(`SETMETADATA INBOX (/private/big "${'x'.repeat(2049)}")`);
      assert.equal(r.tagged, 'NO [METADATA MAXSIZE 2048] Annotation value too large (limit 2048 octets)');
      const nine = Array.from({ length: 9 }, (_, i) => `/private/n${i} "${i}"`).join(' ');
      r = await alice.command(`SETMETADATA INBOX (${nine})`);
      assert.equal(r.tagged, 'NO [METADATA TOOMANY] Too many annotations (limit 10)');
      r = await alice.command('GETMETADATA INBOX /private/n0');
      assert.deepEqual(r.untagged, ['* METADATA INBOX (/private/n0 NIL)']);
    } finally {
      alice.close();
      bob.close();
    }
  });
});
