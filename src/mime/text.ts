// Search text helpers: HTML to plain text (tags dropped, a few entities
// decoded) and the RFC 8970 preview (whitespace collapsed, first 200 chars).

import { decodeCharset } from './charset.js';
import { createTransferDecoder, isIdentityEncoding, type TransferDecoder } from './transfer-encoding.js';

const ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', euro: '€',
};

/** Plain text of an HTML document: scripts, styles and tags removed, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|\/p|\/div|\/tr|\/li|\/h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, ref: string) => {
      if (ref[0] === '#') {
        const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[ref.toLowerCase()] ?? whole;
    });
}

export const PREVIEW_LENGTH = 200;

/** Code units of the text a preview is taken from. */
const PREVIEW_SCAN = 4096;

/**
 * Whether a UTF-16 code unit is collapsed in a preview: what the regular
 * expression /[\s\u0000-\u001f\u007f]/ matches (JavaScript's \s, which is
 * also what trim() removes), tested without a regular expression.
 */
export function isPreviewSpace(c: number): boolean {
  if (c < 0x80) return c <= 0x20 || c === 0x7f;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * RFC 8970 preview: whitespace and control characters collapsed, at most 200
 * characters (code points), taken from the first 4096 code units of the text.
 * One pass that stops once the preview is full: every delivery makes one,
 * and the regular expression, trim and Array.from over 4096 code units that
 * said the same cost a tenth of a millisecond per message.
 * test/unit/mime/text.test.ts compares it with that formulation.
 */
export function makePreview(text: string): string {
  const end = Math.min(text.length, PREVIEW_SCAN);
  let out = '';
  let count = 0;
  let i = 0;
  while (i < end && isPreviewSpace(text.charCodeAt(i))) i++;
  while (i < end) {
    // A run of kept code units, then the whitespace after it.
    const runStart = i;
    while (i < end && count < PREVIEW_LENGTH) {
      const c = text.charCodeAt(i);
      if (isPreviewSpace(c)) break;
      // A surrogate pair is one character (a lone surrogate is one too).
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
        const d = text.charCodeAt(i + 1);
        i += d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
      } else {
        i++;
      }
      count++;
    }
    out += text.slice(runStart, i);
    if (count >= PREVIEW_LENGTH || i >= end) break;
    while (i < end && isPreviewSpace(text.charCodeAt(i))) i++;
    if (i >= end) break;
    // The collapsed run is one space, and a character of the preview; a
    // preview cut right after it drops it (never ends in a space).
    if (count + 1 >= PREVIEW_LENGTH) break;
    out += ' ';
    count++;
  }
  return out;
}

/** Shared byte budget for all the decoded body text of one message. */
export interface TextBudget {
  remaining: number;
}

/**
 * Collects the decoded text of one text/* part while its body streams past,
 * bounded by the message's budget. The line terminator of the last line is
 * held back: before a boundary it belongs to the boundary, not to the body.
 */
export class TextCollector {
  private readonly decoder: TransferDecoder | null;
  /**
   * The transfer encoding leaves the bytes as they are (7bit, 8bit, binary):
   * then the lines of a body may be added many at a time (see add()).
   */
  readonly identity: boolean;
  /**
   * The decoded bytes, copied into one buffer that doubles as it fills:
   * text arrives a line at a time, and a Buffer per line would cost millions
   * of objects for a big message of short lines.
   */
  private out: Buffer = Buffer.alloc(0);
  private used = 0;
  private pendingEol: Buffer | null = null;

  constructor(
    encoding: string,
    private readonly charset: string | null,
    private readonly html: boolean,
    private readonly budget: TextBudget,
  ) {
    // Unknown transfer encodings: index the raw bytes rather than nothing.
    const decoder = createTransferDecoder(encoding);
    this.decoder = decoder ?? createTransferDecoder('7bit');
    this.identity = decoder === null || isIdentityEncoding(encoding);
  }

  /**
   * A piece of a body line; `eol` is its line terminator when the line is
   * complete. With an identity encoding `content` may also be several lines,
   * their terminators included but for the last one's (`eol`): the bytes
   * kept are the same as when the lines come one at a time.
   */
  add(content: Buffer, eol: Buffer | null): void {
    if (this.budget.remaining <= 0) return;
    if (this.pendingEol) {
      this.feed(this.pendingEol);
      this.pendingEol = null;
    }
    if (content.length) this.feed(content);
    if (eol) this.pendingEol = eol;
  }

  private feed(bytes: Buffer): void {
    if (this.budget.remaining <= 0 || !this.decoder) return;
    this.take(this.decoder.push(bytes));
  }

  private take(decoded: Buffer): void {
    if (!decoded.length || this.budget.remaining <= 0) return;
    const n = Math.min(decoded.length, this.budget.remaining);
    if (this.used + n > this.out.length) {
      // Copy: the decoder may hand back a view of the caller's chunk.
      const grown = Buffer.allocUnsafe(Math.max(4096, 2 * this.out.length, this.used + n));
      this.out.copy(grown, 0, 0, this.used);
      this.out = grown;
    }
    decoded.copy(this.out, this.used, 0, n);
    this.used += n;
    this.budget.remaining -= n;
  }

  /** The part's text; `includeLastEol` is false when a boundary ended the part. */
  finish(includeLastEol: boolean): string {
    if (includeLastEol && this.pendingEol) this.feed(this.pendingEol);
    this.pendingEol = null;
    if (this.decoder && this.budget.remaining > 0) this.take(this.decoder.end());
    if (this.used === 0) return '';
    const text = decodeCharset(this.out.subarray(0, this.used), this.charset);
    this.out = Buffer.alloc(0);
    return this.html ? htmlToText(text) : text;
  }
}
