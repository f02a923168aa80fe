// Incremental Content-Transfer-Encoding decoders. Each keeps the few bytes of
// state that can straddle a chunk boundary, so a 200 MB attachment can be
// decoded (for BINARY[] fetches) while it streams. Bad input never throws:
// base64 skips characters outside its alphabet, quoted-printable keeps
// malformed "=" sequences as they are.

export interface TransferDecoder {
  /**
   * Decodes the next chunk; returns the bytes that are complete so far. No
   * reference to `chunk` is kept (callers may reuse its buffer), and only
   * the identity decoder returns bytes that share it. With `reuseOutput`
   * (createTransferDecoder) the bytes may be in a buffer the next push()
   * overwrites.
   */
  push(chunk: Buffer): Buffer;
  /** Flushes what is left at the end of the input. */
  end(): Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Base64 alphabet value of each byte, -1 for anything else. */
const B64 = new Int8Array(256).fill(-1);
{
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) B64[alphabet.charCodeAt(i)] = i;
  // URL-safe variants occur in broken mailers; accept them.
  B64['-'.charCodeAt(0)] = 62;
  B64['_'.charCodeAt(0)] = 63;
}

/** Standard alphabet, to turn the values of a partial group back into characters. */
const B64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Input is handed to the native decoder in slices of this size: the strings stay small (young-generation) objects. */
const NATIVE_SLICE = 32 * 1024;

/**
 * Decodes base64 the way described above. The bulk of every chunk goes
 * through Node's native decoder, about ten times faster than a loop in
 * JavaScript (a 50 MB attachment is decoded twice per BINARY fetch: once for
 * its size, once to send it). The native decoder skips characters outside
 * the alphabet (accepting "-" and "_") as we do, but stops at the first "=",
 * so chunks holding "=" take the byte loop (test/unit/mime/encoding.test.ts
 * compares both with a plain byte loop on random input, so a Node release
 * whose decoder behaves otherwise fails there). The state between chunks is
 * the 0-3 alphabet characters of an incomplete group (`carry`).
 */
class Base64Decoder implements TransferDecoder {
  private readonly carry = Buffer.alloc(4);
  private carryLen = 0;
  /** carry + one input slice + the probe character, as bytes (reused). */
  private scratch: Buffer | null = null;
  /** The output of every push, when the caller is done with it before the next (reuseOutput). */
  private output: Buffer | null = null;

  /** `reuseOutput`: no new buffer per chunk (a 10 MB BINARY fetch made 15 MB of them, freed only by the next collection). */
  constructor(private readonly reuseOutput = false) {}

  push(chunk: Buffer): Buffer {
    const pad = chunk.indexOf(0x3d /* = */);
    if (pad < 0) return this.pushNative(chunk);
    const head = pad > 0 ? this.pushNative(chunk.subarray(0, pad)) : EMPTY;
    const tail = this.pushLoop(chunk.subarray(pad));
    return head.length === 0 ? tail : tail.length === 0 ? head : Buffer.concat([head, tail]);
  }

  end(): Buffer {
    // Two or three characters left give one or two bytes (as flushPartial), one gives none.
    const n = this.carryLen;
    this.carryLen = 0;
    return n < 2 ? EMPTY : Buffer.from(this.carry.toString('latin1', 0, n), 'base64');
  }

  /** Input without "=": decoded slice by slice into one output buffer. */
  private pushNative(chunk: Buffer): Buffer {
    const size = Math.floor((chunk.length + 8) / 4) * 3 + 6;
    let out: Buffer;
    if (this.reuseOutput) {
      if (!this.output || this.output.length < size) this.output = Buffer.allocUnsafeSlow(size);
      out = this.output;
    } else {
      out = Buffer.allocUnsafe(size);
    }
    let o = 0;
    for (let i = 0; i < chunk.length; i += NATIVE_SLICE) o = this.decodeSlice(chunk.subarray(i, i + NATIVE_SLICE), out, o);
    return out.subarray(0, o);
  }

