// The streaming message indexer: bytes in (any chunking), MessageIndex out.
// It reads the message line by line (Buffer.indexOf on LF), keeps a stack of
// open MIME entities and, for each, only what the index needs: its header
// (bounded), the multipart delimiter it waits for, and a bounded collector of
// decoded text. Memory is independent of the message size.
//
// Offsets follow RFC 2046 5.1.1: the line break before a boundary delimiter
// belongs to the delimiter, so a part's body ends before it.

import { isAscii, isUtf8 } from 'node:buffer';
import { decodeEncodedWords } from './encoded-words.js';
import { buildEnvelope, emptyEnvelope } from './envelope.js';
import { decodeParams, firstValue, parseHeader, parseStructured, type ParsedField } from './header.js';
import { parseDate } from './date.js';
import { makePreview, TextCollector, type TextBudget } from './text.js';
import { isIdentityEncoding } from './transfer-encoding.js';
import type { Envelope, HeaderField, MessageIndex, MimePart } from './types.js';

export const INDEX_VERSION = 1;

export interface IndexerOptions {
  /** Decoded body text kept for search, in bytes (default 2 MiB). */
  maxBodyText?: number;
  /** MIME parts indexed before the rest becomes opaque (default 10,000). */
  maxParts?: number;
  /** Nesting depth of MIME entities (default 64). */
  maxDepth?: number;
  /** Header bytes kept per entity for parsing (default 256 KiB). */
  maxHeaderBytes?: number;
  /** Total size of the decoded top-level header fields kept in `headers` (default 64 KiB). */
  maxHeaderText?: number;
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const EOL_CRLF = Buffer.from('\r\n');
const EOL_LF = Buffer.from('\n');
const DASH_DASH = Buffer.from('--');
/** A line longer than this is handled in pieces (it cannot be a boundary). */
const MAX_LINE = 64 * 1024;

const enum Multipart {
  Preamble,
  InPart,
  Epilogue,
  /** Past the part-count limit: bytes up to the next delimiter are skipped. */
  Skipping,
}

interface Frame {
  part: MimePart;
  depth: number;
  inHeader: boolean;
  header: Buffer[];
  headerBytes: number;
  isTop: boolean;
  /** Encapsulated message roots: the message/rfc822 part that holds them. */
  holder: MimePart | null;
  /** Child of multipart/digest: default type message/rfc822. */
  digestChild: boolean;
  /** "--boundary" while this multipart's body is being read. */
  delimiter: Buffer | null;
  multipart: Multipart;
  /** LF count at bodyStart, for the `lines` of the body. */
  bodyLfStart: number;
  text: TextCollector | null;
}

function newPart(headerStart: number): MimePart {
  return {
    headerStart,
    bodyStart: headerStart,
    bodyEnd: headerStart,
    type: 'text',
    subtype: 'plain',
    params: [['charset', 'us-ascii']],
    id: null,
    description: null,
    encoding: '7bit',
    size: 0,
    lines: 0,
    md5: null,
    disposition: null,
    language: null,
    location: null,
  };
}

/** 1 = delimiter, 2 = close delimiter, 0 = neither. Transport padding (SP/HTAB) may follow. */
function matchDelimiter(line: Buffer, contentLen: number, delim: Buffer): number {
  const dl = delim.length;
  if (contentLen < dl || line.compare(delim, 0, dl, 0, dl) !== 0) return 0;
  let i = dl;
  let result = 1;
  if (i + 2 <= contentLen && line[i] === DASH && line[i + 1] === DASH) {
    result = 2;
    i += 2;
  }
  for (; i < contentLen; i++) {
    const c = line[i];
    if (c !== 0x20 && c !== 0x09) return 0;
  }
  return result;
}

/**
 * chunk.indexOf('\n--', from), found by its dashes: a body has an LF on
 * every line but rarely "--" (base64 none), so the search runs at memchr
 * speed over the dashes instead of stopping at every line break.
 */
function indexOfDashLine(chunk: Buffer, from: number): number {
  for (let d = chunk.indexOf(DASH_DASH, from + 1); d >= 0; d = chunk.indexOf(DASH_DASH, d + 1)) {
    if (chunk[d - 1] === LF) return d - 1;
  }
  return -1;
}

export class MessageIndexer {
  private readonly maxBodyText: number;
  private readonly maxParts: number;
  private readonly maxDepth: number;
  private readonly maxHeaderBytes: number;
  private readonly maxHeaderText: number;

