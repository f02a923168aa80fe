// FETCH / UID FETCH (RFC 9051, RFC 3501 forms, BINARY, CONDSTORE/QRESYNC
// modifiers, SAVEDATE, OBJECTID, PREVIEW, and the draft PREVIEW=FUZZY / SNIPPET=FUZZY forms).

import type { FetchAttribute, FetchModifiers, Partial, Section, SectionText } from '../ast.js';
import type { Reader } from './reader.js';
import { partialRange } from './search.js';
import type { CommandParser } from './types.js';

const MACROS: Record<string, FetchAttribute[]> = {
  ALL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }],
  FAST: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }],
  FULL: [{ kind: 'FLAGS' }, { kind: 'INTERNALDATE' }, { kind: 'RFC822.SIZE' }, { kind: 'ENVELOPE' }, { kind: 'BODY' }],
};

const SIMPLE = new Set([
  'ENVELOPE',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'UID',
  'BODYSTRUCTURE',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'MODSEQ',
  'SAVEDATE',
  'EMAILID',
  'THREADID',
]);

/** Characters of an attribute name: letters, digits, '.'. */
const isNameChar = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2e;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/** section-part = nz-number *("." nz-number); stops before a "." not followed by a digit. */
function partPath(r: Reader, path: number[]): void {
  path.push(r.nzNumber('section part number'));
  for (;;) {
    const m = r.mark();
    if (!r.eat(0x2e)) return;
    if (!isDigit(r.peek())) {
      r.restore(m);
      return;
    }
    path.push(r.nzNumber('section part number'));
  }
}

export function section(r: Reader): Section {
  r.expect(0x5b, "'['");
  const part: number[] = [];
  let text: SectionText | null = null;
  const fields: string[] = [];
  if (r.eat(0x5d)) return { part, text, fields };
  if (isDigit(r.peek())) {
    partPath(r, part);
    if (!r.eat(0x2e)) {
      r.expect(0x5d, "']' to end the section");
      return { part, text, fields };
    }
  }
  const word = r.token(isNameChar, 'section text (HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME)').toUpperCase();
  if (word === 'HEADER' || word === 'TEXT' || (word === 'MIME' && part.length > 0)) {
    text = word;
  } else if (word === 'HEADER.FIELDS' || word === 'HEADER.FIELDS.NOT') {
    text = word;
    r.sp(`after ${word}`);
    fields.push(...r.list(() => r.astring('header field name'), 'the header field list'));
  } else {
    r.fail(`Invalid section text '${word}'`);
  }
  r.expect(0x5d, "']' to end the section");
  return { part, text, fields };
}

/** section-binary = "[" [section-part] "]". */
function binarySection(r: Reader): number[] {
  r.expect(0x5b, "'['");
  const part: number[] = [];
  if (r.eat(0x5d)) return part;
  partPath(r, part);
  r.expect(0x5d, "']' to end the BINARY section");
  return part;
}

/** partial = "<" number64 "." nz-number64 ">" (optional). */
function partial(r: Reader): Partial | null {
  if (!r.eat(0x3c)) return null;
  const start = r.number64('partial start');
  r.expect(0x2e, "'.' in partial range");
  const length = r.nzNumber64('partial length');
  r.expect(0x3e, "'>' to end the partial range");
  return { start, length };
}

/** Words of a preview modifier list: letters, digits, '.', and '=' (LAZY=FUZZY). */
const isPreviewWordChar = (b: number): boolean => isNameChar(b) || b === 0x3d;

const PREVIEW_WORDS: ReadonlySet<string> = new Set(['LAZY', 'FUZZY', 'LAZY=FUZZY']);

/**
 * PREVIEW / SNIPPET [SP "(" word *(SP word) ")"]: RFC 8970's LAZY, plus the
 * FUZZY and LAZY=FUZZY of the pre-RFC drafts (PREVIEW=FUZZY, SNIPPET=FUZZY),
 * which ask for the draft answer form (FUZZY "text"). The parenthesis is only
 * ours when its first word is one of these; otherwise it belongs to the FETCH
 * modifiers (or is an error found later).
 */
