// The SEARCH statement of the SQL backends: the shared compiler's predicate
// over the shared schema (messages m, blobs b, blob_text t). The compiled
// parameters come first, the mailbox id last.
//
// Substring tests on the folded text go through a trigram index when the term
// has at least 3 characters (a shorter term has no trigram; it scans):
// - SQLite: the FTS5 table blob_text_fts in the index file (tokenizer trigram,
//   case_sensitive 1 since the text is already folded, detail=column), plus
//   the rows not indexed yet (../sqlite/search-index.ts). A term is looked up as
//   the AND of its trigrams in its column(s): every row holding the
//   substring holds them, so these candidates are a superset, and the exact
//   test runs on them only. How each test is used (scan, filter, or the outer
//   loop) is chosen per query by the store: ../sqlite/search.ts.
// - PostgreSQL: GIN pg_trgm indexes on the header text and on the body's
//   distinct words (bodyWords); the test is a LIKE with the term escaped,
//   which the planner answers from the indexes.

import {
  compileSearch,
  textKeyTest,
  type SearchColumns,
  type SearchDialect,
  type TextColumn,
  type TextIndexRequest,
  type TextIndexTest,
} from '../../mail/search.js';
import type { SearchQuery } from '../../mail/types.js';

export const SEARCH_COLUMNS: SearchColumns = {
  uid: 'm.uid',
  modseq: 'm.modseq',
  systemFlags: 'm.system_flags',
  keywords: 'm.keywords',
  internalDate: 'm.internal_date',
  saveDate: 'm.save_date',
  size: 'm.size',
  blobId: 'm.blob_id',
  sentDay: 'b.sent_day',
  headerText: 't.header_text',
  bodyText: 't.body_text',
};

/** The shortest term a trigram index can answer, in Unicode code points. */
export const MIN_INDEXED_TERM = 3;

/**
 * At most this many of a long term's trigrams are looked up: any subset
 * still gives a superset of the matches, and the exact test decides.
 */
const MAX_TRIGRAMS = 16;

/** The distinct trigrams of `term` (code points), at most MAX_TRIGRAMS spread over it, or [] if it is too short. */
export function termTrigrams(term: string): string[] {
  const chars = [...term];
  if (chars.length < MIN_INDEXED_TERM) return [];
  // A NUL cannot be in an FTS5 query string (nor in an IMAP string); leaving a trigram out only widens the candidates.
  const all = [...new Set(Array.from({ length: chars.length - 2 }, (_, i) => chars.slice(i, i + 3).join('')))].filter(
    (t) => !t.includes('\0'),
  );
  if (all.length <= MAX_TRIGRAMS) return all;
  // First and last included, the rest evenly between.
  return Array.from({ length: MAX_TRIGRAMS }, (_, i) => all[Math.round((i * (all.length - 1)) / (MAX_TRIGRAMS - 1))]!);
}

const FTS_COLUMN: Record<TextColumn, string> = { header: 'header_text', body: 'body_text' };

/** SQLite: the FTS5 table, in the index file attached as `search` (../sqlite/search-index.ts). */
export const SQLITE_FTS = 'search.blob_text_fts';
/** SQLite: the highest blob_text id the index holds; every row above it is unindexed. */
export const SQLITE_INDEXED_TO = '(SELECT indexed_to FROM search.search_state WHERE id = 1)';

/** An FTS5 query: the term's trigrams, each a quoted string ("" escapes "), all in the given columns. */
export function ftsTrigramQuery(columns: readonly TextColumn[], term: string): string | null {
  const trigrams = termTrigrams(term);
  if (trigrams.length === 0) return null;
  const all = trigrams.map((t) => `"${t.replaceAll('"', '""')}"`).join(' AND ');
  return `{${columns.map((c) => FTS_COLUMN[c]).join(' ')}} : (${all})`;
}

/**
 * SQLite: the message's blob is one of the FTS5 candidates that pass the
 * exact test, a set computed once per statement. On m.blob_id, so the outer
 * query reads no text for it, and as a top-level conjunct the set can be the
 * outer loop (messages_blob index; searchStatement's `drive`). Never an IN on
 * t.id next to the t.blob_id join: SQLite would probe the (blob_id, rowid)
 * index once per list entry per message, which is quadratic.
 */
export function sqliteTextIndex({ columns, term, param, exact }: TextIndexRequest): TextIndexTest | null {
  const query = ftsTrigramQuery(columns, term);
  if (query === null) return null;
  // The index lags the text (../sqlite/search-index.ts): the rows above
  // indexed_to are candidates too.
  return {
    sql: `m.blob_id IN (SELECT t.blob_id FROM blob_text t
      WHERE (t.id IN (SELECT rowid FROM ${SQLITE_FTS} WHERE blob_text_fts MATCH ${param(query)})
        OR t.id > ${SQLITE_INDEXED_TO}) AND ${exact()})`,
    readsRow: false,
  };
}

