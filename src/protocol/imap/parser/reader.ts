// Token reader over a framed command (text segments and literals). Each
// read either returns the token or throws a ParseError whose message is the
// human-readable reason sent back in the tagged BAD.

import type { LiteralData, SequenceSet } from '../ast.js';
import type { CommandPart } from '../framing-types.js';
import { parseDateTime, parseSearchDate } from '../datetime.js';
import { parseSequenceSet } from '../sequence.js';

export class ParseError extends Error {}

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** atom-specials: ( ) { SP CTL % * " \ ] (and 8-bit, which is not CHAR). */
export function isAtomChar(b: number): boolean {
  if (b <= 0x20 || b >= 0x7f) return false;
  return !(b === 0x28 || b === 0x29 || b === 0x7b || b === 0x25 || b === 0x2a || b === DQUOTE || b === BACKSLASH || b === 0x5d);
}
export const isAstringChar = (b: number): boolean => isAtomChar(b) || b === 0x5d;
const isListChar = (b: number): boolean => isAstringChar(b) || b === 0x25 || b === 0x2a;

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'];
const SYSTEM_FLAG_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/** Normalises the spelling of system flags; keywords and extensions stay as sent. */
export function canonicalFlag(flag: string): string {
  return SYSTEM_FLAG_BY_LOWER.get(flag.toLowerCase()) ?? flag;
}

const MAX_NUMBER = 0xffffffff;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  private pi = 0;
  private off = 0;

  constructor(private readonly parts: readonly CommandPart[]) {
    this.normalise();
  }

  /** Moves past exhausted text parts so that the position is on a byte, a literal, or the end. */
  private normalise(): void {
    for (;;) {
      const p = this.parts[this.pi];
      if (!p || p.kind !== 'text' || this.off < p.data.length) return;
      this.pi++;
      this.off = 0;
    }
  }

  /** A position to come back to (for the few places where the grammar needs a look-ahead). */
  mark(): [number, number] {
    return [this.pi, this.off];
  }

  restore(m: [number, number]): void {
    [this.pi, this.off] = m;
  }

  /** The next byte, or -1 at a literal or the end. */
  peek(): number {
    const p = this.parts[this.pi];
    return p && p.kind === 'text' ? p.data[this.off]! : -1;
  }

  atLiteral(): boolean {
    return this.parts[this.pi]?.kind === 'literal';
  }

  atEnd(): boolean {
    return this.pi >= this.parts.length;
  }

  private advance(n = 1): void {
    this.off += n;
    this.normalise();
  }

  /** Describes what is at the current position, for error messages. */
  describeHere(): string {
    if (this.atEnd()) return 'end of command';
    if (this.atLiteral()) return 'a literal';
    const p = this.parts[this.pi] as { data: Buffer };
    if (p.data[this.off] === SP) return 'SP';
    let end = this.off;
    while (end < p.data.length && end - this.off < 20 && p.data[end] !== SP) end++;
    return `'${p.data.toString('utf8', this.off, end)}'`;
  }

  fail(message: string): never {
    throw new ParseError(message);
  }

  /** Consumes `b` if next; returns whether it did. */
  eat(b: number): boolean {
    if (this.peek() !== b) return false;
    this.advance();
    return true;
  }

  expect(b: number, what: string): void {
    if (!this.eat(b)) this.fail(`Expected ${what}, found ${this.describeHere()}`);
  }

  sp(context: string): void {
    if (!this.eat(SP)) this.fail(`Expected SP ${context}`);
  }

  end(context = 'command'): void {
    if (!this.atEnd()) this.fail(`Unexpected ${this.describeHere()} after the ${context} arguments`);
  }

  /** Reads the longest run of bytes that satisfy `ok` (possibly empty). */
  private run(ok: (b: number) => boolean): Buffer {
    const p = this.parts[this.pi];
    if (!p || p.kind !== 'text') return Buffer.alloc(0);
    let end = this.off;
    while (end < p.data.length && ok(p.data[end]!)) end++;
    const out = p.data.subarray(this.off, end);
    this.advance(end - this.off);
    return out;
  }

  /** 1*ATOM-CHAR. */
  atom(what = 'atom'): string {
    const b = this.run(isAtomChar);
    if (b.length === 0) this.fail(`Expected ${what}, found ${this.describeHere()}`);
    return b.toString('latin1');
  }

  /** An atom, upper-cased (for keywords, which are case-insensitive). */
  keyword(what = 'keyword'): string {
    return this.atom(what).toUpperCase();
  }

  /** Reads 1*<bytes satisfying ok> as text; for tokens like sequence sets. */
  token(ok: (b: number) => boolean, what: string): string {
    const b = this.run(ok);
    if (b.length === 0) this.fail(`Expected ${what}, found ${this.describeHere()}`);
    return b.toString('latin1');
  }

  /** quoted: DQUOTE *QUOTED-CHAR DQUOTE, with \" and \\ escapes; returns the raw bytes. */
  quoted(): Buffer {
    const p = this.parts[this.pi];
    if (!p || p.kind !== 'text' || p.data[this.off] !== DQUOTE) this.fail(`Expected quoted string, found ${this.describeHere()}`);
    const data = p.data;
    const out: number[] = [];
    let i = this.off + 1;
    for (;;) {
      if (i >= data.length) this.fail('Unterminated quoted string');
      const b = data[i]!;
      if (b === DQUOTE) break;
      if (b === BACKSLASH) {
        const n = data[i + 1];
        if (n !== DQUOTE && n !== BACKSLASH) this.fail('Invalid escape in quoted string (only \\" and \\\\ are allowed)');
        out.push(n);
        i += 2;
        continue;
      }
      if (b === 0x00 || b === 0x0d || b === 0x0a) this.fail('Invalid character in quoted string');
      out.push(b);
      i++;
    }
    this.advance(i + 1 - this.off);
    return Buffer.from(out);
  }

  /** A literal's data and whether it was a literal8. */
  literal(): { data: LiteralData; binary: boolean } {
    const p = this.parts[this.pi];
    if (!p || p.kind !== 'literal') this.fail(`Expected literal, found ${this.describeHere()}`);
    this.pi++;
    this.off = 0;
    this.normalise();
    return { data: p.data, binary: p.binary === true };
  }

  private literalBuffer(): Buffer {
    const { data, binary } = this.literal();
    if (!Buffer.isBuffer(data)) this.fail('Literal too large for this argument');
    if (!binary && data.includes(0)) this.fail('NUL is not allowed in a literal (use literal8)');
    return data;
  }

  /** string = quoted / literal. */
  string(what = 'string'): Buffer {
    if (this.atLiteral()) return this.literalBuffer();
    if (this.peek() === DQUOTE) return this.quoted();
    return this.fail(`Expected ${what}, found ${this.describeHere()}`);
  }

  /** astring = 1*ASTRING-CHAR / string. */
  astringBytes(what = 'string'): Buffer {
    if (this.atLiteral() || this.peek() === DQUOTE) return this.string(what);
    const b = this.run(isAstringChar);
    this.no8bit(what);
    if (b.length === 0) this.fail(`Expected ${what}, found ${this.describeHere()}`);
    return b;
  }

  private no8bit(what: string): void {
    if (this.peek() >= 0x80) this.fail(`8-bit characters in ${what} must be sent as a quoted string or literal`);
  }

  /** astring decoded as UTF-8 (invalid UTF-8 is an error). */
  astring(what = 'string'): string {
    return decodeUtf8(this.astringBytes(what), what);
  }

  /** nstring: string or NIL. */
  nstring(what = 'string'): Buffer | null {
    if (this.atLiteral() || this.peek() === DQUOTE) return this.string(what);
    const a = this.atom(what);
    if (a.toUpperCase() !== 'NIL') this.fail(`Expected ${what} or NIL, found '${a}'`);
    return null;
  }

  /** mailbox name (astring), returned as received, UTF-8 decoded. */
  mailbox(): string {
    return this.astring('mailbox name');
  }

  /** list-mailbox = 1*list-char / string. */
  listMailbox(): string {
    if (this.atLiteral() || this.peek() === DQUOTE) return decodeUtf8(this.string('mailbox pattern'), 'mailbox pattern');
    const b = this.run(isListChar);
    this.no8bit('mailbox pattern');
    if (b.length === 0) this.fail(`Expected mailbox pattern, found ${this.describeHere()}`);
    return b.toString('latin1');
  }

  private digits(what: string): string {
    return this.token((b) => b >= 0x30 && b <= 0x39, what);
  }

  /** number: 0..2^32-1. */
  number(what = 'number'): number {
    const d = this.digits(what);
    const n = d.length > 10 ? Infinity : Number(d);
    if (n > MAX_NUMBER) this.fail(`Number ${d} is out of range`);
    return n;
  }

  nzNumber(what = 'non-zero number'): number {
    const n = this.number(what);
    if (n === 0) this.fail(`Expected ${what}, found 0`);
    return n;
  }

  /** number64, limited to Number.MAX_SAFE_INTEGER so it stays exact as a JS number. */
  number64(what = 'number'): number {
    const d = this.digits(what);
    const n = d.length > 16 ? Infinity : Number(d);
    if (n > Number.MAX_SAFE_INTEGER) this.fail(`Number ${d} is out of range`);
    return n;
  }

  nzNumber64(what = 'non-zero number'): number {
    const n = this.number64(what);
    if (n === 0) this.fail(`Expected ${what}, found 0`);
    return n;
  }

  /** sequence-set, including '*' and '$'. */
  sequenceSet(): SequenceSet {
    const text = this.token((b) => b !== SP && b !== 0x29 && b !== 0x28, 'sequence set');
    const set = parseSequenceSet(text);
    if (!set) this.fail(`Invalid sequence set '${text}'`);
    return set;
  }

  /** flag: "\" atom or atom (keyword); system flags canonicalised. */
  flag(allowRecent = true): string {
    const backslash = this.eat(BACKSLASH);
    const name = this.atom('flag');
    const flag = canonicalFlag(backslash ? `\\${name}` : name);
    if (!allowRecent && flag === '\\Recent') this.fail('\\Recent cannot be set or cleared by the client');
    return flag;
  }

  /** flag-list = "(" [flag *(SP flag)] ")". */
  flagList(allowRecent = true): string[] {
    this.expect(0x28, "'(' to start the flag list");
    const flags: string[] = [];
    if (this.eat(0x29)) return flags;
    for (;;) {
      flags.push(this.flag(allowRecent));
      if (this.eat(0x29)) return flags;
      this.sp('between flags');
    }
  }

  /** date = date-text / DQUOTE date-text DQUOTE, as "YYYY-MM-DD". */
  searchDate(): string {
    const text = this.peek() === DQUOTE ? this.quoted().toString('latin1') : this.token((b) => b !== SP && b !== 0x29, 'date');
    const day = parseSearchDate(text);
    if (!day) this.fail(`Invalid date '${text}' (expected e.g. 1-Feb-1994)`);
    return day;
  }

  /** date-time (quoted). */
  dateTime(): Date {
    const text = this.quoted().toString('latin1');
    const date = parseDateTime(text);
    if (!date) this.fail(`Invalid date-time '${text}' (expected e.g. "17-Jul-1996 02:44:25 -0700")`);
    return date;
  }

  /**
   * Reads "(" item *(SP item) ")" calling `item` for each; `allowEmpty`
   * accepts "()".
   */
  list<T>(item: () => T, what: string, allowEmpty = false): T[] {
    this.expect(0x28, `'(' to start ${what}`);
    const out: T[] = [];
    if (this.eat(0x29)) {
      if (!allowEmpty) this.fail(`Expected at least one item in ${what}`);
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.eat(0x29)) return out;
      this.sp(`between items of ${what}`);
    }
  }
}

export function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ParseError(`Invalid UTF-8 in ${what}`);
  }
}
