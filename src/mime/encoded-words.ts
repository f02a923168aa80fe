// RFC 2047 encoded-words ("=?charset?B|Q?text?=") in header values. Adjacent
// encoded-words separated only by whitespace are joined without it (6.2);
// consecutive words in the same charset are decoded together so a multi-byte
// character split across two words survives. Malformed words stay as written.

import { decodeCharset } from './charset.js';

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

interface Word {
  start: number;
  end: number;
  charset: string;
  bytes: Buffer;
}

function decodeQ(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f /* _ */) out[o++] = 0x20;
    else if (c === 0x3d /* = */ && i + 2 < text.length && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out[o++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[o++] = c & 0xff;
  }
  return out.subarray(0, o);
}

/** Decodes the encoded-words of an (unfolded) header value. Never throws. */
export function decodeEncodedWords(value: string): string {
  if (value.indexOf('=?') < 0) return value;
  const words: Word[] = [];
  for (const m of value.matchAll(ENCODED_WORD)) {
    const [whole, charset, enc, text] = m;
    const bytes = enc === 'b' || enc === 'B' ? Buffer.from(text!, 'base64') : decodeQ(text!);
    words.push({ start: m.index!, end: m.index! + whole.length, charset: charset!.toLowerCase(), bytes });
  }
  if (words.length === 0) return value;
  let out = '';
  let pos = 0;
  let k = 0;
  while (k < words.length) {
    const first = words[k]!;
    out += value.slice(pos, first.start);
    // Gather the run of adjacent words (only whitespace between them) sharing a charset.
    const run: Buffer[] = [first.bytes];
    let last = first;
    k++;
    while (k < words.length) {
      const next = words[k]!;
      if (!/^\s*$/.test(value.slice(last.end, next.start))) break;
      if (next.charset !== first.charset) {
        // Adjacent but another charset: drop the whitespace, decode separately.
        out += decodeCharset(Buffer.concat(run), first.charset);
        run.length = 0;
        pos = next.start;
        break;
      }
      run.push(next.bytes);
      last = next;
      k++;
    }
    if (run.length) {
      out += decodeCharset(Buffer.concat(run), first.charset);
      pos = last.end;
    }
  }
  return out + value.slice(pos);
}
