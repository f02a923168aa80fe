// An LMTP server on the real embedded storage (SQLite + files + Ingest) on a
// free port, for test/e2e/lmtp.test.ts and lmtp-pooled.test.ts: accounts
// "alice" (with a mailbox "Lists" besides INBOX) and "bob@example.org".

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { LmtpServer } from '../../src/lmtp/server.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import { Ingest } from '../../src/mail/ingest.js';
import type { Directory, MailStore } from '../../src/mail/ports.js';
import { singleRepository } from '../../src/mail/repository.js';
import type { Account, MailEvent } from '../../src/mail/types.js';
import { openSqliteRepository, type SqliteRepository } from '../../src/store/sqlite/index.js';
import { silentLogger } from '../../src/util/log.js';

export interface LmtpFixture {
  dir: string;
  repo: SqliteRepository;
  blobs: FsBlobStore;
  server: LmtpServer;
  port: number;
  alice: Account;
  bob: Account;
  /** Every event the deliveries published. */
  events: MailEvent[];
}

export interface LmtpFixtureOptions {
  /** limits.max_message_size. */
  maxMessageSize: number;
  /** The mail store the ingest writes through (e.g. one that fails). */
  store?: (real: MailStore) => MailStore;
  /** The blob store the ingest writes to (e.g. a slow or failing writer). */
  blobs?: (real: FsBlobStore) => FsBlobStore;
  /** The directory the LMTP server looks recipients up in (e.g. one that counts lookups). */
  directory?: (real: Directory) => Directory;
}

export async function startLmtpFixture(options: LmtpFixtureOptions): Promise<LmtpFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-lmtp-'));
  const repo = openSqliteRepository(join(dir, 'petrel.db'), { fsync: false });
  const real = new FsBlobStore(dir, { fsync: false });
  const blobs = options.blobs ? options.blobs(real) : real;
  const store = options.store ? options.store(repo.store) : repo.store;
  const bus = new InProcessEventBus();
  const events: MailEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const config = defaultConfig();
  config.hostname = 'mx.test';
  config.lmtp.listen = { host: '127.0.0.1', port: 0 };
  config.limits.maxMessageSize = options.maxMessageSize;
  const ingest = new Ingest({ store, blobs, events: bus, maxMessageSize: config.limits.maxMessageSize });
  const alice = await repo.directory.createAccount('alice', '$scrypt$unused');
  const bob = await repo.directory.createAccount('bob@example.org', '$scrypt$unused');
  await repo.store.createMailbox(alice.id, 'Lists');
  const repositories = singleRepository(repo.directory, { store, blobs, ingest, events: bus });
  const directory = options.directory ? options.directory(repo.directory) : repo.directory;
  const server = new LmtpServer({ config, directory, repositories, logger: silentLogger });
  const address = await server.listen();
  assert.ok(address);
  return { dir, repo, blobs, server, port: address.port, alice, bob, events };
}

export async function stopLmtpFixture(f: LmtpFixture): Promise<void> {
  await f.server.close();
  await f.blobs.close?.();
  await f.repo.close();
  await rm(f.dir, { recursive: true, force: true });
}

/** Each message in the account's `mailbox`, as stored. */
export async function messagesIn(f: LmtpFixture, account: Account, mailbox = 'INBOX'): Promise<Buffer[]> {
  const box = await f.repo.store.getMailbox(account.id, mailbox);
  if (!box) return [];
  const metas = await f.repo.store.fetchMessages(box.id, [{ start: 1, end: Infinity }]);
  return Promise.all(metas.map((m) => f.blobs.readBuffer(m.blobId)));
}
