// The SQLite SEARCH index's lag as GET /metrics shows it
// (petrel_search_index_lag_texts, petrel_search_index_forgotten_texts): the
// embedded repository opened as the server opens it, texts stored and not
// indexed, then caught up; and deleted texts until the index forgets them.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderMetrics } from '../../src/admin/metrics.js';
import { openEmbeddedRepository } from '../../src/cli/repository.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import type { Repositories } from '../../src/mail/repository.js';
import { openSqliteRepository, type SqliteRepository } from '../../src/store/sqlite/index.js';
import { testMessage } from './fixtures.js';

let dir: string;
let repos: Repositories;
/** A second repository object on the same file: the indexer (a server's background thread, or `petrel` catching up). */
let indexer: SqliteRepository;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-lag-'));
  const config = defaultConfig();
  config.dataDir = dir;
  config.storage.fsync = false;
  repos = await openEmbeddedRepository(config, new InProcessEventBus());
  indexer = openSqliteRepository(path.join(dir, 'petrel.db'), { fsync: false });
});

after(async () => {
  await indexer.close();
  await repos.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The value of the sample `name` with repository="default" in GET /metrics' text. */
function gauge(name: string): number {
  const text = renderMetrics(repos);
  assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'));
  const m = new RegExp(`^${name}\\{repository="default"\\} (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} in\n${text}`);
  return Number(m[1]);
}

test('the lag gauge counts the texts stored and not indexed, and is 0 once the index has caught up', async () => {
  const store = repos.primary.store;
  assert.equal(gauge('petrel_search_index_lag_texts'), 0, 'empty database');
  const account = await repos.directory.createAccount('lag', '{PLAIN}x');
  const mb = await store.createMailbox(account.id, 'INBOX');
  const doomed = testMessage({ body: 'short lived text' });
  await store.appendMessages(mb.id, [doomed.item(), ...Array.from({ length: 4 }, (_, i) => testMessage({ body: `text number ${i}` }).item())]);
  assert.equal(gauge('petrel_search_index_lag_texts'), 5, 'five texts above the mark');
  assert.deepEqual(indexer.indexSearchText(), { indexed: 5, forgotten: 0 });
  assert.equal(gauge('petrel_search_index_lag_texts'), 0, 'caught up');

  // The last text stored is deleted before it is indexed: the mark still reaches the sequence.
  const last = testMessage({ body: 'gone before indexing' });
  await store.appendMessages(mb.id, [last.item()]);
  assert.equal(gauge('petrel_search_index_lag_texts'), 1);
  await store.storeFlags(mb.id, [{ start: 1, end: 1 }], 'add', ['\\Deleted']);
  await store.storeFlags(mb.id, [{ start: 6, end: 6 }], 'add', ['\\Deleted']);
  await store.expunge(mb.id);
  await store.pruneExpunged(new Date(Date.now() + 60_000));
  await store.forgetBlobs([doomed.blobId, last.blobId]);
  assert.equal(gauge('petrel_search_index_forgotten_texts'), 2, 'two deleted texts queued');
  assert.deepEqual(indexer.indexSearchText(), { indexed: 0, forgotten: 2 });
  assert.equal(gauge('petrel_search_index_lag_texts'), 0, 'caught up although the highest text is gone');
  assert.equal(gauge('petrel_search_index_forgotten_texts'), 0);
  assert.deepEqual(await store.search(mb.id, { kind: 'body', value: 'number 2' }), [4]);
});
