// Resumable command framer: socket bytes in, framed commands out (see
// framing-types.ts for the contract). No I/O. State survives any chunk
// boundary: a CRLF, a literal header or a literal's bytes may be split
// anywhere.
//
// Line ends: CRLF, and also a bare LF (tolerated because hand-typed sessions
// through telnet/nc often send it); a CR directly before the LF is removed.
//
// Limits (never buffered past):
// - maxLineLength: each line (text between line ends, literal header
//   included). An overlong line is skipped up to its line end; if that line
//   announced a non-synchronizing literal, its bytes and the rest of the
//   command are skipped too; then a non-fatal error is emitted.
// - maxTagLength: a first token longer than this, followed by SP, makes the
//   command an error (tag null). A line without SP (SASL response, DONE) is
//   not held to it.
// - maxNonSyncLiteral: a larger {n+} is read and discarded without being
//   buffered, the rest of the command skipped, then a non-fatal error.
// - maxMemoryLiteral: a larger literal accepted in 'memory' mode is discarded
//   the same way (the connection should have refused it before). The whole
//   command held in memory (text plus in-memory literals) is also capped at
//   maxLineLength + 4 * maxMemoryLiteral, so an endless chain of small
//   literals cannot grow without bound.

import type { LiteralData } from './ast.js';
import type { CommandFramerApi, CommandPart, FrameEvent, FramingLimits } from './framing-types.js';
import { isCatenateUrlLiteral } from './catenate-literal.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
/** Bytes of a skipped line kept to recognise a literal header at its end. */
const TAIL_KEEP = 32;
const MAX_LITERAL = 0xffffffff;
/** Shared by every framer: an idle connection holds no buffer of its own (never written to). */
const EMPTY = Buffer.alloc(0);

interface LiteralHeader {
  /** Offset in the line where the header starts ('~' or '{'). */
  start: number;
  size: number;
  synchronizing: boolean;
  binary: boolean;
}

/** Parses `[~]{digits[+]}` at the very end of `line`; size is NaN when too large. */
export function findLiteralHeader(line: Buffer): LiteralHeader | null {
  let i = line.length - 1;
  if (i < 2 || line[i] !== 0x7d /* } */) return null;
  i--;
  let synchronizing = true;
  if (line[i] === 0x2b /* + */) {
    synchronizing = false;
    i--;
  }
  const digitsEnd = i + 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
  if (i < 0 || line[i] !== 0x7b /* { */ || i + 1 === digitsEnd) return null;
  const digits = line.subarray(i + 1, digitsEnd).toString('latin1');
  let size = digits.length > 12 ? NaN : Number(digits);
  if (size > MAX_LITERAL) size = NaN;
  let start = i;
  let binary = false;
  if (i > 0 && line[i - 1] === 0x7e /* ~ */) {
    binary = true;
    start = i - 1;
  }
  return { start, size, synchronizing, binary };
}

function isTagChar(b: number): boolean {
  // ASTRING-CHAR except "+": no CTL, SP, ( ) { % * " \ +, 8-bit.
  if (b <= 0x20 || b >= 0x7f) return false;
  return !(b === 0x28 || b === 0x29 || b === 0x7b || b === 0x25 || b === 0x2a || b === 0x22 || b === 0x5c || b === 0x2b);
}

/** Tag of a command line: its first token, or null when missing or invalid. */
export function extractTag(line: Buffer, maxTagLength = Infinity): string | null {
  let end = line.indexOf(SP);
  if (end < 0) end = line.length;
  if (end === 0 || end > maxTagLength) return null;
  for (let i = 0; i < end; i++) if (!isTagChar(line[i]!)) return null;
  return line.toString('latin1', 0, end);
}

function token(line: Buffer, from: number): { text: string; end: number } | null {
  if (from >= line.length) return null;
  let end = line.indexOf(SP, from);
  if (end < 0) end = line.length;
  if (end === from) return null;
  for (let i = from; i < end; i++) if (line[i]! >= 0x80) return null;
  return { text: line.toString('latin1', from, end).toUpperCase(), end };
}

