// SEARCH / UID SEARCH: RFC 9051 6.4.4 keys, RFC 3501 keys (RECENT, NEW, OLD),
// MODSEQ (RFC 7162), OLDER/YOUNGER (RFC 5032), SAVED* (RFC 8514),
// EMAILID/THREADID (RFC 8474), RETURN options (RFC 4731/5182/9394), CHARSET.

import type { SearchKey, SearchReturnOption } from '../ast.js';
import { attribute } from './fetch.js';
import { decodeUtf8, type Reader } from './reader.js';
import type { CommandParser } from './types.js';

/** Deeper nesting than this is refused (keeps recursion bounded). */
const MAX_DEPTH = 64;

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true],
  DELETED: ['\\Deleted', true],
  DRAFT: ['\\Draft', true],
  FLAGGED: ['\\Flagged', true],
  SEEN: ['\\Seen', true],
  RECENT: ['\\Recent', true],
  UNANSWERED: ['\\Answered', false],
  UNDELETED: ['\\Deleted', false],
  UNDRAFT: ['\\Draft', false],
  UNFLAGGED: ['\\Flagged', false],
  UNSEEN: ['\\Seen', false],
};

const HEADER_KEYS: Record<string, string> = { BCC: 'Bcc', CC: 'Cc', FROM: 'From', SUBJECT: 'Subject', TO: 'To' };

const DATE_KEYS: Record<string, ['internal' | 'sent' | 'save', 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
  SAVEDBEFORE: ['save', 'before'],
  SAVEDON: ['save', 'on'],
  SAVEDSINCE: ['save', 'since'],
};

const isKeyChar = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2e || b === 0x2d || b === 0x5f;
const isObjectIdChar = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f;

function objectId(r: Reader, what: string): string {
  const id = r.token(isObjectIdChar, what);
  if (id.length > 255) r.fail(`${what} is too long`);
  return id;
}

/** flag-keyword for KEYWORD/UNKEYWORD: an atom; a system flag here is an error. */
function keywordFlag(r: Reader): string {
  if (r.peek() === 0x5c) r.fail('KEYWORD takes a keyword, not a system flag');
  return r.atom('keyword');
}

function modseqKey(r: Reader): SearchKey {
  // "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
  let entry: { name: string; type: 'priv' | 'shared' | 'all' } | null = null;
  if (r.peek() === 0x22) {
    const name = r.quoted().toString('utf8');
    if (!name.toLowerCase().startsWith('/flags/')) r.fail(`Invalid MODSEQ entry name '${name}'`);
    r.sp('after MODSEQ entry name');
    const type = r.keyword('entry type (priv, shared or all)').toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all') r.fail(`Invalid MODSEQ entry type '${type}'`);
    entry = { name, type };
    r.sp('after MODSEQ entry type');
  }
  return { kind: 'MODSEQ', modseq: r.number64('mod-sequence'), entry };
}

export function searchKey(r: Reader, depth: number): SearchKey {
  if (depth > MAX_DEPTH) r.fail('Search program is nested too deeply');
  const b = r.peek();
  if (b === 0x28) {
    return { kind: 'AND', keys: r.list(() => searchKey(r, depth + 1), 'the search key list') };
  }
  if ((b >= 0x30 && b <= 0x39) || b === 0x2a || b === 0x24) return { kind: 'seq', set: r.sequenceSet() };
  const name = r.token(isKeyChar, 'search key').toUpperCase();
  const flagKey = FLAG_KEYS[name];
  if (flagKey) return { kind: 'flag', flag: flagKey[0], present: flagKey[1] };
  const headerName = HEADER_KEYS[name];
  if (headerName) {
    r.sp(`after ${name}`);
    return { kind: 'header', field: headerName, value: r.astringBytes('search string') };
  }
  const dateKey = DATE_KEYS[name];
  if (dateKey) {
    r.sp(`after ${name}`);
    return { kind: 'date', field: dateKey[0], op: dateKey[1], day: r.searchDate() };
  }
  switch (name) {
    case 'ALL':
    case 'NEW':
    case 'OLD':
    case 'SAVEDATESUPPORTED':
      return { kind: name };
    case 'KEYWORD':
    case 'UNKEYWORD':
      r.sp(`after ${name}`);
      return { kind: 'flag', flag: keywordFlag(r), present: name === 'KEYWORD' };
    case 'BODY':
    case 'TEXT':
      r.sp(`after ${name}`);
      return { kind: name, value: r.astringBytes('search string') };
    case 'HEADER': {
      r.sp('after HEADER');
      const field = r.astring('header field name');
      r.sp('after header field name');
      return { kind: 'header', field, value: r.astringBytes('search string') };
    }
    case 'LARGER':
    case 'SMALLER':
      r.sp(`after ${name}`);
      return { kind: 'size', op: name === 'LARGER' ? 'larger' : 'smaller', octets: r.number64('size') };
    case 'UID':
      r.sp('after UID');
      return { kind: 'UID', set: r.sequenceSet() };
    case 'NOT':
      r.sp('after NOT');
      return { kind: 'NOT', key: searchKey(r, depth + 1) };
    case 'OR': {
      r.sp('after OR');
      const left = searchKey(r, depth + 1);
      r.sp('between the two keys of OR');
      return { kind: 'OR', left, right: searchKey(r, depth + 1) };
    }
    case 'MODSEQ':
      r.sp('after MODSEQ');
      return modseqKey(r);
    case 'OLDER':
    case 'YOUNGER':
      r.sp(`after ${name}`);
      return { kind: 'age', op: name === 'OLDER' ? 'older' : 'younger', seconds: r.nzNumber('number of seconds') };
    case 'EMAILID':
    case 'THREADID':
      r.sp(`after ${name}`);
      return { kind: name, id: objectId(r, `${name} value`) };
    default:
      return r.fail(`Unknown search key ${name}`);
  }
}