  private readonly frames: Frame[] = [];
  private readonly root: MimePart;
  private size = 0;
  private lastByte = -1;
  /** LFs in all complete lines processed so far. */
  private lfCount = 0;
  /** Terminator length (1 or 2) of the last complete line, 0 before the first. */
  private lastEol = 0;
  /** Whether the last complete line was empty (so a body cut before it ends in LF). */
  private lastLineEmpty = false;

  private carry: Buffer[] = [];
  private carryLen = 0;
  private carryAbs = 0;
  private carryCont = false;

  private partCount = 1;
  private truncatedParts = 0;
  private readonly textBudget: TextBudget;
  private readonly texts: string[] = [];
  private topHeaderEightBit = false;
  private envelope: Envelope = emptyEnvelope();
  private topFields: ParsedField[] = [];
  private result: MessageIndex | null = null;

  constructor(options: IndexerOptions = {}) {
    this.maxBodyText = options.maxBodyText ?? 2 * 1024 * 1024;
    this.maxParts = options.maxParts ?? 10_000;
    this.maxDepth = options.maxDepth ?? 64;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 256 * 1024;
    this.maxHeaderText = options.maxHeaderText ?? 64 * 1024;
    this.textBudget = { remaining: this.maxBodyText };
    this.root = newPart(0);
    this.frames.push(this.newFrame(this.root, 0, null, false));
    this.frames[0]!.isTop = true;
  }

  private newFrame(part: MimePart, depth: number, holder: MimePart | null, digestChild: boolean): Frame {
    return {
      part,
      depth,
      inHeader: true,
      header: [],
      headerBytes: 0,
      isTop: false,
      holder,
      digestChild,
      delimiter: null,
      multipart: Multipart.Preamble,
      bodyLfStart: 0,
      text: null,
    };
  }

  /** Feeds the next chunk of the message. Chunk boundaries may fall anywhere. */
  write(chunk: Buffer): void {
    if (this.result || chunk.length === 0) return;
    const base = this.size;
    const len = chunk.length;
    this.size += len;
    this.lastByte = chunk[len - 1]!;
    let pos = 0;
    if (this.carryLen > 0) {
      const lf = chunk.indexOf(LF);
      if (lf < 0) {
        this.appendCarry(chunk, base);
        return;
      }
      this.carry.push(chunk.subarray(0, lf + 1));
      const line = Buffer.concat(this.carry);
      const abs = this.carryAbs;
      const cont = this.carryCont;
      this.carry = [];
      this.carryLen = 0;
      this.line(line, abs, cont, true);
      pos = lf + 1;
    }
    while (pos < len) {
      pos = this.skipBody(chunk, pos);
      pos = this.collectBodyLines(chunk, pos);
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) break;
      this.line(chunk.subarray(pos, lf + 1), base + pos, false, true);
      pos = lf + 1;
    }
    if (pos < len) this.appendCarry(chunk.subarray(pos), base + pos);
  }

  /**
   * Fast path over body bytes nobody reads (attachments, text past the search
   * budget): jumps from the line start `pos` to the next line that starts with
   * "--" (or to the last complete line of the chunk), counting LFs only when
   * an open part reports `lines`. Returns the new line start.
   */
  private skipBody(chunk: Buffer, pos: number): number {
    const top = this.frames[this.frames.length - 1]!;
    if (top.inHeader || (top.text && this.textBudget.remaining > 0)) return pos;
    if (chunk[pos] === DASH) return pos;
    let delimiters = false;
    let needLines = false;
    for (const f of this.frames) {
      if (f.delimiter && f.multipart !== Multipart.Epilogue) delimiters = true;
      const p = f.part;
      if (p.type === 'text' || p.type === 'message' || (p.type === 'multipart' && !p.children?.length)) needLines = true;
    }
    const q = delimiters ? indexOfDashLine(chunk, pos) : -1;
    const stop = q >= 0 ? q + 1 : chunk.lastIndexOf(LF) + 1;
    if (stop <= pos) return pos;
    const lfAt = stop - 1;
    const crlf = lfAt > pos && chunk[lfAt - 1] === CR;
    if (needLines) {
      let n = 0;
      for (let i = chunk.indexOf(LF, pos); i >= 0 && i < stop; i = chunk.indexOf(LF, i + 1)) n++;
      this.lfCount += n;
      const lineStart = lfAt > pos ? Math.max(pos, chunk.lastIndexOf(LF, lfAt - 1) + 1) : pos;
      this.lastLineEmpty = lfAt - lineStart - (crlf ? 1 : 0) === 0;
    }
    this.lastEol = crlf ? 2 : 1;
    return stop;
  }

