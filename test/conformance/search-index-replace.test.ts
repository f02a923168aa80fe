// The SQLite SEARCH index file is replaced, never made again under its
// name (src/store/sqlite/search-index.ts, GENERATION_KEY): two repository
// objects on one data directory (as a server and `petrel` are; in one
// process, and in two: search-index-peer.ts), one finds the file damaged
// (its header, or its tables) and names a new one in the database, the
// other goes on answering SEARCH exactly and moves to the new file, its
// indexer (or a server's background thread) too; the old name is not used
// again; names found on disk are skipped; a data directory of before
// generations keeps its file.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { SearchQuery } from '../../src/mail/types.js';
import { openSqliteRepository, type SqliteRepository } from '../../src/store/sqlite/index.js';
import { GENERATION_KEY, replaceSearchIndex, searchIndexFile } from '../../src/store/sqlite/search-index.js';
import { testMessage } from './fixtures.js';

const body = (value: string): SearchQuery => ({ kind: 'body', value });

let root: string;
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fts-replace-'));
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A fresh data directory's database file. */
function databaseFile(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return path.join(dir, 'petrel.db');
}

/** The generation the database names (null when it names none). */
function generationOf(file: string): number | null {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck().get(GENERATION_KEY) as number | undefined) ?? null;
  } finally {
    db.close();
  }
}

