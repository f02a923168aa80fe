// Shared SEARCH evaluation for the SQL backends: the domain SearchQuery is
// compiled to one SQL boolean expression over a message row, with the few
// dialect differences (placeholders, substring test, header-field test) behind
// a small interface, so SQLite and PostgreSQL run the same semantics.
//
// Text matching is on pre-folded copies written at ingest: the searchable
// header text and body text are folded with foldText(), the i;unicode-casemap
// mapping (RFC 5051, which RFC 5255 I18NLEVEL=1 makes SEARCH's comparator),
// and the query strings are folded the same way, so the comparator's
// substring operation is a plain instr()/strpos() on the folded octets and no
// JSON is parsed per message. Text folded by an older Petrel is folded again
// by a schema migration (store/sqlite/schema.ts, store/postgres/search-refold.ts).
//
// Every compiled predicate is non-NULL (nullable columns are wrapped), so
// NOT behaves as the complement.

import type { HeaderField } from '../mime/types.js';
import { unicodeCasemap } from '../mime/unicode-casemap.js';
import { systemFlagBit, isRecent } from './flags.js';
import type { SearchQuery, UidSet } from './types.js';

/**
 * The folding used for stored search text and for query strings:
 * i;unicode-casemap. Not idempotent (see unicode-casemap.ts): fold original
 * text only, never folded text.
 */
export function foldText(s: string): string {
  return unicodeCasemap(s);
}

/**
 * The searchable header text of a message: "\n" then one "name:value\n" line
 * per field, name and value folded (TEXT may match across them), the value
 * decoded first and its line breaks turned into spaces, so a field's lines
 * can be found by "\nNAME:" (searchFieldName).
 */
export function headerSearchText(headers: readonly HeaderField[]): string {
  let out = '\n';
  for (const h of headers) out += `${searchFieldName(h.name)}:${foldText(h.value).replace(/[\r\n]+/g, ' ')}\n`;
  return out;
}

/** A field name as the header text has it (names are ASCII: upper case). */
export function searchFieldName(name: string): string {
  return foldText(name);
}

/**
 * Does the header text have a field named `foldedField` (searchFieldName)
 * whose value contains `foldedValue`? Empty value: the field exists. Both are
 * given folded, as the SQL gets them (folding is not idempotent).
 */
export function headerTextHas(text: string, foldedField: string, foldedValue: string): boolean {
  const key = `\n${foldedField}:`;
  let i = text.indexOf(key);
  while (i >= 0) {
    const start = i + key.length;
    const end = text.indexOf('\n', start);
    if (foldedValue === '' || text.slice(start, end < 0 ? undefined : end).includes(foldedValue)) return true;
    i = end < 0 ? -1 : text.indexOf(key, end);
  }
  return false;
}

/** The Date: header's calendar day in its own zone, "YYYY-MM-DD" (RFC 9051 SENT* keys), or null. */
export function sentDay(sentDate: number | null, offsetMinutes: number | null): string | null {
  if (sentDate === null || !Number.isFinite(sentDate)) return null;
  const d = new Date(sentDate + (offsetMinutes ?? 0) * 60_000);
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
}

