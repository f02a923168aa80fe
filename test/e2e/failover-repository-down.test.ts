// Repository down (issue 4): PostgreSQL stops under a running `petrel serve`.
// IMAP commands that need the database answer tagged NO [UNAVAILABLE], LMTP
// answers 4xx (the MTA retries), the server process and the connected
// sessions survive; when PostgreSQL is back, the same sessions work again.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startServer, type RunningServer } from './harness.js';
import { LmtpSession, RawImap } from './wire-clients.js';
import { startPostgres, waitFor, type PostgresInstance } from '../support/postgres.js';

let pg: PostgresInstance;
let env: Record<string, string>;
let server: RunningServer | undefined;

before(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  env = {
    PETREL_STORAGE_BACKEND: 'postgres',
    PETREL_STORAGE_POSTGRES_URL: url,
    PETREL_STORAGE_POSTGRES_CONNECT_TIMEOUT_SECONDS: '3',
    PETREL_STORAGE_FSYNC: 'false',
    PETREL_LOG_LEVEL: 'warn',
  };
  const cliEnv = { ...process.env, ...env, PETREL_DATA_DIR: '/nonexistent-petrel' };
  const migrated = await runCli(cliEnv, ['db', 'migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  const added = await runCli(cliEnv, ['user', 'add', 'alice', '--password', 'secret']);
  assert.equal(added.code, 0, added.stderr);
});

after(async () => {
  await server?.cleanup();
  await pg.stop();
});

function mail(subject: string): Buffer {
  return Buffer.from(`From: sender@example.net\r\nTo: alice@example.org\r\nSubject: ${subject}\r\n\r\nHello from ${subject}\r\n`);
}

async function append(c: RawImap, subject: string): Promise<string> {
  const body = mail(subject);
  // LITERAL+ (non-synchronising): the server reads the literal whatever it answers.
  const r = await c.command(`APPEND INBOX {${body.length}+}\r\n${body.toString('latin1')}`);
  return r.tagged;
}

describe('repository down: PostgreSQL stops under a running server', () => {
  test('sessions get NO [UNAVAILABLE] and LMTP 4xx, survive, and work again when PostgreSQL is back', { timeout: 90_000 }, async (t) => {
    server = await startServer({ env });
    try {
      await outage(server, t);
    } catch (err) {
      t.diagnostic(`server log:\n${server.log.slice(-15).join('\n')}`);
      throw err;
    }
  });
});

async function outage(server: RunningServer, t: { diagnostic(message: string): void }): Promise<void> {
  const imap = await RawImap.connect(server.imapPort);
  assert.match((await imap.command('LOGIN alice secret')).tagged, /^OK /);
  assert.match((await imap.command('SELECT INBOX')).tagged, /^OK /);
  const lmtp = await LmtpSession.connect(server.lmtpPort);
  assert.match(await lmtp.deliver('sender@example.net', 'alice@example.org', mail('before')), /^250 /);

  await pg.shutdown('fast');

  // Commands that need the database: tagged NO [UNAVAILABLE], the session stays.
  for (const command of ['STATUS INBOX (MESSAGES UIDNEXT)', 'LIST "" "*"', 'CREATE Archive']) {
    const r = await imap.command(command);
    assert.match(r.tagged, /^NO \[UNAVAILABLE\] /, `${command}: ${r.tagged}`);
  }
  assert.match(await append(imap, 'during'), /^NO \[UNAVAILABLE\] /);
  const lmtpDown = await lmtp.deliver('sender@example.net', 'alice@example.org', mail('during'));
  assert.match(lmtpDown, /^4\d\d /, `LMTP while down: ${lmtpDown}`);
  t.diagnostic(`LMTP while PostgreSQL is down: ${lmtpDown}`);
  assert.equal(server.process.exitCode, null, 'the server is still running');
  assert.match((await imap.command('NOOP')).tagged, /^OK /, 'the session is alive');

  await pg.start();

  // The same session: the first commands may still find the pool reconnecting (its backoff is at most 1 s).
  await waitFor(
    async () => {
      const r = await imap.command('STATUS INBOX (MESSAGES)');
      if (/^NO \[UNAVAILABLE\]/.test(r.tagged)) return false;
      assert.match(r.tagged, /^OK /);
      assert.match(r.untagged.join('\n'), /MESSAGES 1\)/);
      return true;
    },
    20_000,
    'STATUS to work again',
  );
  assert.match(await append(imap, 'after'), /^OK \[APPENDUID /);
  assert.match(await lmtp.deliver('sender@example.net', 'alice@example.org', mail('after')), /^250 /);
  const noop = await imap.command('NOOP');
  assert.match(noop.tagged, /^OK /);
  assert.match(noop.untagged.join('\n'), /\* 3 EXISTS/);
  let headers = '';
  await imap.command('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])', (size, reader) =>
    reader.bytes(size, (chunk) => (headers += chunk.toString('latin1'))),
  );
  assert.deepEqual(
    headers.match(/Subject: \w+/g),
    ['Subject: before', 'Subject: after', 'Subject: after'],
    'nothing from the outage was stored',
  );
  imap.close();
  lmtp.close();
}
