// Search text helpers: HTML to plain text (tags dropped, a few entities
// decoded) and the RFC 8970 preview (whitespace collapsed, first 200 chars).

import { decodeCharset } from './charset.js';
import { createTransferDecoder, type TransferDecoder } from './transfer-encoding.js';

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

/** RFC 8970 preview: whitespace and control characters collapsed, at most 200 characters. */
export function makePreview(text: string): string {
  const head = text.length > 4096 ? text.slice(0, 4096) : text;
  // eslint-disable-next-line no-control-regex
  const normalised = head.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  const chars = Array.from(normalised);
  // Trim again after the cut, so a preview never ends in the space where it was cut.
  return chars.length > PREVIEW_LENGTH ? chars.slice(0, PREVIEW_LENGTH).join('').trimEnd() : normalised;
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
    this.decoder = createTransferDecoder(encoding) ?? createTransferDecoder('7bit');
  }

  /** A piece of a body line; `eol` is its line terminator when the line is complete. */
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