  /**
   * Fast path over the lines of a text body with an identity transfer
   * encoding: from the line start `pos` up to the next line that starts with
   * "--" (or to the last complete line of the chunk), the lines go to the
   * text collector at once, as line() would hand them over one by one (see
   * TextCollector.add), and the line counts move as track() would move them.
   * Returns the new line start.
   */
  private collectBodyLines(chunk: Buffer, pos: number): number {
    const top = this.frames[this.frames.length - 1]!;
    const text = top.text;
    if (top.inHeader || !text || !text.identity || this.textBudget.remaining <= 0) return pos;
    if (chunk[pos] === DASH) return pos;
    let delimiters = false;
    for (const f of this.frames) if (f.delimiter && f.multipart !== Multipart.Epilogue) delimiters = true;
    const q = delimiters ? indexOfDashLine(chunk, pos) : -1;
    const stop = q >= 0 ? q + 1 : chunk.lastIndexOf(LF) + 1;
    if (stop <= pos) return pos;
    const lfAt = stop - 1;
    const crlf = lfAt > pos && chunk[lfAt - 1] === CR;
    const eolLen = crlf ? 2 : 1;
    let lines = 0;
    for (let i = chunk.indexOf(LF, pos); i >= 0 && i < stop; i = chunk.indexOf(LF, i + 1)) lines++;
    const lineStart = lfAt > pos ? Math.max(pos, chunk.lastIndexOf(LF, lfAt - 1) + 1) : pos;
    text.add(chunk.subarray(pos, stop - eolLen), crlf ? EOL_CRLF : EOL_LF);
    this.lfCount += lines;
    this.lastEol = eolLen;
    this.lastLineEmpty = lfAt - lineStart - (crlf ? 1 : 0) === 0;
    return stop;
  }

  private appendCarry(piece: Buffer, abs: number): void {
    if (this.carryLen === 0) {
      this.carryAbs = abs;
      this.carryCont = false;
    }
    this.carry.push(Buffer.from(piece)); // the caller may reuse its chunk
    this.carryLen += piece.length;
    if (this.carryLen <= MAX_LINE) return;
    // An endless line: process what we have as a piece, keeping a trailing CR
    // so that a CRLF split here is still seen as one line terminator.
    const line = Buffer.concat(this.carry);
    const hold = line[line.length - 1] === CR ? 1 : 0;
    const n = line.length - hold;
    this.line(line.subarray(0, n), this.carryAbs, this.carryCont, false);
    this.carryAbs += n;
    this.carryCont = true;
    this.carry = hold ? [Buffer.from(line.subarray(n))] : [];
    this.carryLen = hold;
  }

  /**
   * One line, or a piece of an over-long line (`cont` for pieces after the
   * first, `complete` when the piece ends with the line's LF).
   */
  private line(buf: Buffer, abs: number, cont: boolean, complete: boolean): void {
    const len = buf.length;
    let eolLen = 0;
    if (complete) eolLen = len >= 2 && buf[len - 2] === CR ? 2 : 1;
    let contentLen = len - eolLen;
    if (!complete && contentLen > 0 && buf[contentLen - 1] === CR) contentLen--; // "--b--\r" at EOF

    if (!cont && contentLen >= 2 && buf[0] === DASH && buf[1] === DASH && this.checkDelimiter(buf, contentLen, abs, len)) {
      this.track(complete, eolLen, false);
      return;
    }
    const top = this.frames[this.frames.length - 1]!;
    if (top.inHeader) {
      // Every byte of the top-level header passes here (also past maxHeaderBytes).
      if (top.isTop && !this.topHeaderEightBit && !isAscii(buf)) this.topHeaderEightBit = true;
      if (!cont && complete && contentLen === 0) {
        this.endHeader(top, abs + len, this.lfCount + 1, true);
      } else if (top.headerBytes < this.maxHeaderBytes) {
        const room = this.maxHeaderBytes - top.headerBytes;
        const keep = len <= room ? buf : buf.subarray(0, room);
        top.header.push(Buffer.from(keep));
        top.headerBytes += keep.length;
      }
    } else if (top.text) {
      top.text.add(buf.subarray(0, len - eolLen), eolLen === 2 ? EOL_CRLF : eolLen === 1 ? EOL_LF : null);
    }
    this.track(complete, eolLen, !cont && contentLen === 0);
  }

  private track(complete: boolean, eolLen: number, empty: boolean): void {
    if (!complete) return;
    this.lfCount++;
    this.lastEol = eolLen;
    this.lastLineEmpty = empty;
  }