export function partialRange(r: Reader): { start: number; end: number } {
  // partial-range-first = nz-number ":" nz-number; partial-range-last = "-" nz-number ":" "-" nz-number
  const negative = r.eat(0x2d);
  const start = r.nzNumber('partial range start');
  r.expect(0x3a, "':' in partial range");
  if (negative) r.expect(0x2d, "'-' (both ends of a partial range have the same sign)");
  const end = r.nzNumber('partial range end');
  return negative ? { start: -start, end: -end } : { start, end };
}

export function returnOption(r: Reader): SearchReturnOption {
  const name = r.keyword('SEARCH return option');
  switch (name) {
    case 'MIN':
    case 'MAX':
    case 'ALL':
    case 'COUNT':
    case 'SAVE':
      return { kind: name };
    case 'PARTIAL':
      r.sp('after PARTIAL');
      return { kind: 'PARTIAL', range: partialRange(r) };
    case 'CONTEXT':
      return { kind: name };
    case 'UPDATE': {
      // RFC 5465 8: modifier-update = "UPDATE" ["(" fetch-att *(SP fetch-att) ")"], with or without
      // the SP its example sends; no other return option starts with "(".
      const m = r.mark();
      if ((r.peek() === 0x28 || r.eat(0x20)) && r.peek() === 0x28) return { kind: 'UPDATE', fetch: r.list(() => attribute(r), 'the UPDATE fetch attributes') };
      r.restore(m);
      return { kind: 'UPDATE' };
    }
    default:
      return r.fail(`Unknown SEARCH return option ${name}`);
  }
}

/** RFC 9394 3.1 / RFC 5267 4.4: at most one PARTIAL or ALL in a command. */
export function returnOptions(r: Reader, what: string): SearchReturnOption[] {
  const options = r.list(() => returnOption(r), what, true);
  if (options.filter((o) => o.kind === 'PARTIAL' || o.kind === 'ALL').length > 1) r.fail('At most one PARTIAL or ALL return option is allowed');
  return options;
}

/** Reads a keyword if one starts here (a letter), else ''. */
export function peekWord(r: Reader): string {
  const b = r.peek() | 0x20;
  return b >= 0x61 && b <= 0x7a ? r.token(isKeyChar, 'search key').toUpperCase() : '';
}

export const searchParsers: Record<string, CommandParser> = {
  SEARCH: (r, uid) => {
    r.sp('after SEARCH');
    let returns: SearchReturnOption[] | null = null;
    let charset: string | null = null;
    const m = r.mark();
    let word = peekWord(r);
    if (word === 'RETURN') {
      r.sp('after RETURN');
      returns = returnOptions(r, 'SEARCH return options');
      r.sp('after SEARCH return options');
      const m2 = r.mark();
      word = peekWord(r);
      if (word !== 'CHARSET') r.restore(m2);
    } else if (word !== 'CHARSET') {
      r.restore(m);
    }
    if (word === 'CHARSET') {
      r.sp('after CHARSET');
      // charset = atom / quoted
      charset = r.peek() === 0x22 ? decodeUtf8(r.quoted(), 'charset name') : r.atom('charset name');
      r.sp('after charset name');
    }
    const keys: SearchKey[] = [searchKey(r, 0)];
    while (r.eat(0x20)) keys.push(searchKey(r, 0));
    return { name: 'SEARCH', uid, charset, returns, key: { kind: 'AND', keys } };
  },
};
