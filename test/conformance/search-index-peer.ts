// The other process of search-index-replace.test.ts: opens the repository
// at argv[2] and answers one JSON line per request on stdin with one JSON
// line on stdout: {"op":"search","mailbox":M,"term":T} -> the UIDs,
// {"op":"index"} -> the catch-up's counts, {"op":"lag"}, {"op":"close"};
// {"op":"race","mailbox":M,"rounds":N,"replace":bool,"tag":T} -> the
// wrong answers and errors of N rounds of: replace the index file (every
// third round, when asked), append a message with "needle" and one
// without, index (every other round), and SEARCH BODY needle, whose hits
// must be half the messages.

import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { openSqliteRepository } from '../../src/store/sqlite/index.js';
import { currentGeneration, replaceSearchIndex } from '../../src/store/sqlite/search-index.js';
import { testMessage } from './fixtures.js';

type Request =
  | { op: 'search'; mailbox: number; term: string }
  | { op: 'index' }
  | { op: 'lag' }
  | { op: 'race'; mailbox: number; rounds: number; replace: boolean; tag: string }
  | { op: 'close' };

const file = process.argv[2]!;
const repo = openSqliteRepository(file, { fsync: false });

async function race(mailbox: number, rounds: number, replace: boolean, tag: string): Promise<string[]> {
  const problems: string[] = [];
  const main = new Database(file);
  main.pragma('busy_timeout = 5000');
  const count = main.prepare(`SELECT count(*) FROM messages WHERE mailbox_id = ?`).pluck();
  try {
    for (let i = 0; i < rounds; i++) {
      try {
        if (replace && i % 3 === 0) replaceSearchIndex(main, file, currentGeneration(main));
        await repo.store.appendMessages(mailbox, [testMessage({ body: `${tag} needle ${i}` }).item(), testMessage({ body: `${tag} hay ${i}` }).item()]);
        if (i % 2 === 0) repo.indexSearchText();
        const before = count.get(mailbox) as number;
        const hits = (await repo.store.search(mailbox, { kind: 'body', value: 'needle' })).length;
        const after = count.get(mailbox) as number;
        if (hits * 2 < before || hits * 2 > after) problems.push(`round ${i}: ${hits} hits among ${before}..${after} messages`);
      } catch (err) {
        problems.push(`round ${i}: ${err instanceof Error ? err.message : String(err)} (${(err as { code?: string }).code ?? ''})`);
      }
    }
  } finally {
    main.close();
  }
  return problems;
}

const answer = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');
answer({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const request = JSON.parse(line) as Request;
  try {
    if (request.op === 'search') answer({ ok: await repo.store.search(request.mailbox, { kind: 'body', value: request.term }) });
    else if (request.op === 'index') answer({ ok: repo.indexSearchText() });
    else if (request.op === 'lag') answer({ ok: repo.searchIndexLag() });
    else if (request.op === 'race') answer({ ok: await race(request.mailbox, request.rounds, request.replace, request.tag) });
    else {
      await repo.close();
      answer({ ok: true });
      break;
    }
  } catch (err) {
    answer({ error: err instanceof Error ? `${err.message} (${(err as { code?: string }).code ?? ''})` : String(err) });
  }
}