  /** Handles a boundary line of any open multipart; false if the line is not one. */
  private checkDelimiter(buf: Buffer, contentLen: number, abs: number, len: number): boolean {
    for (let k = this.frames.length - 1; k >= 0; k--) {
      const f = this.frames[k]!;
      if (!f.delimiter || f.inHeader || f.multipart === Multipart.Epilogue) continue;
      const kind = matchDelimiter(buf, contentLen, f.delimiter);
      if (kind === 0) continue;
      // Everything nested inside frame k ends before this line's preceding line break.
      const end = abs - this.lastEol;
      while (this.frames.length - 1 > k) this.close(this.frames.pop()!, end, true);
      if (kind === 2) {
        f.multipart = Multipart.Epilogue;
      } else if (this.partCount >= this.maxParts) {
        this.truncatedParts++;
        f.multipart = Multipart.Skipping;
      } else {
        f.multipart = Multipart.InPart;
        this.partCount++;
        const child = newPart(abs + len);
        f.part.children!.push(child);
        this.frames.push(this.newFrame(child, f.depth + 1, null, f.part.subtype === 'digest'));
      }
      return true;
    }
    return false;
  }

  /** The header of `frame` ended; `hasBody` is false when a boundary or EOF cut it short. */
  private endHeader(frame: Frame, bodyStart: number, bodyLfStart: number, hasBody: boolean): void {
    const header = frame.header.length === 1 ? frame.header[0]! : Buffer.concat(frame.header);
    frame.header = [];
    frame.inHeader = false;
    frame.bodyLfStart = bodyLfStart;
    const part = frame.part;
    part.bodyStart = bodyStart;
    const fields = parseHeader(header);
    this.applyContentFields(part, fields, frame.digestChild);
    if (frame.isTop) {
      this.topFields = fields;
      this.envelope = buildEnvelope(fields);
    } else if (frame.holder?.message) {
      frame.holder.message.envelope = buildEnvelope(fields);
    }
    if (part.type === 'multipart') part.children = [];
    if (!hasBody) return;
    const childAllowed = frame.depth + 1 < this.maxDepth;
    if (part.type === 'multipart') {
      const boundary = decodeParams(part.params).get('boundary');
      if (boundary && childAllowed) {
        frame.delimiter = Buffer.from('--' + boundary, isUtf8(header) ? 'utf8' : 'latin1');
      } else if (boundary) {
        this.truncatedParts++;
      }
    } else if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
      if (!isIdentityEncoding(part.encoding)) return; // encoded message: opaque, synthesized at close
      if (!childAllowed || this.partCount >= this.maxParts) {
        this.truncatedParts++;
        return;
      }
      this.partCount++;
      const inner = newPart(bodyStart);
      part.message = { envelope: emptyEnvelope(), root: inner };
      const innerFrame = this.newFrame(inner, frame.depth + 1, part, false);
      this.frames.push(innerFrame);
    } else if (part.type === 'text' && (part.subtype === 'plain' || part.subtype === 'html')) {
      if (this.textBudget.remaining > 0) {
        const charset = decodeParams(part.params).get('charset') ?? null;
        frame.text = new TextCollector(part.encoding, charset, part.subtype === 'html', this.textBudget);
      }
    }
  }

  private applyContentFields(part: MimePart, fields: ParsedField[], digestChild: boolean): void {
    const ct = firstValue(fields, 'content-type');
    let typed = false;
    if (ct !== null) {
      const parsed = parseStructured(ct);
      const m = /^([!#$%&'*+\-.^_`|~0-9a-z]+)\/([!#$%&'*+\-.^_`|~0-9a-z]+)$/.exec(parsed.value);
      if (m) {
        part.type = m[1]!;
        part.subtype = m[2]!;
        part.params = parsed.params;
        typed = true;
      }
    }
    if (!typed && digestChild) {
      part.type = 'message';
      part.subtype = 'rfc822';
      part.params = [];
    }
    const cte = firstValue(fields, 'content-transfer-encoding');
    if (cte) part.encoding = cte.replace(/\(.*\)/g, '').trim() || '7bit';
    part.id = firstValue(fields, 'content-id') || null;
    part.description = firstValue(fields, 'content-description') || null;
    part.md5 = firstValue(fields, 'content-md5') || null;
    part.location = firstValue(fields, 'content-location') || null;
    const disposition = firstValue(fields, 'content-disposition');
    if (disposition) {
      const parsed = parseStructured(disposition);
      if (parsed.value) part.disposition = { type: parsed.value, params: parsed.params };
    }
    const language = firstValue(fields, 'content-language');
    if (language) {
      const tags = language
        .replace(/\([^)]*\)/g, ' ')
        .split(/[\s,]+/)
        .filter((t) => t.length > 0);
      if (tags.length) part.language = tags;
    }
  }

  /** Ends an entity at `end`; `byBoundary` when a delimiter line (not EOF) ended it. */
  private close(frame: Frame, end: number, byBoundary: boolean): void {
    const part = frame.part;
    const bodyEnd = Math.max(end, part.headerStart);
    if (frame.inHeader) this.endHeader(frame, bodyEnd, this.lfCount, false);
    part.bodyEnd = bodyEnd;
    if (part.bodyStart > bodyEnd) part.bodyStart = bodyEnd;
    part.size = bodyEnd - part.bodyStart;
    // `lines` is reported for text/* and message/* only, and only counted for
    // them (and for a multipart without parts, whose synthesized part is text).
    const synthesize = part.type === 'multipart' && (!part.children || part.children.length === 0);
    let lines = 0;
    if (part.size > 0 && (part.type === 'text' || part.type === 'message' || synthesize)) {
      // A boundary takes the last line break; at EOF the body keeps it.
      const lfs = this.lfCount - frame.bodyLfStart - (byBoundary ? 1 : 0);
      const endsWithLf = byBoundary ? this.lastLineEmpty : this.lastByte === LF;
      lines = Math.max(0, lfs) + (endsWithLf ? 0 : 1);
    }
    part.lines = synthesize ? 0 : lines;
    if (frame.text) {
      const text = frame.text.finish(!byBoundary);
      if (text) this.texts.push(text);
      frame.text = null;
    }
    if (synthesize) {
      // RFC 9051 needs at least one body part: synthesize one over the whole body.
      const child = newPart(part.bodyStart);
      child.bodyEnd = part.bodyEnd;
      child.size = part.size;
      child.lines = lines;
      part.children = [child];
    }
    if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global') && !part.message) {
      const inner = newPart(part.bodyStart);
      inner.bodyEnd = part.bodyEnd;
      inner.size = part.size;
      inner.lines = part.lines;
      part.message = { envelope: emptyEnvelope(), root: inner };
    }
  }

  /**
   * Whether the top-level header (the bytes the index's root.headerStart to
   * root.bodyStart cover) holds an octet >= 0x80 (RFC 6855 4); known once
   * the header has ended, final after finish().
   */
  get headerEightBit(): boolean {
    return this.topHeaderEightBit;
  }

  /** Ends the message and returns its index. Further writes are ignored. */
  finish(): MessageIndex {
    if (this.result) return this.result;
    if (this.carryLen > 0) {
      const line = Buffer.concat(this.carry);
      this.carry = [];
      this.carryLen = 0;
      this.line(line, this.carryAbs, this.carryCont, false);
    }
    while (this.frames.length) this.close(this.frames.pop()!, this.size, false);
    const dateValue = firstValue(this.topFields, 'date');
    const date = parseDate(dateValue);
    let bodyText = this.texts.join('\n');
    if (bodyText.length > this.maxBodyText) bodyText = bodyText.slice(0, this.maxBodyText);
    this.result = {
      version: INDEX_VERSION,
      size: this.size,
      root: this.root,
      envelope: this.envelope,
      headers: this.searchHeaders(),
      bodyText,
      preview: makePreview(bodyText),
      sentDate: date ? date.time : null,
      sentDateOffset: date ? date.offset : null,
      truncatedParts: this.truncatedParts,
    };
    return this.result;
  }

  /** Top-level fields decoded for SEARCH, bounded in total size. */
  private searchHeaders(): HeaderField[] {
    const out: HeaderField[] = [];
    let budget = this.maxHeaderText;
    for (const f of this.topFields) {
      let value = decodeEncodedWords(f.value);
      if ((f.name === 'content-type' || f.name === 'content-disposition') && value.includes('*=')) {
        const parsed = parseStructured(value);
        const decoded = [...decodeParams(parsed.params)].map(([k, v]) => `; ${k}="${v}"`).join('');
        value = parsed.value + decoded;
      }
      if (f.name.length >= budget) break;
      if (f.name.length + value.length > budget) value = value.slice(0, budget - f.name.length);
      budget -= f.name.length + value.length;
      out.push({ name: f.name, value });
    }
    return out;
  }
}

/** Indexes a message held in memory (one write + finish). */
export function indexMessage(data: Buffer, options?: IndexerOptions): MessageIndex {
  const indexer = new MessageIndexer(options);
  indexer.write(data);
  return indexer.finish();
}
