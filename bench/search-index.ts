// Store-level SEARCH benchmark: builds one large mailbox through the MailStore
// API (deterministic, varied text; see MessageGenerator) and times UID SEARCH
// equivalents through store.search() (the text index) and through the same
// statement with every text test scanning the folded text; the two must give
// the same uids. Run by hand (not in npm test), e.g.:
//
//   npm run bench:search -- --messages 100000
//   node --import tsx bench/search-index.ts --messages 100000 --pg          # also a private PostgreSQL
//   node --import tsx bench/search-index.ts --pg-url postgres://... --no-sqlite
//   node --import tsx bench/search-index.ts --messages 100000 --keep        # then --sqlite-db FILE to re-time
//
// Building 100,000 messages takes several minutes. The blobs themselves are
// not written (SEARCH reads only the metadata database); each message is
// indexed by the real indexer (src/mime).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { indexMessage } from '../src/mime/indexer.js';
import { headerTextHas } from '../src/mail/search.js';
import type { MailStore } from '../src/mail/ports.js';
import type { AppendItem, SearchQuery } from '../src/mail/types.js';
import { openSqliteRepository } from '../src/store/sqlite/index.js';
import { createRng } from './lib/messages.js';
import { sqliteSearchDialect } from '../src/store/sqlite/mail-store.js';
import { openPostgresRepository, postgresSearchDialect } from '../src/store/postgres/index.js';
import { searchStatement } from '../src/store/shared/search-sql.js';
import { startPostgres, type PostgresInstance } from '../test/support/postgres.js';

const { values: opts } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    pg: { type: 'boolean', default: false },
    'pg-url': { type: 'string' },
    'no-sqlite': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'sqlite-db': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log(`usage: node --import tsx bench/search-index.ts [options]
  --messages N   messages in the mailbox (default 100000)
  --runs N       timed runs per query, after one warm-up (default 5; the median is reported)
  --batch N      messages per appendMessages call (default 1000)
  --seed N       generator seed (default 1)
  --pg           also run against a private PostgreSQL (initdb, as test/support/postgres.ts)
  --pg-url URL   also run against this (empty) PostgreSQL database
  --no-sqlite    skip SQLite
  --keep         keep the SQLite temp dir
  --sqlite-db F  time the queries on F, a database kept by an earlier run (--keep), instead of building one`);
  process.exit(0);
}
const MESSAGES = positive('messages');
const RUNS = positive('runs');
const BATCH = positive('batch');
const SEED = Number(opts.seed);