/** Empties the index file's WAL into it, so that what is written over the file is what a reader gets. */
function checkpointIndex(name: string): void {
  const db = new Database(name);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** Writes garbage over `length` bytes of the file at `offset`, in place (same inode: the holders see it too). */
function damage(name: string, offset: number, length: number): void {
  const fd = fs.openSync(name, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

async function fillInbox(r: SqliteRepository, bodies: string[]): Promise<number> {
  const account = await r.directory.createAccount('owner', '{PLAIN}x');
  const mb = await r.store.createMailbox(account.id, 'INBOX');
  await r.store.appendMessages(mb.id, bodies.map((b) => testMessage({ body: b }).item()));
  return mb.id;
}

test('one process finds the index file unreadable and replaces it; the other keeps exact results and moves to the new file', async () => {
  const file = databaseFile('header');
  const b = openSqliteRepository(file, { fsync: false });
  let a: SqliteRepository | null = null;
  try {
    const mb = await fillInbox(b, ['alpha one', 'bravo two', 'charlie three']);
    assert.deepEqual(b.indexSearchText(), { indexed: 3, forgotten: 0 });
    assert.deepEqual(await b.store.search(mb, body('bravo')), [2]);
    const first = searchIndexFile(file, 0);
    assert.equal(generationOf(file), 0, 'a new database uses the first name');
    assert.ok(fs.existsSync(first));

    // The file goes bad on disk while b holds it open (its connections, its -wal and -shm).
    checkpointIndex(first);
    damage(first, 0, 100);
    a = openSqliteRepository(file, { fsync: false });
    assert.equal(generationOf(file), 1, 'a named a new file');
    const second = searchIndexFile(file, 1);
    assert.ok(fs.existsSync(second));
    for (const f of [first, `${first}-wal`, `${first}-shm`]) assert.ok(!fs.existsSync(f), `${path.basename(f)} unlinked`);

    // The new file holds nothing yet: both test every text directly.
    assert.deepEqual(a.searchIndexLag(), { texts: 3, forgotten: 0 });
    assert.deepEqual(await a.store.search(mb, body('bravo')), [2]);
    assert.deepEqual(await b.store.search(mb, body('bravo')), [2], 'b answers exactly after the replacement');
    assert.deepEqual(b.searchIndexLag(), { texts: 3, forgotten: 0 }, 'b reads the new file');

    // b writes; a indexes into the new file; b's indexer finds nothing left there.
    await b.store.appendMessages(mb, [testMessage({ body: 'delta four bravo' }).item()]);
    assert.deepEqual(a.indexSearchText(), { indexed: 4, forgotten: 0 });
    assert.deepEqual(b.indexSearchText(), { indexed: 0, forgotten: 0 }, "b's indexer moved to the new file");
    assert.deepEqual(b.searchIndexLag(), { texts: 0, forgotten: 0 });
    assert.deepEqual(await b.store.search(mb, body('bravo')), [2, 4]);
    assert.deepEqual(await a.store.search(mb, body('charlie')), [3]);
    const check = new Database(second, { readonly: true });
    try {
      assert.equal(check.prepare(`SELECT indexed_to FROM search_state`).pluck().get(), 4);
    } finally {
      check.close();
    }
  } finally {
    await a?.close();
    await b.close();
  }
  assert.ok(!fs.existsSync(searchIndexFile(file, 0)), 'the old name is not made again');
});

/** The repository opened by another process (search-index-peer.ts), asked one request at a time. */
async function startPeer(file: string) {
  const script = fileURLToPath(new URL('./search-index-peer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the peer process ended');
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.deepEqual(await next(), { ready: true });
  return {
    async ask(request: Record<string, unknown>): Promise<unknown> {
      child.stdin!.write(JSON.stringify(request) + '\n');
      const reply = await next();
      if ('error' in reply) throw new Error(`peer: ${String(reply.error)}`);
      return reply.ok;
    },
    async close(): Promise<void> {
      if (child.exitCode === null) {
        child.stdin!.write(JSON.stringify({ op: 'close' }) + '\n');
        child.stdin!.end();
      }
      await exited;
    },
    kill(): void {
      if (child.exitCode === null) child.kill();
    },
  };
}

test('the same between two processes: the peer keeps exact results and moves to the file this process made', async () => {
  const file = databaseFile('processes');
  let r = openSqliteRepository(file, { fsync: false });
  const mb = await fillInbox(r, ['alpha one', 'bravo two', 'charlie three']);
  await r.close();
  const peer = await startPeer(file);
  let a: SqliteRepository | null = null;
  try {
    assert.deepEqual(await peer.ask({ op: 'index' }), { indexed: 3, forgotten: 0 });
    assert.deepEqual(await peer.ask({ op: 'search', mailbox: mb, term: 'bravo' }), [2]);
    const first = searchIndexFile(file, 0);
    checkpointIndex(first);
    damage(first, 0, 100);
    a = openSqliteRepository(file, { fsync: false });
    assert.equal(generationOf(file), 1);
    assert.deepEqual(await peer.ask({ op: 'search', mailbox: mb, term: 'bravo' }), [2], 'the peer answers exactly');
    assert.deepEqual(await peer.ask({ op: 'lag' }), { texts: 3, forgotten: 0 }, 'from the new, empty file');
    await a.store.appendMessages(mb, [testMessage({ body: 'delta four bravo' }).item()]);
    assert.deepEqual(await peer.ask({ op: 'index' }), { indexed: 4, forgotten: 0 }, "the peer's indexer writes the new file");
    assert.deepEqual(a.indexSearchText(), { indexed: 0, forgotten: 0 });
    assert.deepEqual(a.searchIndexLag(), { texts: 0, forgotten: 0 });
    assert.deepEqual(await a.store.search(mb, body('bravo')), [2, 4]);
    assert.deepEqual(await peer.ask({ op: 'search', mailbox: mb, term: 'bravo' }), [2, 4]);
    const check = new Database(searchIndexFile(file, 1));
    try {
      check.exec(`INSERT INTO blob_text_fts (blob_text_fts) VALUES ('integrity-check')`);
      assert.equal(check.prepare(`SELECT indexed_to FROM search_state`).pluck().get(), 4);
    } finally {
      check.close();
    }
    await peer.close();
    assert.ok(!fs.existsSync(first), 'the old name is not made again');
  } finally {
    peer.kill();
    await a?.close();
  }
});

test('two processes replacing the file, appending, indexing and searching at once: every answer is exact', async () => {
  const file = databaseFile('race');
  const setup = openSqliteRepository(file, { fsync: false });
  const account = await setup.directory.createAccount('owner', '{PLAIN}x');
  const mb = (await setup.store.createMailbox(account.id, 'INBOX')).id;
  await setup.close();
  const peers = [await startPeer(file), await startPeer(file)];
  try {
    const problems = await Promise.all(
      peers.map((p, i) => p.ask({ op: 'race', mailbox: mb, rounds: 150, replace: true, tag: `p${i}` })),
    );
    assert.deepEqual(problems, [[], []]);
    await peers[0]!.ask({ op: 'index' });
    assert.deepEqual(await peers[0]!.ask({ op: 'index' }), { indexed: 0, forgotten: 0 });
    assert.deepEqual(await peers[1]!.ask({ op: 'lag' }), { texts: 0, forgotten: 0 });
    assert.equal((await peers[1]!.ask({ op: 'search', mailbox: mb, term: 'needle' }) as number[]).length, 300);
  } finally {
    for (const p of peers) {
      await p.close();
      p.kill();
    }
  }
  const generation = generationOf(file)!;
  assert.ok(generation >= 50, `replaced ${generation} times`);
  const check = new Database(searchIndexFile(file, generation));
  try {
    check.exec(`INSERT INTO blob_text_fts (blob_text_fts) VALUES ('integrity-check')`);
    assert.equal(check.pragma('quick_check', { simple: true }), 'ok');
  } finally {
    check.close();
  }
});

test("a server's background thread moves to the new file", async () => {
  const file = databaseFile('thread');
  const failures: Error[] = [];
  const server = openSqliteRepository(file, { fsync: false, background: true, checkpointEveryMs: 0, onBackgroundError: (e) => failures.push(e) });
  let a: SqliteRepository | null = null;
  try {
    const mb = await fillInbox(server, ['alpha one', 'bravo two']);
    await server.backgroundIdle();
    assert.deepEqual(server.searchIndexLag(), { texts: 0, forgotten: 0 });
    const first = searchIndexFile(file, 0);
    checkpointIndex(first);
    damage(first, 0, 100);
    a = openSqliteRepository(file, { fsync: false });
    assert.equal(generationOf(file), 1);
    await server.store.appendMessages(mb, [testMessage({ body: 'charlie three bravo' }).item()]);
    await server.backgroundIdle();
    assert.deepEqual(a.searchIndexLag(), { texts: 0, forgotten: 0 }, 'the thread indexed all three into the new file');
    assert.deepEqual(a.indexSearchText(), { indexed: 0, forgotten: 0 });
    assert.deepEqual(await server.store.search(mb, body('bravo')), [2, 3]);
    assert.deepEqual(failures, []);
  } finally {
    await a?.close();
    await server.close();
  }
});

test('an index whose pages are damaged (not its header) is replaced when a writer reads it', async () => {
  const file = databaseFile('pages');
  const b = openSqliteRepository(file, { fsync: false });
  let a: SqliteRepository | null = null;
  try {
    const mb = await fillInbox(
      b,
      Array.from({ length: 30 }, (_, i) => `message ${i} ${i % 7 === 0 ? 'needle' : 'hay'} ${'filler text '.repeat(40)}`),
    );
    b.indexSearchText();
    const first = searchIndexFile(file, 0);
    checkpointIndex(first);
    // Every page but the first (the header and schema are fine, the tables are not).
    damage(first, 4096, fs.statSync(first).size - 4096);
    a = openSqliteRepository(file, { fsync: false });
    assert.equal(generationOf(file), 1);
    assert.deepEqual(await a.store.search(mb, body('needle')), [1, 8, 15, 22, 29]);
    assert.deepEqual(await b.store.search(mb, body('needle')), [1, 8, 15, 22, 29]);
    assert.deepEqual(b.indexSearchText(), { indexed: 30, forgotten: 0 });
    assert.deepEqual(await a.store.search(mb, body('needle')), [1, 8, 15, 22, 29]);
  } finally {
    await a?.close();
    await b.close();
  }
});

test('a replacement happens once per generation, and never takes a name found on disk', async () => {
  const file = databaseFile('names');
  await openSqliteRepository(file, { fsync: false }).close();
  const main = new Database(file);
  try {
    replaceSearchIndex(main, file, 0);
    assert.equal(generationOf(file), 1);
    replaceSearchIndex(main, file, 0);
    assert.equal(generationOf(file), 1, 'a second process finding generation 0 bad does nothing: it was replaced');
    // What a replacement that never committed left behind.
    fs.writeFileSync(`${searchIndexFile(file, 2)}-wal`, 'left over');
    replaceSearchIndex(main, file, 1);
    assert.equal(generationOf(file), 3, 'the name found taken is skipped');
    assert.ok(!fs.existsSync(`${searchIndexFile(file, 2)}-wal`), 'and removed');
    assert.ok(!fs.existsSync(searchIndexFile(file, 1)));
    assert.ok(fs.existsSync(searchIndexFile(file, 3)));
  } finally {
    main.close();
  }
  // What a replacement that stopped before its unlinks left: removed when a process opens the index.
  for (const junk of [searchIndexFile(file, 0), `${searchIndexFile(file, 2)}-shm`, searchIndexFile(file, 9)]) fs.writeFileSync(junk, 'left over');
  await openSqliteRepository(file, { fsync: false }).close();
  assert.ok(!fs.existsSync(searchIndexFile(file, 0)));
  assert.ok(!fs.existsSync(`${searchIndexFile(file, 2)}-shm`));
  assert.ok(fs.existsSync(searchIndexFile(file, 3)), 'the current file is kept');
  assert.ok(fs.existsSync(searchIndexFile(file, 9)), 'a later name is not touched');
  assert.ok(fs.existsSync(file));
});

test('a data directory from before generations keeps its index file; a missing file of a named generation is replaced', async () => {
  const file = databaseFile('upgrade');
  let r = openSqliteRepository(file, { fsync: false });
  const mb = await fillInbox(r, ['kept index text']);
  r.indexSearchText();
  await r.close();
  // Before generations the database had no row, and the file this name.
  const raw = new Database(file);
  try {
    assert.equal(raw.prepare(`DELETE FROM meta WHERE key = ?`).run(GENERATION_KEY).changes, 1, 'a new database names its first file');
  } finally {
    raw.close();
  }
  r = openSqliteRepository(file, { fsync: false });
  try {
    assert.equal(generationOf(file), 0);
    assert.ok(fs.existsSync(searchIndexFile(file, 0)));
    assert.deepEqual(r.indexSearchText(), { indexed: 0, forgotten: 0 }, 'the existing index is used as it is');
    assert.deepEqual(await r.store.search(mb, body('kept')), [1]);
    const main = new Database(file);
    try {
      replaceSearchIndex(main, file, 0);
    } finally {
      main.close();
    }
  } finally {
    await r.close();
  }
  // Generation 1 is named; its file is gone (deleted by hand): a new one, not the same name again.
  for (const f of ['', '-wal', '-shm']) fs.rmSync(`${searchIndexFile(file, 1)}${f}`, { force: true });
  r = openSqliteRepository(file, { fsync: false });
  try {
    assert.equal(generationOf(file), 2);
    assert.deepEqual(await r.store.search(mb, body('kept')), [1]);
    assert.deepEqual(r.indexSearchText(), { indexed: 1, forgotten: 0 });
  } finally {
    await r.close();
  }
});