/** Midnight starting `day` ("YYYY-MM-DD") in the server's zone, and the next midnight, as ms. */
export function serverDayBounds(day: string): { start: number; end: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) throw new Error(`bad search day ${JSON.stringify(day)}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  return { start: new Date(y, mo, d).getTime(), end: new Date(y, mo, d + 1).getTime() };
}

export interface SearchDialect {
  /** The placeholder of the n-th (1-based) parameter: "?" or "$n". */
  placeholder(n: number): string;
  /** Boolean: `haystack` (an SQL expression) contains the text parameter `needle`. */
  contains(haystack: string, needle: string): string;
  /** Boolean: header text column has field (parameter) whose value contains the folded value (parameter). */
  headerHas(headerText: string, field: string, value: string): string;
  /** Boolean: `column` lies in one of the ranges of a JSON parameter [[start, end], ...] (for long UID sets). */
  inJsonRanges(column: string, json: string): string;
  /**
   * Optional full-text index over the header and body text: the SQL of a
   * text test answered through the index, or null when the index cannot
   * help (a term shorter than a trigram); then the compiler writes exact().
   * The result must hold exactly where exact() does (the index only narrows
   * the rows exact() reads). See TextIndexRequest.
   */
  textIndex?(request: TextIndexRequest): TextIndexTest | null;
}

export type TextColumn = 'header' | 'body';

export interface TextIndexRequest {
  /** The message's text must contain `term` in one of these columns. */
  columns: readonly TextColumn[];
  /** Folded (foldText). */
  term: string;
  param: (v: string) => string;
  /**
   * The test written as a scan of the text columns (SearchColumns
   * headerText/bodyText). It adds parameters: call it (or fieldTest) at most
   * once, at the place its SQL goes in the result.
   */
  exact: () => string;
  /** A header key's test that the term is in the value of its field: exact() is contains AND this. */
  fieldTest?: () => string;
}

export interface TextIndexTest {
  sql: string;
  /** The SQL reads the message's text columns of the outer query (so the backend must join them). */
  readsRow: boolean;
}

/**
 * The substring test of a text key (BODY, TEXT, a header key), or null for
 * other keys: the folded term, the columns it is looked for in, and for a
 * header key with a value the field whose value must hold it.
 */
export function textKeyTest(q: SearchQuery): { columns: TextColumn[]; term: string; field?: string } | null {
  switch (q.kind) {
    case 'body':
      return { columns: ['body'], term: foldText(q.value) };
    case 'text':
      return { columns: ['header', 'body'], term: foldText(q.value) };
    case 'header': {
      const field = searchFieldName(q.field);
      const value = foldText(q.value);
      // An empty value: the field exists.
      return value === '' ? { columns: ['header'], term: `\n${field}:` } : { columns: ['header'], term: value, field };
    }
    default:
      return null;
  }
}

/** SQL expressions of the message row's columns. */
export interface SearchColumns {
  uid: string;
  modseq: string;
  systemFlags: string;
  /** " kw1 kw2 " or "" (see flags.ts). */
  keywords: string;
  internalDate: string; // ms
  saveDate: string; // ms
  size: string;
  blobId: string;
  sentDay: string; // "YYYY-MM-DD" or NULL
  headerText: string;
  bodyText: string;
}

export interface CompiledSearch {
  sql: string;
  params: Array<string | number>;
  /** Which optional column groups the expression reads (so the backend joins only what is needed). */
  uses: { text: boolean; sentDay: boolean };
}

const MAX_UID = 4294967295;
const INLINE_RANGES = 64;

export function compileSearch(
  query: SearchQuery,
  dialect: SearchDialect,
  cols: SearchColumns,
  now: number = Date.now(),
): CompiledSearch {
  const params: Array<string | number> = [];
  const uses = { text: false, sentDay: false };
  const p = (v: string | number): string => {
    params.push(v);
    return dialect.placeholder(params.length);
  };
  const TRUE = '(1=1)';
  const FALSE = '(1=0)';

  const uidIn = (set: UidSet): string => {
    if (set.length === 0) return FALSE;
    const ranges = set.map((r) => [r.start, Number.isFinite(r.end) ? Math.min(r.end, MAX_UID) : MAX_UID]);
    if (ranges.length > INLINE_RANGES) return dialect.inJsonRanges(cols.uid, p(JSON.stringify(ranges)));
    return `(${ranges.map(([a, b]) => (a === b ? `${cols.uid} = ${p(a!)}` : `${cols.uid} BETWEEN ${p(a!)} AND ${p(b!)}`)).join(' OR ')})`;
  };

  // Substring tests on the text columns (and a header field's value when
  // `field` is given): through the dialect's index when it has one.
  const textCol = { header: cols.headerText, body: cols.bodyText };
  const textTest = (columns: readonly TextColumn[], folded: string, field?: string): string => {
    const fieldTest = field === undefined ? undefined : () => dialect.headerHas(cols.headerText, p(field), p(folded));
    const exact = () => {
      const tests = columns.map((c) => dialect.contains(textCol[c], p(folded)));
      const contains = tests.length === 1 ? tests[0]! : `(${tests.join(' OR ')})`;
      // The cheap substring test first narrows the rows the field test runs on.
      return fieldTest ? `(${contains} AND ${fieldTest()})` : contains;
    };
    const indexed = dialect.textIndex?.({ columns, term: folded, param: p, exact, ...(fieldTest && { fieldTest }) });
    if (indexed && !indexed.readsRow) return indexed.sql;
    uses.text = true;
    return indexed ? indexed.sql : exact();
  };

  const walk = (q: SearchQuery): string => {
    switch (q.kind) {
      case 'all':
        return TRUE;
      case 'uid':
        return uidIn(q.set);
      case 'flag': {
        const bit = systemFlagBit(q.flag);
        let has: string;
        if (bit) has = `(${cols.systemFlags} & ${bit}) <> 0`;
        else if (isRecent(q.flag)) has = FALSE; // never stored (IMAP4rev2 has no \Recent)
        else has = dialect.contains(`lower(${cols.keywords})`, p(` ${q.flag.toLowerCase()} `));
        return q.present ? `(${has})` : `(NOT (${has}))`;
      }
      case 'header':
      case 'body':
      case 'text': {
        const t = textKeyTest(q)!;
        return textTest(t.columns, t.term, t.field);
      }
      case 'date': {
        if (q.field === 'sent') {
          uses.sentDay = true;
          const op = q.op === 'before' ? '<' : q.op === 'on' ? '=' : '>=';
          return `COALESCE(${cols.sentDay} ${op} ${p(q.day)}, ${FALSE})`;
        }
        const col = q.field === 'internal' ? cols.internalDate : cols.saveDate;
        const { start, end } = serverDayBounds(q.day);
        if (q.op === 'before') return `(${col} < ${p(start)})`;
        if (q.op === 'since') return `(${col} >= ${p(start)})`;
        return `(${col} >= ${p(start)} AND ${col} < ${p(end)})`;
      }
      case 'size':
        return q.op === 'larger' ? `(${cols.size} > ${p(q.octets)})` : `(${cols.size} < ${p(q.octets)})`;
      case 'modseq':
        return `(${cols.modseq} >= ${p(q.modseq)})`;
      case 'age': {
        // RFC 5032 2: compared with the target time to the second, and a message
        // exactly at the target second matches both OLDER and YOUNGER.
        const target = Math.floor(now / 1000) - q.seconds;
        return q.op === 'older'
          ? `(${cols.internalDate} < ${p((target + 1) * 1000)})`
          : `(${cols.internalDate} >= ${p(target * 1000)})`;
      }
      case 'blob':
        return `(${cols.blobId} = ${p(q.blobId)})`;
      case 'not':
        return `(NOT ${walk(q.query)})`;
      case 'or':
        return `(${walk(q.left)} OR ${walk(q.right)})`;
      case 'and':
        return q.queries.length === 0 ? TRUE : `(${q.queries.map(walk).join(' AND ')})`;
    }
  };

  return { sql: walk(query), params, uses };
}