/** Upper-cased command name ("UID FETCH" for UID commands) from a command's first line. */
export function extractCommandName(line: Buffer): string | null {
  const sp = line.indexOf(SP);
  if (sp < 0) return null;
  const first = token(line, sp + 1);
  if (!first) return null;
  if (first.text !== 'UID') return first.text;
  const second = token(line, first.end + 1);
  return second ? `UID ${second.text}` : null;
}

type State =
  | { kind: 'line' }
  | { kind: 'skip' }
  | { kind: 'await-literal'; header: LiteralHeader }
  | { kind: 'memory-literal'; target: Buffer; filled: number; binary: boolean }
  | { kind: 'stream-literal'; remaining: number; binary: boolean }
  | { kind: 'await-finish'; binary: boolean }
  | { kind: 'discard-literal'; remaining: number };

export class CommandFramer implements CommandFramerApi {
  private readonly limits: FramingLimits;
  private chunks: Buffer[] = [];
  private headOffset = 0;
  private queued = 0;
  /** Bytes pushed and then framed or dropped, since the framer was made. */
  private consumedTotal = 0;
  private state: State = { kind: 'line' };
  /** Pieces of the current line (normal mode). */
  private lineBufs: Buffer[] = [];
  private lineLen = 0;
  /** Last bytes of the current line (skip mode). */
  private tail: Buffer = EMPTY;
  /** Parts of the command framed so far. */
  private parts: CommandPart[] = [];
  private commandMemory = 0;
  private tag: string | null = null;
  /** Error to emit when the skipped command ends; null = end silently. */
  private skipError: string | null = null;
  /** The skipped command's error is a literal over a size limit ([TOOBIG]). */
  private skipTooBig = false;
  private events: FrameEvent[] = [];

  constructor(limits: FramingLimits) {
    this.limits = limits;
  }

  get buffered(): number {
    return this.queued + this.lineLen;
  }

  get consumed(): number {
    return this.consumedTotal;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.queued += chunk.length;
  }

  reset(): void {
    this.consumedTotal += this.queued;
    this.chunks = [];
    this.headOffset = 0;
    this.queued = 0;
    this.events = [];
    this.startCommand();
  }

  next(): FrameEvent | null {
    for (;;) {
      const ev = this.events.shift();
      if (ev) return ev;
      if (!this.step()) return null;
    }
  }

  acceptLiteral(mode: 'memory' | 'stream'): void {
    const st = this.state;
    if (st.kind !== 'await-literal') throw new Error('acceptLiteral: no literal is pending');
    const { size, binary } = st.header;
    if (mode === 'stream') {
      this.state = size === 0 ? { kind: 'await-finish', binary } : { kind: 'stream-literal', remaining: size, binary };
      if (size === 0) this.events.push({ kind: 'literal-end' });
      return;
    }
    const budget = this.limits.maxLineLength + 4 * this.limits.maxMemoryLiteral;
    if (size > this.limits.maxMemoryLiteral || this.commandMemory + size > budget) {
      this.skipError = size > this.limits.maxMemoryLiteral ? `Literal of ${size} octets is too large` : 'Command too large';
      this.skipTooBig = size > this.limits.maxMemoryLiteral;
      this.state = { kind: 'discard-literal', remaining: size };
      return;
    }
    this.commandMemory += size;
    this.state = { kind: 'memory-literal', target: Buffer.allocUnsafe(size), filled: 0, binary };
  }

  rejectLiteral(): void {
    const st = this.state;
    if (st.kind !== 'await-literal') throw new Error('rejectLiteral: no literal is pending');
    this.skipError = null;
    this.skipTooBig = false;
    if (st.header.synchronizing) {
      // The client never sends the bytes; the command is over.
      this.startCommand();
    } else {
      this.state = { kind: 'discard-literal', remaining: st.header.size };
    }
  }

  finishStreamedLiteral(value: LiteralData): void {
    const st = this.state;
    if (st.kind !== 'await-finish') throw new Error('finishStreamedLiteral: no streamed literal is pending');
    this.parts.push({ kind: 'literal', data: value, binary: st.binary });
    this.state = { kind: 'line' };
  }

