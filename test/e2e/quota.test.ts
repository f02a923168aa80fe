// QUOTA end to end: LMTP answers 552 5.2.2 for an over-quota recipient while
// the others are still delivered, and `petrel user quota` shows and sets
// limits (sizes like 500M, "none") that delivery then enforces.

import { singleRepository } from '../../src/mail/repository.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatKiB, parseMessageLimit, parseStorageLimit } from '../../src/admin/quota.js';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { LmtpServer } from '../../src/lmtp/server.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import { Ingest } from '../../src/mail/ingest.js';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { silentLogger } from '../../src/util/log.js';
import { runCli } from './harness.js';
import { LmtpClient } from './wire-clients.js';

describe('LMTP and quota', () => {
  let dir: string;
  let repo: ReturnType<typeof openSqliteRepository>;
  let blobs: FsBlobStore;
  let server: LmtpServer;
  let port: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'petrel-quota-'));
    repo = openSqliteRepository(join(dir, 'petrel.db'), { fsync: false });
    blobs = new FsBlobStore(dir, { fsync: false });
    const config = defaultConfig();
    config.hostname = 'mx.test';
    config.lmtp.listen = { host: '127.0.0.1', port: 0 };
    const events = new InProcessEventBus();
    const ingest = new Ingest({ store: repo.store, blobs, events, maxMessageSize: config.limits.maxMessageSize });
    await repo.directory.createAccount('full', 'x');
    await repo.directory.createAccount('roomy', 'x');
    const repositories = singleRepository(repo.directory, { store: repo.store, blobs, ingest, events });
    server = new LmtpServer({ config, directory: repo.directory, repositories, logger: silentLogger });
    const address = await server.listen();
    port = address!.port;
  });
  after(async () => {
    await server.close();
    await blobs.close();
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function deliver(rcpts: string[]): Promise<string[]> {
    const c = await LmtpClient.connect(port);
    try {
      await c.reply();
      await c.command('LHLO mta.test');
      assert.match(await c.command('MAIL FROM:<s@example.net>'), /^250 /);
      for (const r of rcpts) assert.match(await c.command(`RCPT TO:<${r}>`), /^250 /);
      assert.match(await c.command('DATA'), /^354 /);
      c.write('Subject: hi\r\n\r\nhello\r\n.\r\n');
      const replies: string[] = [];
      for (const _ of rcpts) replies.push(await c.reply());
      await c.command('QUIT');
      return replies;
    } finally {
      c.close();
    }
  }

  const count = async (name: string) => {
    const a = await repo.directory.findAccount(name);
    return (await repo.store.quotaUsage(a!.id)).messages;
  };

  test('over-quota recipient gets 552 5.2.2, the other recipients are delivered', async () => {
    await repo.directory.setQuota('full', { storage: null, messages: 1 });
    assert.deepEqual((await deliver(['full@example.org', 'roomy@example.org'])).map((r) => r.slice(0, 9)), ['250 2.6.0', '250 2.6.0']);
    const replies = await deliver(['full@example.org', 'roomy@example.org']);
    assert.match(replies[0]!, /^552 5\.2\.2 .*full/);
    assert.match(replies[1]!, /^250 2\.\d\.\d /);
    assert.equal(await count('full'), 1);
    assert.equal(await count('roomy'), 2);
    await repo.directory.setQuota('full', { storage: null, messages: null });
    assert.match((await deliver(['full@example.org']))[0]!, /^250 /);
    assert.equal(await count('full'), 2);
  });
});

describe('quota values of the CLI', () => {
  test('storage sizes in binary units, rounded up to KiB; "none"; bad input', () => {
    assert.equal(parseStorageLimit('500M'), 500 * 1024);
    assert.equal(parseStorageLimit('2G'), 2 * 1024 * 1024);
    assert.equal(parseStorageLimit('2gb'), 2 * 1024 * 1024);
    assert.equal(parseStorageLimit('1536K'), 1536);
    assert.equal(parseStorageLimit('1025'), 2);
    assert.equal(parseStorageLimit('0'), 0);
    assert.equal(parseStorageLimit('none'), null);
    for (const bad of ['', '-1', '1.5G', '5X', 'lots']) assert.throws(() => parseStorageLimit(bad), /invalid --storage/);
    assert.equal(parseMessageLimit('1000'), 1000);
    assert.equal(parseMessageLimit('NONE'), null);
    for (const bad of ['', '-3', '1e3', '10k']) assert.throws(() => parseMessageLimit(bad), /invalid --messages/);
    assert.equal(formatKiB(512), '512 KiB');
    assert.equal(formatKiB(1536), '1.5 MiB');
    assert.equal(formatKiB(2 * 1024 * 1024), '2 GiB');
  });
});

describe('petrel user quota', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'petrel-cli-quota-'));
    env = { ...process.env, PETREL_DATA_DIR: dataDir, PETREL_IMAP_LISTEN: '127.0.0.1:0', PETREL_LMTP_LISTEN: '127.0.0.1:0' };
    delete env.PETREL_CONFIG;
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('show, set, remove; delivery enforces the limit; unknown user and bad sizes are errors', async () => {
    assert.equal((await runCli(env, ['user', 'add', 'carol', '--password', 'pw'])).code, 0);
    let r = await runCli(env, ['user', 'quota', 'carol', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).map((x: { resource: string; usage: number; limit: number | null }) => [x.resource, x.usage, x.limit]),
      [
        ['STORAGE', 0, null],
        ['MESSAGE', 0, null],
      ],
    );
    r = await runCli(env, ['user', 'quota', 'carol', '--storage', '500M', '--messages', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STORAGE\s+0\s+512000\s+0 KiB of 500 MiB/);
    assert.match(r.stdout, /MESSAGE\s+0\s+1\s+0 of 1 messages/);
    assert.equal((await runCli(env, ['deliver', 'carol'], 'Subject: one\r\n\r\nbody\r\n')).code, 0);
    r = await runCli(env, ['deliver', 'carol'], 'Subject: two\r\n\r\nbody\r\n');
    assert.equal(r.code, 75, 'over quota is a temporary failure for an LDA');
    assert.match(r.stderr, /quota/);
    r = await runCli(env, ['user', 'quota', 'carol', '--messages', 'none', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<{ resource: string; usage: number; limit: number | null }>;
    assert.deepEqual(rows.map((x) => [x.resource, x.usage, x.limit]), [
      ['STORAGE', 1, 512000],
      ['MESSAGE', 1, null],
    ]);
    assert.equal((await runCli(env, ['deliver', 'carol'], 'Subject: three\r\n\r\nbody\r\n')).code, 0);
    r = await runCli(env, ['user', 'quota', 'carol', '--storage', 'lots']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /invalid --storage/);
    r = await runCli(env, ['user', 'quota', 'nobody']);
    assert.equal(r.code, 67);
  });
});