  /**
   * Decodes carry + slice into out at o; returns the new end. How many
   * alphabet characters end in an incomplete group is read from the native
   * decode of the text plus one probe character whose value differs from the
   * last alphabet character's: the output length modulo 3 tells 1 or 2 left
   * over, and for 0 or 3 the last byte's low 6 bits are either that last
   * character (its group was complete; the lone probe is dropped) or the
   * probe (it completed a group of 3).
   */
  private decodeSlice(slice: Buffer, out: Buffer, o: number): number {
    const need = slice.length + 5;
    if (!this.scratch || this.scratch.length < need) this.scratch = Buffer.allocUnsafe(need);
    const text = this.scratch;
    this.carry.copy(text, 0, 0, this.carryLen);
    let len = this.carryLen + slice.copy(text, this.carryLen);
    let last = len - 1;
    while (last >= 0 && B64[text[last]!]! < 0) last--;
    if (last < 0) return o;
    const probe = B64[text[last]!] === 0 ? 1 : 0;
    text[len++] = B64_CHARS.charCodeAt(probe);
    const n = out.write(text.toString('latin1', 0, len), o, 'base64');
    let rest = n % 3;
    if (rest === 0 && (out[o + n - 1]! & 0x3f) === probe) rest = 3;
    // The last `rest` bytes come from the incomplete group plus the probe: drop them, keep its characters.
    this.carryLen = rest;
    for (let i = last, k = rest; k > 0; i--) if (B64[text[i]!]! >= 0) this.carry[--k] = text[i]!;
    return o + n - rest;
  }

  /** The byte loop, for input holding "=" (padding ends a group; concatenated base64 may follow). */
  private pushLoop(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(Math.floor(((chunk.length + this.carryLen) * 3) / 4) + 3);
    let o = 0;
    let quad = 0;
    let have = 0;
    for (let i = 0; i < this.carryLen; i++) {
      quad = (quad << 6) | B64[this.carry[i]!]!;
      have++;
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      const v = B64[c]!;
      if (v >= 0) {
        quad = (quad << 6) | v;
        if (++have === 4) {
          out[o++] = (quad >> 16) & 0xff;
          out[o++] = (quad >> 8) & 0xff;
          out[o++] = quad & 0xff;
          quad = 0;
          have = 0;
        }
      } else if (c === 0x3d /* = */ && have >= 2) {
        o = flushPartial(out, o, quad, have);
        quad = 0;
        have = 0;
      }
    }
    this.carryLen = have;
    for (let k = 0; k < have; k++) this.carry[k] = B64_CHARS.charCodeAt((quad >> (6 * (have - 1 - k))) & 0x3f);
    return out.subarray(0, o);
  }
}

