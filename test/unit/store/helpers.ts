// A temporary embedded repository (SQLite + files) for the store unit tests.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore, type FsBlobStoreOptions } from '../../../src/blob/fs/fs-blob-store.js';
import { InProcessEventBus } from '../../../src/mail/events.js';
import { Ingest } from '../../../src/mail/ingest.js';
import { openSqliteRepository, type SqliteRepository } from '../../../src/store/sqlite/index.js';

export interface TempRepo {
  dir: string;
  repo: SqliteRepository;
  blobs: FsBlobStore;
  events: InProcessEventBus;
  ingest: Ingest;
  accountId: number;
  cleanup(): Promise<void>;
}

export async function tempRepo(blobOptions: FsBlobStoreOptions = {}, maxMessageSize = 1_000_000): Promise<TempRepo> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-store-'));
  const repo = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
  const blobs = new FsBlobStore(dir, { fsync: false, ...blobOptions });
  const events = new InProcessEventBus();
  const ingest = new Ingest({ store: repo.store, blobs, events, maxMessageSize });
  const account = await repo.directory.createAccount('user', '{PLAIN}x');
  return {
    dir,
    repo,
    blobs,
    events,
    ingest,
    accountId: account.id,
    cleanup: async () => {
      await events.close();
      await repo.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function* chunks(data: Buffer, size = 1000): AsyncIterable<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export function message(subject: string, body = 'hello'): Buffer {
  return Buffer.from(`From: a@example.org\r\nSubject: ${subject}\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n\r\n${body}\r\n`);
}

/** Sets a blob file's mtime into the past, as if it had not been touched for `seconds`. */
export function age(blobs: FsBlobStore, blobId: string, seconds: number): void {
  const t = new Date(Date.now() - seconds * 1000);
  fs.utimesSync(blobs.pathOf(blobId), t, t);
}

export function tmpEntries(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'tmp'));
}
