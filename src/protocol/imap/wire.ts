// Low-level response writer: accumulates bytes and streamed literals into
// WireParts, and chooses between atom, quoted string and literal.

import type { SerializeOptions, StreamedLiteral, WirePart } from './response.js';

/** Longest string sent quoted; longer ones go as literals. */
export const MAX_QUOTED = 1000;

/** Buffers from this size on are kept as parts of their own (not copied when the output is joined). */
const OWN_PART = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isValidUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Can these bytes be sent as a quoted string? */
export function canQuote(b: Buffer, opts: SerializeOptions): boolean {
  if (b.length > MAX_QUOTED) return false;
  let eightBit = false;
  for (const c of b) {
    if (c === 0x00 || c === 0x0d || c === 0x0a) return false;
    if (c >= 0x80) eightBit = true;
  }
  return !eightBit || (opts.utf8 && isValidUtf8(b));
}

export class WireWriter {
  private parts: WirePart[] = [];
  private pending: Buffer[] = [];
  /**
   * Raw text not encoded yet: tokens are joined as one string and encoded
   * once (a Buffer per token made FETCH 1:* of a big mailbox allocation-bound).
   */
  private unencoded = '';

  constructor(readonly opts: SerializeOptions) {}

  /** Raw ASCII/UTF-8 text (protocol tokens; callers ensure it is safe). */
  raw(text: string): this {
    this.unencoded += text;
    return this;
  }

  bytes(b: Buffer): this {
    if (b.length >= OWN_PART) {
      // A large literal stays a part of its own rather than be copied into the joined bytes.
      this.flush();
      this.parts.push(b);
      return this;
    }
    this.encodeText();
    this.pending.push(b);
    return this;
  }

  sp(): this {
    return this.raw(' ');
  }

  /** A quoted string (the caller checked canQuote). */
  quoted(b: Buffer): this {
    const out: number[] = [0x22];
    for (const c of b) {
      if (c === 0x22 || c === 0x5c) out.push(0x5c);
      out.push(c);
    }
    out.push(0x22);
    return this.bytes(Buffer.from(out));
  }

  literal(b: Buffer, binary = false): this {
    this.raw(`${binary ? '~' : ''}{${b.length}}\r\n`);
    return this.bytes(b);
  }

  stream(s: StreamedLiteral, binary: boolean): this {
    this.raw(`${binary ? '~' : ''}{${s.size}}\r\n`);
    this.flush();
    this.parts.push(s);
    return this;
  }

  /** string: quoted when safe, else a literal. */
  string(value: string | Buffer): this {
    const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    return canQuote(b, this.opts) ? this.quoted(b) : this.literal(b);
  }

  nstring(value: string | Buffer | null): this {
    return value === null ? this.raw('NIL') : this.string(value);
  }

  /** Free text of a status response or continuation: one line, ASCII unless UTF-8 is on. */
  text(value: string): this {
    let t = value.replace(/[\r\n\0]+/g, ' ');
    if (!this.opts.utf8) t = t.replace(/[^\x20-\x7e]/g, '?');
    return this.raw(t);
  }

  /** "(" items ")" with SP between, each written by `each`. */
  list<T>(items: readonly T[], each: (item: T) => void): this {
    this.raw('(');
    items.forEach((item, i) => {
      if (i > 0) this.sp();
      each(item);
    });
    return this.raw(')');
  }

  crlf(): this {
    return this.raw('\r\n');
  }

  private encodeText(): void {
    if (this.unencoded === '') return;
    this.pending.push(Buffer.from(this.unencoded, 'utf8'));
    this.unencoded = '';
  }

  private flush(): void {
    this.encodeText();
    if (this.pending.length === 0) return;
    this.parts.push(this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending));
    this.pending = [];
  }

  finish(): WirePart[] {
    this.flush();
    return this.parts;
  }
}