function positive(name: 'messages' | 'runs' | 'batch'): number {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

// --- deterministic text ---------------------------------------------------

/** mulberry32: a small, fast, seeded PRNG. */

const COMMON = `the of and to a in is that for it as with was on be by this are at from or have an not
but which we you all were they will there their if has been one would can more about when so what out up
other some into them these then its also than only time new just like could our two first over most after
any how may see each well people should because very such between through even much where those while
before here same being both under never again still every last another think make good know need back`.split(/\s+/);
const TOPICAL = `meeting project report budget review team customer release schedule update plan office
contract deadline invoice payment order delivery account support request issue server network database
backup security password policy training quarterly annual sales marketing product design feature version
document proposal agenda minutes travel expense approval holiday conference presentation client vendor
invoice shipment warehouse inventory forecast revenue margin board strategy hiring interview candidate
offer onboarding laptop migration outage incident ticket deployment staging production analytics survey
feedback newsletter webinar launch campaign partner legal compliance audit finance tax payroll benefits`.split(/\s+/);
const FOREIGN = `café naïve résumé größe straße müller über außerdem déjà garçon señor año niño
kırmızı ışık istanbul ıspanak 東京 会議 資料 報告書 予定 привет встреча отчёт договор ελληνικά συνάντηση
zürich françois jürgen søren ångström mañana`.split(/\s+/);

const SYLLABLES = 'ka ri to mo sa ne lu vi pe do gra stra ble ton mer dis con pro tek fan sol ver nal ium ex ar en or ul ix'.split(' ');

/** A Zipf-distributed vocabulary: common words first, then topical, foreign and made-up words. */
function vocabulary(rand: () => number): { words: string[]; cumulative: Float64Array } {
  const words = [...COMMON, ...TOPICAL, ...FOREIGN];
  const seen = new Set(words);
  while (words.length < 30_000) {
    const n = 2 + Math.floor(rand() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  const cumulative = new Float64Array(words.length);
  let sum = 0;
  words.forEach((_, r) => (cumulative[r] = sum += 1 / (r + 1) ** 1.05));
  for (let i = 0; i < cumulative.length; i++) cumulative[i]! /= sum;
  return { words, cumulative };
}

const FIRST = ['Alice', 'Bob', 'Carol', 'David', 'Eve', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Niaj', 'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter', 'Zoë', 'Jürgen', 'François', 'Ayşe'];
const LAST = ['Smith', 'Jones', 'Brown', 'Taylor', 'Wilson', 'Müller', 'Schmidt', 'Dubois', 'Rossi', 'García', 'Novak', 'Yılmaz', 'Tanaka', 'Kowalski', 'Andersen', 'Okafor'];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'corp.example', 'mail.example.de', 'lists.example.fr'];

/** The rare planted word (BODY <rare word>): in one message out of RARE_EVERY. */
const RARE_WORD = 'xylophonic';
const RARE_EVERY = 10_007;

class MessageGenerator {
  private readonly rand: () => number;
  private readonly vocab: ReturnType<typeof vocabulary>;

  constructor(seed: number) {
    this.rand = createRng(seed);
    this.vocab = vocabulary(createRng(seed ^ 0x9e3779b9));
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private word(): string {
    const u = this.rand();
    const c = this.vocab.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return this.vocab.words[lo]!;
  }

  private sentence(): string {
    const n = 5 + Math.floor(this.rand() * 16);
    const ws = Array.from({ length: n }, () => this.word());
    if (this.rand() < 0.05) ws.push(`${Math.floor(this.rand() * 100000)}`);
    const s = ws.join(' ');
    return s[0]!.toUpperCase() + s.slice(1) + (this.rand() < 0.1 ? '?' : '.');
  }

  private body(n: number, from: string): string {
    // Log-normal length: median ~900 characters, a long tail.
    const z = Math.sqrt(-2 * Math.log(1 - this.rand())) * Math.cos(2 * Math.PI * this.rand());
    const target = Math.min(20_000, Math.max(80, Math.round(Math.exp(6.8 + 0.8 * z))));
    const paragraphs: string[] = [`Hello ${this.pick(FIRST)},`];
    let len = 0;
    while (len < target) {
      const p = Array.from({ length: 1 + Math.floor(this.rand() * 4) }, () => this.sentence()).join(' ');
      paragraphs.push(this.rand() < 0.15 ? p.replace(/(.{1,70})(\s|$)/g, '> $1\n').trimEnd() : p);
      len += p.length;
    }
    if (n % RARE_EVERY === 7) paragraphs.splice(1, 0, `The ${RARE_WORD} arrangement needs a second look.`);
    paragraphs.push(`--\n${from}`);
    return paragraphs.join('\n\n');
  }

  /** Message number `n` (0-based): raw bytes. */
  message(n: number): Buffer {
    const first = this.pick(FIRST);
    const last = this.pick(LAST);
    const fromName = `${first} ${last}`;
    const address = `${first}.${last}`.normalize('NFD').replace(/[^\x20-\x7e]/g, '').toLowerCase();
    const from = `${encodeWord(fromName)} <${address}@${this.pick(DOMAINS)}>`;
    const subjectWords = Array.from({ length: 3 + Math.floor(this.rand() * 6) }, () => this.word());
    if (this.rand() < 0.03) subjectWords.unshift('invoice');
    let subject = subjectWords.join(' ');
    subject = subject[0]!.toUpperCase() + subject.slice(1);
    if (this.rand() < 0.4) subject = `Re: ${subject}`;
    const date = new Date(Date.UTC(2020, 0, 1) + n * 600_000);
    const text = this.body(n, fromName);
    const encoding = this.rand();
    let cte: string;
    let bodyBytes: string;
    if (encoding < 0.1) {
      cte = 'base64';
      bodyBytes = Buffer.from(text, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
    } else if (encoding < 0.3) {
      cte = 'quoted-printable';
      bodyBytes = quotedPrintable(text);
    } else {
      cte = '8bit';
      bodyBytes = text.replace(/\r?\n/g, '\r\n');
    }
    const headers = [
      `From: ${from}`,
      `To: bench <bench@example.com>`,
      `Subject: ${encodeWord(subject)}`,
      `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${n}.${SEED}@bench.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      `Content-Transfer-Encoding: ${cte}`,
    ];
    return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${bodyBytes}\r\n`, 'utf8');
  }
}

/** RFC 2047 Q-encoded word when `s` is not ASCII. */
function encodeWord(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return s;
  const q = [...Buffer.from(s, 'utf8')]
    .map((b) => (b === 0x20 ? '_' : /[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
  return `=?utf-8?q?${q}?=`;
}

function quotedPrintable(text: string): string {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    let enc = '';
    for (const b of Buffer.from(line, 'utf8')) {
      enc += b === 0x3d || b > 0x7e || (b < 0x20 && b !== 0x09) ? `=${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
    }
    while (enc.length > 75) {
      let cut = 75;
      const eq = enc.lastIndexOf('=', cut - 1);
      if (eq > cut - 3) cut = eq; // never split an =XX escape
      lines.push(`${enc.slice(0, cut)}=`);
      enc = enc.slice(cut);
    }
    lines.push(enc);
  }
  return lines.join('\r\n');
}

// --- the mailbox ----------------------------------------------------------

async function fill(store: MailStore, mailboxId: number, label: string): Promise<number> {
  const gen = new MessageGenerator(SEED);
  const started = performance.now();
  let bytes = 0;
  for (let first = 0; first < MESSAGES; first += BATCH) {
    const items: AppendItem[] = [];
    for (let n = first; n < Math.min(MESSAGES, first + BATCH); n++) {
      const raw = gen.message(n);
      bytes += raw.length;
      items.push({
        blobId: createHash('sha256').update(raw).digest('hex'),
        index: indexMessage(raw),
        flags: n % 3 === 0 ? [] : ['\\Seen'],
        internalDate: new Date(Date.UTC(2020, 0, 1) + n * 600_000),
      });
    }
    await store.appendMessages(mailboxId, items);
    if ((first / BATCH) % 10 === 9) process.stderr.write(`  ${label}: ${first + items.length} messages\r`);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write('\n');
  console.log(`${label}: ${MESSAGES} messages (${(bytes / 1e6).toFixed(0)} MB of raw mail) appended in ${seconds.toFixed(1)} s`);
  return bytes;
}

const QUERIES: Array<{ name: string; query: SearchQuery }> = [
  { name: `BODY ${RARE_WORD} (rare)`, query: { kind: 'body', value: RARE_WORD } },
  { name: 'BODY project (common)', query: { kind: 'body', value: 'project' } },
  { name: 'BODY the (very common)', query: { kind: 'body', value: 'the' } },
  { name: 'BODY "budget review"', query: { kind: 'body', value: 'Budget Review' } },
  { name: 'TEXT quarterly', query: { kind: 'text', value: 'quarterly' } },
  { name: 'SUBJECT invoice', query: { kind: 'header', field: 'subject', value: 'invoice' } },
  { name: 'FROM müller', query: { kind: 'header', field: 'from', value: 'MÜLLER' } },
  { name: 'BODY 会議 (2 chars: scan)', query: { kind: 'body', value: '会議' } },
  { name: 'BODY zq (2 chars: scan)', query: { kind: 'body', value: 'zq' } },
  {
    name: `UNSEEN BODY ${RARE_WORD}`,
    query: { kind: 'and', queries: [{ kind: 'flag', flag: '\\Seen', present: false }, { kind: 'body', value: RARE_WORD }] },
  },
  {
    name: 'OR SUBJECT invoice BODY xylophonic',
    query: { kind: 'or', left: { kind: 'header', field: 'subject', value: 'invoice' }, right: { kind: 'body', value: RARE_WORD } },
  },
];

interface Row {
  backend: string;
  query: string;
  hits: number;
  scanMs: number;
  indexMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs a and b alternately (so that load from elsewhere hits both alike), one warm-up each, then RUNS timed. */
async function timePair(
  a: () => Promise<number[]>,
  b: () => Promise<number[]>,
): Promise<{ a: number[]; b: number[]; uidsA: number[]; uidsB: number[] }> {
  let uidsA = await a();
  let uidsB = await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    uidsA = await a();
    ta.push(performance.now() - t);
    t = performance.now();
    uidsB = await b();
    tb.push(performance.now() - t);
  }
  return { a: ta, b: tb, uidsA, uidsB };
}

async function measure(
  backend: string,
  store: MailStore,
  mailboxId: number,
  scan: (q: SearchQuery) => Promise<number[]>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const { name, query } of QUERIES) {
    const r = await timePair(() => store.search(mailboxId, query), () => scan(query));
    if (JSON.stringify(r.uidsA) !== JSON.stringify(r.uidsB))
      throw new Error(`${backend} ${name}: index and scan disagree (${r.uidsA.length} vs ${r.uidsB.length} hits)`);
    const row = { backend, query: name, hits: r.uidsA.length, scanMs: median(r.b), indexMs: median(r.a) };
    rows.push(row);
    const fmt = (xs: number[]) => `${median(xs).toFixed(1).padStart(8)} ms (min ${Math.min(...xs).toFixed(1)})`;
    console.log(`  ${name.padEnd(36)} ${String(row.hits).padStart(6)} hits  scan ${fmt(r.b)}  index ${fmt(r.a)}`);
  }
  return rows;
}

// --- SQLite ---------------------------------------------------------------

async function runSqlite(): Promise<Row[]> {
  const existing = opts['sqlite-db'];
  const dir = existing ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-search-bench-'));
  const file = existing ?? path.join(dir!, 'petrel.db');
  const repo = openSqliteRepository(file, { fsync: false });
  const raw = new Database(file);
  try {
    let mailbox;
    if (existing) {
      const account = await repo.directory.findAccount('bench');
      mailbox = account && (await repo.store.getMailbox(account.id, 'INBOX'));
      if (!mailbox) throw new Error(`${existing}: no mailbox INBOX of account bench`);
      console.log(`sqlite: ${(await repo.store.counts(mailbox.id)).messages} messages in ${existing}`);
    } else {
      const account = await repo.directory.createAccount('bench', '{PLAIN}x');
      mailbox = await repo.store.createMailbox(account.id, 'INBOX');
      await fill(repo.store, mailbox.id, 'sqlite');
    }
    // The index is filled after the commit (a server's background thread): all of it now.
    const caughtUp = repo.indexSearchText();
    if (caughtUp.indexed > 0) console.log(`sqlite: indexed ${caughtUp.indexed} texts`);
    // The same statement with the index switched off, on a second connection.
    raw.function('petrel_header_has', { deterministic: true }, (t: unknown, f: unknown, v: unknown) =>
      headerTextHas(String(t), String(f), String(v)) ? 1 : 0,
    );
    const scan = async (q: SearchQuery) => {
      const { sql, params } = searchStatement(q, sqliteSearchDialect, mailbox.id, { scan: true });
      return raw.prepare(sql).pluck().all(...params) as number[];
    };
    raw.pragma('wal_checkpoint(TRUNCATE)');
    raw.prepare(`ATTACH DATABASE ? AS search`).run(`${file}-search`);
    const total = raw.prepare(`SELECT sum(pgsize) FROM dbstat('main')`).pluck().get() as number;
    const ftsBytes = raw.prepare(`SELECT sum(pgsize) FROM dbstat('search')`).pluck().get() as number;
    const textBytes = raw.prepare(`SELECT sum(pgsize) FROM dbstat WHERE name = 'blob_text'`).pluck().get() as number;
    console.log(
      `sqlite: database ${(total / 1e6).toFixed(0)} MB, and its FTS5 index file ${(ftsBytes / 1e6).toFixed(0)} MB ` +
        `(+${((100 * ftsBytes) / total).toFixed(0)}%; blob_text ${(textBytes / 1e6).toFixed(0)} MB)`,
    );
    return await measure('sqlite', repo.store, mailbox.id, scan);
  } finally {
    raw.close();
    await repo.close();
    if (dir && opts.keep) console.log(`kept ${file}`);
    else if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// --- PostgreSQL -----------------------------------------------------------

async function runPostgres(url: string): Promise<Row[]> {
  const repo = await openPostgresRepository(url, { max: 4 });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const account = await repo.directory.createAccount(`bench-${Date.now()}`, '{PLAIN}x');
    const mailbox = await repo.store.createMailbox(account.id, 'INBOX');
    await fill(repo.store, mailbox.id, 'postgres');
    await sql`VACUUM ANALYZE blob_text`;
    await sql`VACUUM ANALYZE messages`;
    const scan = async (q: SearchQuery) => {
      const { sql: text, params } = searchStatement(q, postgresSearchDialect, mailbox.id, { scan: true });
      const rows = await sql.unsafe<Array<{ uid: string }>>(text, params, { prepare: false });
      return rows.map((r) => Number(r.uid));
    };
    const [s] = await sql<Array<{ table: string; text: string; trgm: string; db: string }>>`
      SELECT pg_total_relation_size('blob_text')::text AS text,
        (pg_relation_size('blob_text_header_trgm') + pg_relation_size('blob_text_words_trgm'))::text AS trgm,
        pg_database_size(current_database())::text AS db`;
    const trgm = Number(s!.trgm);
    const db = Number(s!.db);
    console.log(
      `postgres: database ${(db / 1e6).toFixed(0)} MB, of which the pg_trgm indexes ${(trgm / 1e6).toFixed(0)} MB ` +
        `(+${((100 * trgm) / (db - trgm)).toFixed(0)}% over the database without them; blob_text with indexes ${(Number(s!.text) / 1e6).toFixed(0)} MB)`,
    );
    return await measure('postgres', repo.store, mailbox.id, scan);
  } finally {
    await sql.end({ timeout: 5 });
    await repo.close();
  }
}

// --- main -----------------------------------------------------------------

const rows: Row[] = [];
if (!opts['no-sqlite']) rows.push(...(await runSqlite()));
let pg: PostgresInstance | null = null;
try {
  if (opts['pg-url']) rows.push(...(await runPostgres(opts['pg-url'])));
  else if (opts.pg) {
    pg = await startPostgres({ settings: { shared_buffers: '256MB', work_mem: '16MB' } });
    rows.push(...(await runPostgres(await pg.createDatabase())));
  }
} finally {
  await pg?.stop();
}
console.log(`\n${MESSAGES} messages, median of ${RUNS} runs (ms):`);
console.log('| backend | query | hits | scan | index |\n|---|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.backend} | ${r.query} | ${r.hits} | ${r.scanMs.toFixed(1)} | ${r.indexMs.toFixed(1)} |`);