function flushPartial(out: Buffer, o: number, quad: number, have: number): number {
  if (have === 2) {
    out[o++] = (quad >> 4) & 0xff;
  } else if (have === 3) {
    out[o++] = (quad >> 10) & 0xff;
    out[o++] = (quad >> 2) & 0xff;
  }
  return o;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * Quoted-printable (RFC 2045 6.7). Whole lines are decoded so that trailing
 * whitespace (removed on decoding) and soft line breaks are seen in full; a
 * line longer than the chunk is decoded up to a point that cannot be part of
 * an "=XX" or of trailing whitespace.
 */
class QuotedPrintableDecoder implements TransferDecoder {
  private pending: Buffer = EMPTY;

  push(chunk: Buffer): Buffer {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let cut = data.lastIndexOf(0x0a) + 1;
    if (cut === 0 && data.length > 8192) {
      cut = data.length - 2;
      while (cut > 0 && (isBlank(data[cut - 1]!) || data[cut - 1] === 0x0d)) cut--;
      if (cut > 0 && data[cut - 1] === 0x3d) cut--;
      if (cut > 1 && data[cut - 2] === 0x3d) cut -= 2;
    }
    this.pending = cut < data.length ? Buffer.from(data.subarray(cut)) : EMPTY;
    return decodeQp(data.subarray(0, cut), false);
  }

  end(): Buffer {
    const rest = this.pending;
    this.pending = EMPTY;
    return decodeQp(rest, true);
  }
}

/** Decodes complete QP lines (or, when the segment has no LF, a line fragment). */
function decodeQp(data: Buffer, final: boolean): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let o = 0;
  let lineStart = 0;
  while (lineStart < data.length) {
    const lf = data.indexOf(0x0a, lineStart);
    const hasLf = lf >= 0;
    let end = hasLf ? lf : data.length;
    let eolLen = 0;
    if (hasLf) {
      eolLen = 1;
      if (end > lineStart && data[end - 1] === 0x0d) {
        end--;
        eolLen = 2;
      }
    }
    // Trailing whitespace is transport padding only at a real line end.
    if (hasLf || final) while (end > lineStart && isBlank(data[end - 1]!)) end--;
    let soft = false;
    let i = lineStart;
    while (i < end) {
      const c = data[i]!;
      if (c !== 0x3d) {
        out[o++] = c;
        i++;
        continue;
      }
      if (i + 1 === end) {
        // "=" at the end of a line is a soft line break.
        soft = hasLf || final;
        if (!soft) out[o++] = c;
        i++;
        continue;
      }
      const hi = hexValue(data[i + 1]!);
      const lo = i + 2 < end ? hexValue(data[i + 2]!) : -1;
      if (hi >= 0 && lo >= 0) {
        out[o++] = (hi << 4) | lo;
        i += 3;
      } else {
        out[o++] = c;
        i++;
      }
    }
    if (hasLf && !soft) {
      if (eolLen === 2) out[o++] = 0x0d;
      out[o++] = 0x0a;
    }
    lineStart = hasLf ? lf + 1 : data.length;
  }
  return out.subarray(0, o);
}

class IdentityDecoder implements TransferDecoder {
  push(chunk: Buffer): Buffer {
    return chunk;
  }
  end(): Buffer {
    return EMPTY;
  }
}

/** Normalised encoding name: lower case, no surrounding whitespace or quotes. */
export function normalizeEncoding(encoding: string | null | undefined): string {
  return (encoding ?? '').trim().replace(/^"|"$/g, '').toLowerCase();
}

/** True for encodings whose bytes are the content itself. */
export function isIdentityEncoding(encoding: string | null | undefined): boolean {
  const e = normalizeEncoding(encoding);
  return e === '' || e === '7bit' || e === '8bit' || e === 'binary';
}

/**
 * A decoder for a Content-Transfer-Encoding, or null when the encoding is
 * unknown (the IMAP server then answers BINARY fetches with UNKNOWN-CTE).
 */
export function createTransferDecoder(encoding: string, options: { reuseOutput?: boolean } = {}): TransferDecoder | null {
  const e = normalizeEncoding(encoding);
  if (e === 'base64') return new Base64Decoder(options.reuseOutput ?? false);
  if (e === 'quoted-printable') return new QuotedPrintableDecoder();
  if (isIdentityEncoding(e)) return new IdentityDecoder();
  return null;
}

/** Decodes a whole buffer (convenience for small inputs); null for unknown encodings. */
export function decodeTransfer(data: Buffer, encoding: string): Buffer | null {
  const decoder = createTransferDecoder(encoding);
  if (!decoder) return null;
  const head = decoder.push(data);
  const tail = decoder.end();
  return tail.length ? Buffer.concat([head, tail]) : head;
}

/** Size of the decoded form of `data` (BINARY.SIZE); null for unknown encodings. */
export function decodedSize(data: Buffer, encoding: string): number | null {
  if (isIdentityEncoding(encoding)) return data.length;
  const decoded = decodeTransfer(data, encoding);
  return decoded ? decoded.length : null;
}