  // ---- internals ----

  private startCommand(): void {
    this.state = { kind: 'line' };
    this.lineBufs = [];
    this.lineLen = 0;
    this.tail = EMPTY;
    this.parts = [];
    this.commandMemory = 0;
    this.tag = null;
    this.skipError = null;
    this.skipTooBig = false;
  }

  /** Head chunk's unread bytes, or null. */
  private head(): Buffer | null {
    while (this.chunks.length > 0) {
      const c = this.chunks[0]!;
      if (this.headOffset < c.length) return this.headOffset === 0 ? c : c.subarray(this.headOffset);
      this.chunks.shift();
      this.headOffset = 0;
    }
    return null;
  }

  private consume(n: number): void {
    this.headOffset += n;
    this.queued -= n;
    this.consumedTotal += n;
    const c = this.chunks[0];
    if (c && this.headOffset >= c.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** Does one unit of work; false when more input or a decision is needed. */
  private step(): boolean {
    const st = this.state;
    switch (st.kind) {
      case 'line':
        return this.stepLine();
      case 'skip':
        return this.stepSkip();
      case 'await-literal':
      case 'await-finish':
        return false;
      case 'memory-literal': {
        const h = this.head();
        if (!h) return false;
        const n = Math.min(h.length, st.target.length - st.filled);
        h.copy(st.target, st.filled, 0, n);
        st.filled += n;
        this.consume(n);
        if (st.filled === st.target.length) {
          this.parts.push({ kind: 'literal', data: st.target, binary: st.binary });
          this.state = { kind: 'line' };
        }
        return true;
      }
      case 'stream-literal': {
        const h = this.head();
        if (!h) return false;
        const n = Math.min(h.length, st.remaining);
        const data = h.subarray(0, n);
        this.consume(n);
        st.remaining -= n;
        this.events.push({ kind: 'literal-chunk', data });
        if (st.remaining === 0) {
          this.state = { kind: 'await-finish', binary: st.binary };
          this.events.push({ kind: 'literal-end' });
        }
        return true;
      }
      case 'discard-literal': {
        if (st.remaining === 0) {
          this.enterSkip();
          return true;
        }
        const h = this.head();
        if (!h) return false;
        const n = Math.min(h.length, st.remaining);
        this.consume(n);
        st.remaining -= n;
        return true;
      }
    }
  }

  private enterSkip(): void {
    this.lineBufs = [];
    this.lineLen = 0;
    this.tail = EMPTY;
    this.state = { kind: 'skip' };
  }

  private stepLine(): boolean {
    const h = this.head();
    if (!h) return false;
    // Never copy more than the limit allows (+1 for a CR before the LF, +1 to see the overflow).
    const room = this.limits.maxLineLength + 2 - this.lineLen;
    let lf = h.indexOf(LF);
    if (lf > room) lf = -1;
    const take = lf < 0 ? Math.min(h.length, room) : lf;
    if (take > 0) {
      this.lineBufs.push(Buffer.from(h.subarray(0, take)));
      this.lineLen += take;
    }
    this.consume(lf < 0 ? take : take + 1);
    if (this.lineLen > this.limits.maxLineLength + 1 || (lf >= 0 && this.lineLenWithoutCr() > this.limits.maxLineLength)) {
      this.lineTooLong(lf >= 0);
      return true;
    }
    if (lf >= 0) this.endOfLine();
    return true;
  }

  private lineLenWithoutCr(): number {
    const last = this.lineBufs[this.lineBufs.length - 1];
    return last && last[last.length - 1] === CR ? this.lineLen - 1 : this.lineLen;
  }

  private lineTooLong(atLineEnd: boolean): void {
    const line = Buffer.concat(this.lineBufs);
    if (this.parts.length === 0) this.tag = extractTag(line, this.limits.maxTagLength);
    this.skipError = 'Command line too long';
    this.enterSkip();
    this.tail = Buffer.from(line.subarray(Math.max(0, line.length - TAIL_KEEP)));
    if (atLineEnd) this.skippedLineEnded();
  }

  private endOfLine(): void {
    let line = this.lineBufs.length === 1 ? this.lineBufs[0]! : Buffer.concat(this.lineBufs, this.lineLen);
    this.lineBufs = [];
    this.lineLen = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    const first = this.parts.length === 0;
    if (first) {
      const sp = line.indexOf(SP);
      if (sp > this.limits.maxTagLength) {
        this.tail = Buffer.from(line.subarray(Math.max(0, line.length - TAIL_KEEP)));
        this.skipError = 'Tag too long';
        this.state = { kind: 'skip' };
        this.skippedLineEnded();
        return;
      }
      this.tag = extractTag(line, this.limits.maxTagLength);
    }
    const header = findLiteralHeader(line);
    if (!header) {
      this.parts.push({ kind: 'text', data: line });
      const ev: FrameEvent = { kind: 'command', tag: this.tag, parts: this.parts, line: first ? line : null };
      this.startCommand();
      this.events.push(ev);
      return;
    }
    const text = line.subarray(0, header.start);
    this.parts.push({ kind: 'text', data: text });
    this.commandMemory += text.length;
    if (Number.isNaN(header.size)) {
      this.literalSizeInvalid(header);
      return;
    }
    if (!header.synchronizing && header.size > this.limits.maxNonSyncLiteral) {
      this.skipError = `Non-synchronizing literal of ${header.size} octets is too large (limit ${this.limits.maxNonSyncLiteral})`;
      this.skipTooBig = true;
      this.state = { kind: 'discard-literal', remaining: header.size };
      return;
    }
    const firstText = this.parts[0]!.kind === 'text' ? (this.parts[0]!.data as Buffer) : text;
    this.state = { kind: 'await-literal', header };
    const command = extractCommandName(firstText);
    this.events.push({
      kind: 'literal',
      tag: this.tag,
      command,
      size: header.size,
      synchronizing: header.synchronizing,
      binary: header.binary,
      ...(isCatenateUrlLiteral(command, this.parts) ? { catenateUrl: true } : {}),
    });
  }

  private literalSizeInvalid(header: LiteralHeader): void {
    const tag = this.tag;
    this.startCommand();
    if (header.synchronizing) {
      this.events.push({ kind: 'error', tag, text: 'Literal size too large', fatal: false });
    } else {
      // We cannot know where the command ends: the stream is lost.
      this.events.push({ kind: 'error', tag, text: 'Non-synchronizing literal size too large', fatal: true });
    }
  }

  private stepSkip(): boolean {
    const h = this.head();
    if (!h) return false;
    const lf = h.indexOf(LF);
    const take = lf < 0 ? h.length : lf;
    const piece = h.subarray(Math.max(0, take - TAIL_KEEP), take);
    this.tail = Buffer.concat([this.tail, piece]);
    if (this.tail.length > TAIL_KEEP) this.tail = Buffer.from(this.tail.subarray(this.tail.length - TAIL_KEEP));
    this.consume(lf < 0 ? take : take + 1);
    if (lf >= 0) this.skippedLineEnded();
    return true;
  }

  /** A skipped line ended: continue past a non-synchronizing literal, else finish the command. */
  private skippedLineEnded(): void {
    let t = this.tail;
    if (t.length > 0 && t[t.length - 1] === CR) t = t.subarray(0, t.length - 1);
    this.tail = EMPTY;
    const header = findLiteralHeader(t);
    if (header && !header.synchronizing) {
      if (Number.isNaN(header.size)) {
        const tag = this.tag;
        this.startCommand();
        this.events.push({ kind: 'error', tag, text: 'Non-synchronizing literal size too large', fatal: true });
        return;
      }
      this.state = { kind: 'discard-literal', remaining: header.size };
      return;
    }
    const tag = this.tag;
    const text = this.skipError;
    const tooBig = this.skipTooBig;
    this.startCommand();
    if (text !== null) this.events.push({ kind: 'error', tag, text, fatal: false, ...(tooBig ? { tooBig } : {}) });
  }
}