/** A text test of a query: the folded term and the columns it is looked for in. */
export interface TextTerm {
  columns: readonly TextColumn[];
  term: string;
}

/** The text test of a SEARCH key, as the compiler makes it; null for other keys. */
function textTerm(q: SearchQuery): TextTerm | null {
  const t = textKeyTest(q);
  return t && { columns: t.columns, term: t.term };
}

/** Every text test of `query` that an index can answer (3+ characters), each once. */
export function indexableTextTerms(query: SearchQuery): TextTerm[] {
  const out = new Map<string, TextTerm>();
  const walk = (q: SearchQuery): void => {
    if (q.kind === 'not') walk(q.query);
    else if (q.kind === 'or') [q.left, q.right].forEach(walk);
    else if (q.kind === 'and') q.queries.forEach(walk);
    else {
      const t = textTerm(q);
      if (t && termTrigrams(t.term).length > 0) out.set(textTermKey(t), t);
    }
  };
  walk(query);
  return [...out.values()];
}

/** Text terms every match must contain (top-level conjuncts), indexable ones only. */
export function requiredTextTerms(query: SearchQuery): TextTerm[] {
  const conjuncts = query.kind === 'and' ? query.queries : [query];
  return conjuncts.map(textTerm).filter((t): t is TextTerm => t !== null && termTrigrams(t.term).length > 0);
}

export function textTermKey(t: TextTerm): string {
  return `${t.columns.join(',')}:${t.term}`;
}

/** `s` as a LIKE pattern matching itself only (escape character backslash). */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, '\\$&');
}

/**
 * PostgreSQL indexes the body text through `blob_text.body_words`: its
 * distinct words (runs without BODY_WORD_SEPARATORS), each once, between
 * single spaces (" a b c "). pg_trgm takes a text's trigrams word by word
 * and sorts every occurrence: on the whole body that was about half of the
 * append statement's PostgreSQL CPU, while the distinct words give the same
 * trigrams.
 * A term found in the body has each of its separator-free chunks inside one
 * word, a chunk after a separator at a word's start and one before a
 * separator at its end, so LIKE tests of the chunks on body_words narrow
 * the rows (through its index) and the exact LIKE on body_text decides.
 * The migration's SQL function (../postgres/body-words.ts) splits on the
 * same characters. A term without separators lies inside one word, so its
 * LIKE on body_words alone is exact (a match there cannot cross a space).
 */
export const BODY_WORD_SEPARATORS = ' \t\n\r\f\v';
const SEPARATOR_RUN = new RegExp(`[${BODY_WORD_SEPARATORS}]+`);

/**
 * The body_words value of a (folded) body text: its words in the order they
 * first occur. One scan by character codes that hashes each word as it goes
 * (FNV-1a over its UTF-16 code units) and looks the hash up in an open
 * addressing table of the distinct words so far; only a new word is sliced,
 * a repeated one (most of a body's words) is compared in place
 * (startsWith). The output is joined once. Against a Set of every word's
 * slice: about a third less CPU and a fifth of the bytes allocated.
 */