function previewModifiers(r: Reader): { lazy: boolean; fuzzy: boolean } {
  const m = r.mark();
  const none = { lazy: false, fuzzy: false };
  if (!r.eat(0x20) || !r.eat(0x28)) {
    r.restore(m);
    return none;
  }
  const words: string[] = [];
  const first = r.peek() === 0x29 ? '' : r.token(isPreviewWordChar, 'PREVIEW modifier').toUpperCase();
  if (!PREVIEW_WORDS.has(first)) {
    r.restore(m);
    return none;
  }
  words.push(first);
  while (r.eat(0x20)) {
    const w = r.token(isPreviewWordChar, 'PREVIEW modifier').toUpperCase();
    if (!PREVIEW_WORDS.has(w)) r.fail(`Unknown PREVIEW modifier ${w}`);
    words.push(w);
  }
  r.expect(0x29, "')' to end the PREVIEW modifiers");
  return { lazy: words.some((w) => w.startsWith('LAZY')), fuzzy: words.some((w) => w.endsWith('FUZZY')) };
}

export function attribute(r: Reader): FetchAttribute {
  const name = r.token(isNameChar, 'fetch attribute').toUpperCase();
  if (SIMPLE.has(name)) return { kind: name } as FetchAttribute;
  switch (name) {
    case 'BODY':
    case 'BODY.PEEK': {
      if (r.peek() !== 0x5b) {
        if (name === 'BODY.PEEK') r.fail("Expected '[' after BODY.PEEK");
        return { kind: 'BODY' };
      }
      const s = section(r);
      return { kind: 'BODY[]', peek: name === 'BODY.PEEK', section: s, partial: partial(r) };
    }
    case 'BINARY':
    case 'BINARY.PEEK': {
      const part = binarySection(r);
      return { kind: 'BINARY[]', peek: name === 'BINARY.PEEK', part, partial: partial(r) };
    }
    case 'BINARY.SIZE':
      return { kind: 'BINARY.SIZE', part: binarySection(r) };
    case 'PREVIEW': {
      const { lazy, fuzzy } = previewModifiers(r);
      return fuzzy ? { kind: 'PREVIEW', lazy, fuzzy: 'PREVIEW' } : { kind: 'PREVIEW', lazy };
    }
    case 'SNIPPET':
      // SNIPPET=FUZZY (draft-slusarz-imap-fetch-snippet), always answered in the FUZZY form.
      return { kind: 'PREVIEW', lazy: previewModifiers(r).lazy, fuzzy: 'SNIPPET' };
    default:
      return r.fail(`Unknown fetch attribute '${name}'`);
  }
}

function modifiers(r: Reader, uid: boolean): FetchModifiers {
  const mods: FetchModifiers = {};
  r.list(
    () => {
      const name = r.keyword('FETCH modifier');
      if (name === 'CHANGEDSINCE') {
        if (mods.changedSince !== undefined) r.fail('CHANGEDSINCE given twice');
        r.sp('after CHANGEDSINCE');
        mods.changedSince = r.nzNumber64('mod-sequence');
      } else if (name === 'VANISHED') {
        if (!uid) r.fail('VANISHED is only allowed with UID FETCH');
        mods.vanished = true;
      } else if (name === 'PARTIAL') {
        // RFC 9394 3.3: a UID FETCH modifier only.
        if (!uid) r.fail('PARTIAL is only allowed with UID FETCH');
        if (mods.partial !== undefined) r.fail('PARTIAL given twice');
        r.sp('after PARTIAL');
        mods.partial = partialRange(r);
      } else {
        r.fail(`Unknown FETCH modifier ${name}`);
      }
    },
    'FETCH modifiers',
  );
  if (mods.vanished && mods.changedSince === undefined) r.fail('VANISHED requires CHANGEDSINCE');
  return mods;
}

export const fetchParsers: Record<string, CommandParser> = {
  FETCH: (r, uid) => {
    r.sp('after FETCH');
    const set = r.sequenceSet();
    r.sp('after sequence set');
    let attributes: FetchAttribute[];
    let macro: 'ALL' | 'FAST' | 'FULL' | null = null;
    if (r.peek() === 0x28) {
      attributes = r.list(() => attribute(r), 'the fetch attribute list');
    } else {
      const m = r.mark();
      const word = r.token(isNameChar, 'fetch attribute').toUpperCase();
      if (word === 'ALL' || word === 'FAST' || word === 'FULL') {
        macro = word;
        attributes = MACROS[word]!.map((a) => ({ ...a }));
      } else {
        r.restore(m);
        attributes = [attribute(r)];
      }
    }
    let mods: FetchModifiers = {};
    if (r.eat(0x20)) mods = modifiers(r, uid);
    return { name: 'FETCH', uid, set, attributes, modifiers: mods, macro };
  },
};
