// PostgreSQL repository plumbing: versioned migrations (recorded, run once
// when several servers open at the same time, a newer schema refused, the
// text columns' compression) and the mapping of connection failures to
// UNAVAILABLE.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { isMailError } from '../../../src/mail/errors.js';
import { openPostgresRepository, POSTGRES_SCHEMA_VERSION } from '../../../src/store/postgres/index.js';
import { connectPostgres, unixSocketTarget } from '../../../src/store/postgres/pg.js';
import path from 'node:path';
import { startPostgres } from '../../support/postgres.js';

const pg = await startPostgres();
after(() => pg.stop());

test('concurrent opens migrate once and record the version', async () => {
  const url = await pg.createDatabase();
  const repos = await Promise.all(Array.from({ length: 4 }, () => openPostgresRepository(url, { max: 1 })));
  await Promise.all(repos.map((r) => r.close()));
  const sql = connectPostgres(url, { max: 1 });
  try {
    const rows = await sql<Array<{ version: number }>>`SELECT version FROM schema_migrations
      WHERE component = 'mailstore' ORDER BY version`;
    assert.deepEqual(
      rows.map((r) => r.version),
      Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
    );
  } finally {
    await sql.end();
  }
});

test('the search text and the blob index are compressed with lz4 (a server built with it)', async () => {
  const url = await pg.createDatabase();
  await (await openPostgresRepository(url)).close();
  const sql = connectPostgres(url, { max: 1 });
  try {
    // A server built without lz4 refuses it as a setting too: there the columns keep the default.
    const lz4 = await sql`SET default_toast_compression = lz4`.then(() => true, () => false);
    const method = lz4 ? 'l' : '';
    // pg_attribute.attcompression: 'l' lz4, 'p' pglz, '' the default (default_toast_compression, pglz).
    const rows = await sql<Array<{ col: string; method: string }>>`SELECT attrelid::regclass::text || '.' || attname AS col,
        attcompression::text AS method
      FROM pg_attribute WHERE attrelid IN ('blob_text'::regclass, 'blobs'::regclass)
        AND attname IN ('header_text', 'body_text', 'idx') ORDER BY 1`;
    assert.deepEqual(rows.map((r) => [r.col, r.method]), [
      ['blob_text.body_text', method],
      ['blob_text.header_text', method],
      ['blobs.idx', method],
    ]);
  } finally {
    await sql.end();
  }
});

test('libpq\'s Unix-socket URL form: host=/dir (with port and user) become options, other parameters stay', () => {
  assert.deepEqual(unixSocketTarget('postgres:///petrel?host=/var/run/postgresql&port=5433&user=mail&statement_timeout=5000'), {
    url: 'postgres:///petrel?statement_timeout=5000',
    options: { host: '/var/run/postgresql', port: 5433, user: 'mail' },
  });
  assert.deepEqual(unixSocketTarget('postgresql:///petrel?host=%2Frun%2Fpg'), { url: 'postgresql:///petrel', options: { host: '/run/pg' } });
  assert.equal(unixSocketTarget('postgres://db1:5432/petrel?host=db2'), null, 'a host name, not a directory');
  assert.equal(unixSocketTarget('postgres://db1,db2/petrel?target_session_attrs=primary'), null);
});

test('a repository reached over a Unix socket (libpq URL form)', async () => {
  const tcp = new URL(await pg.createDatabase());
  // test/support/postgres.ts puts the socket next to the data directory.
  const dir = path.dirname(pg.dataDir);
  const url = `postgres://${tcp.pathname}?host=${encodeURIComponent(dir)}&port=${tcp.port}&user=postgres`;
  const repo = await openPostgresRepository(url, { max: 1 });
  try {
    const account = await repo.directory.createAccount('socket-user', '{PLAIN}x');
    assert.equal((await repo.directory.findAccount('socket-user'))?.id, account.id);
  } finally {
    await repo.close();
  }
  const sql = connectPostgres(url, { max: 1 });
  try {
    // No server address: the connection is a Unix socket, not TCP.
    const [row] = await sql<Array<{ addr: string | null }>>`SELECT inet_server_addr()::text AS addr`;
    assert.equal(row!.addr, null);
  } finally {
    await sql.end();
  }
});

test('a schema written by a newer Petrel is refused with a clear error', async () => {
  const url = await pg.createDatabase();
  await (await openPostgresRepository(url)).close();
  const sql = connectPostgres(url, { max: 1 });
  try {
    await sql`INSERT INTO schema_migrations (component, version, description)
      VALUES ('mailstore', ${POSTGRES_SCHEMA_VERSION + 1}, 'from the future')`;
  } finally {
    await sql.end();
  }
  await assert.rejects(openPostgresRepository(url), (err: unknown) => {
    assert.ok(isMailError(err, 'CORRUPT'), String(err));
    assert.match((err as Error).message, /newer than this Petrel supports/);
    return true;
  });
});

test('an unreachable database is UNAVAILABLE', async () => {
  // A port nobody listens on: bind, note it, close.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await assert.rejects(
    openPostgresRepository(`postgres://postgres@127.0.0.1:${port}/postgres`, { connectTimeoutSeconds: 2 }),
    (err: unknown) => {
      assert.ok(isMailError(err, 'UNAVAILABLE'), String(err));
      return true;
    },
  );
});

test('ALREADY_EXISTS from the unique constraint when two creators race', async () => {
  const url = await pg.createDatabase();
  const [a, b] = await Promise.all([openPostgresRepository(url), openPostgresRepository(url)]);
  try {
    const results = await Promise.allSettled([
      a.directory.createAccount('racer', 'h'),
      b.directory.createAccount('racer', 'h'),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isMailError(failed.reason, 'ALREADY_EXISTS'), String(failed.reason));
    const account = (await a.directory.findAccount('racer'))!;
    const boxes = await Promise.allSettled([
      a.store.createMailbox(account.id, 'Same'),
      b.store.createMailbox(account.id, 'Same'),
      a.store.createMailbox(account.id, 'p/x'),
      b.store.createMailbox(account.id, 'p/y'),
    ]);
    assert.deepEqual(
      boxes.map((r) => (r.status === 'fulfilled' ? 'ok' : isMailError(r.reason, 'ALREADY_EXISTS') ? 'exists' : String(r.reason))).sort(),
      ['exists', 'ok', 'ok', 'ok'],
      'siblings under a new parent both succeed',
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