export function bodyWords(bodyText: string): string {
  const n = bodyText.length;
  // The table kept from the last call, emptied here (so that a call that threw leaves nothing behind).
  let slots = wordSlots.fill(0);
  let mask = slots.length - 1;
  let hashes = wordHashes;
  // ['', word 1, ..., word k, ''] joined by spaces; word k's hash is hashes[k - 1], a slot holds k (0: empty).
  const out = [''];
  let start = -1;
  let h = 0;
  for (let i = 0; i <= n; i++) {
    // BODY_WORD_SEPARATORS: space, and \t \n \v \f \r (9 to 13); the end of the text ends a word too.
    const c = i < n ? bodyText.charCodeAt(i) : 32;
    if (c !== 32 && (c < 9 || c > 13)) {
      if (start < 0) {
        start = i;
        h = FNV_OFFSET;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (start < 0) continue;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const k = slots[slot]!;
      if (k === 0) {
        const word = out.length;
        out.push(bodyText.slice(start, i));
        if (word > hashes.length) hashes = grown(hashes, hashes.length * 2);
        hashes[word - 1] = h;
        slots[slot] = word;
        if (word * 2 > slots.length) {
          slots = new Int32Array(slots.length * 2);
          mask = slots.length - 1;
          for (let w = 1; w <= word; w++) {
            let s = hashes[w - 1]! & mask;
            while (slots[s] !== 0) s = (s + 1) & mask;
            slots[s] = w;
          }
        }
        break;
      }
      if (hashes[k - 1] === h && out[k]!.length === i - start && bodyText.startsWith(out[k]!, start)) break;
    }
    start = -1;
  }
  // Kept for the next call (this function does not yield), unless a long list of words made it large.
  if (slots.length <= MAX_KEPT_SLOTS) {
    wordSlots = slots;
    wordHashes = hashes;
  }
  if (out.length === 1) return ' ';
  out.push('');
  return out.join(' ');
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** bodyWords' table of slots (a power of two, at most half full) and its words' hashes. */
let wordSlots = new Int32Array(1024);
let wordHashes = new Int32Array(512);
const MAX_KEPT_SLOTS = 4096;

function grown(a: Int32Array, length: number) {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}

/**
 * LIKE patterns on body_words that every body containing `term` matches:
 * its chunks that give pg_trgm a trigram, i.e. of MIN_INDEXED_TERM or more
 * characters, or shorter ones bounded by the spaces around words (pg_trgm
 * pads a word with spaces: "% to %" holds "  t", " to" and "to ").
 */
export function bodyWordPatterns(term: string): string[] {
  const chunks = term.split(SEPARATOR_RUN);
  const last = chunks.length - 1;
  return chunks.flatMap((chunk, i) => {
    const [starts, ends] = [i > 0, i < last];
    const bounds = Number(starts) + Number(ends);
    if (chunk === '' || [...chunk].length + bounds < MIN_INDEXED_TERM) return [];
    return [`${starts ? '% ' : '%'}${likeEscape(chunk)}${ends ? ' %' : '%'}`];
  });
}

/**
 * PostgreSQL: LIKE '%term%' on the folded columns, which their pg_trgm GIN
 * indexes answer, the body's through its words (bodyWordPatterns). With the
 * term escaped it is the exact substring test (a deterministic collation
 * compares characters), so only a header key's field test is added.
 */
export function postgresTextIndex({ columns, term, param, fieldTest }: TextIndexRequest): TextIndexTest | null {
  if ([...term].length < MIN_INDEXED_TERM) return null;
  const wordPatterns = columns.includes('body') ? bodyWordPatterns(term) : [];
  // A term whose every chunk is short and unbounded ("a  b" has "a" and "b" bounded once) gives the index nothing.
  if (columns.includes('body') && wordPatterns.length === 0) return null;
  const like = (column: string, placeholder: string) => `${column} LIKE ${placeholder} ESCAPE '\\'`;
  const pattern = param(`%${likeEscape(term)}%`);
  const oneWord = !SEPARATOR_RUN.test(term);
  const likes = columns.map((c) =>
    c === 'header'
      ? like(SEARCH_COLUMNS.headerText, pattern)
      : oneWord
        ? like(BODY_WORDS, pattern)
        : `(${[...wordPatterns.map((w) => like(BODY_WORDS, param(w))), like(SEARCH_COLUMNS.bodyText, pattern)].join(' AND ')})`,
  );
  const contains = likes.length === 1 ? likes[0]! : `(${likes.join(' OR ')})`;
  return { sql: fieldTest ? `(${contains} AND ${fieldTest()})` : contains, readsRow: true };
}

/** PostgreSQL: the body's distinct words (bodyWords), beside SEARCH_COLUMNS.bodyText. */
const BODY_WORDS = 't.body_words';

/**
 * How one text test is evaluated: `scan` reads the text of every message
 * the rest of the query leaves; `index` uses the dialect's index; `drive`
 * (SQLite, a requiredTextTerms() term) also makes its candidates the outer
 * loop of the statement, so that a rare term costs a few lookups.
 */
export type TextPlan = 'scan' | 'index' | 'drive';

export interface SearchStatementOptions {
  /** Every text test scans (benchmarks and tests compare this with the index). */
  scan?: boolean;
  /** The plan of each text test (default `index`). */
  textPlan?: (t: TextTerm) => TextPlan;
}

/** SQL returning the uids of live messages of one mailbox matching `query`, ascending; bind `params`. */
export function searchStatement(
  query: SearchQuery,
  dialect: SearchDialect,
  mailboxId: number,
  options: SearchStatementOptions = {},
): { sql: string; params: Array<string | number> } {
  let drive = false;
  const textIndex = dialect.textIndex;
  const effective: SearchDialect = {
    ...dialect,
    textIndex:
      textIndex &&
      ((request) => {
        const plan = options.scan ? 'scan' : (options.textPlan?.(request) ?? 'index');
        if (plan === 'scan') return null;
        const test = textIndex(request);
        if (test && plan === 'drive') drive = true;
        return test;
      }),
  };
  const compiled = compileSearch(query, effective, SEARCH_COLUMNS);
  // INDEXED BY: the driving test is `m.blob_id IN (...)` at the top level, so
  // SQLite looks up each candidate in messages_blob (blob_id, mailbox_id, uid).
  const joins =
    (drive ? ' INDEXED BY messages_blob' : '') +
    (compiled.uses.sentDay ? ' JOIN blobs b ON b.blob_id = m.blob_id' : '') +
    (compiled.uses.text ? ' JOIN blob_text t ON t.blob_id = m.blob_id' : '');
  const mailbox = dialect.placeholder(compiled.params.length + 1);
  const sql = `SELECT m.uid FROM messages m${joins}
    WHERE ${compiled.sql} AND m.mailbox_id = ${mailbox} AND m.expunged_modseq IS NULL ORDER BY m.uid`;
  return { sql, params: [...compiled.params, mailboxId] };
}
