// Charset decoding for header words and body text. Node's TextDecoder (full
// ICU) knows the WHATWG encodings; anything it does not know (utf-7, x-*,
// misspelt labels) falls back to Latin-1 so decoding never throws.

import { isUtf8 } from 'node:buffer';

const decoders = new Map<string, TextDecoder | null>();

/** A few labels seen in real mail that WHATWG does not list under that name. */
const ALIASES: Record<string, string> = {
  'utf8': 'utf-8',
  'unicode-1-1-utf-8': 'utf-8',
  'cp-1252': 'windows-1252',
  'cp1250': 'windows-1250',
  'cp1251': 'windows-1251',
  'win-1251': 'windows-1251',
  'cp936': 'gbk',
  'ms936': 'gbk',
  'cp932': 'shift_jis',
  'ms932': 'shift_jis',
  'sjis': 'shift_jis',
  'cp949': 'euc-kr',
  'cp850': 'windows-1252',
  'iso8859-1': 'iso-8859-1',
  'iso8859-2': 'iso-8859-2',
  'iso8859-15': 'iso-8859-15',
  'ansi_x3.4-1968': 'us-ascii',
};

function decoderFor(charset: string): TextDecoder | null {
  let label = charset.trim().toLowerCase();
  // RFC 2231 allows "charset*language" inside encoded-words.
  const star = label.indexOf('*');
  if (star >= 0) label = label.slice(0, star);
  label = ALIASES[label] ?? label;
  const cached = decoders.get(label);
  if (cached !== undefined) return cached;
  let decoder: TextDecoder | null = null;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = null;
  }
  if (decoders.size < 256) decoders.set(label, decoder);
  return decoder;
}

/** True when TextDecoder knows the charset (else decodeCharset uses Latin-1). */
export function isKnownCharset(charset: string): boolean {
  return decoderFor(charset) !== null;
}

/** Decodes bytes in `charset`; unknown charsets decode as Latin-1. Never throws. */
export function decodeCharset(bytes: Buffer, charset: string | null | undefined): string {
  if (!charset) return decodeUtf8OrLatin1(bytes);
  const lower = charset.trim().toLowerCase();
  // us-ascii text is very often really UTF-8 or Latin-1 (unlabelled 8-bit).
  if (lower === 'us-ascii' || lower === 'ascii' || lower === '') return decodeUtf8OrLatin1(bytes);
  const decoder = decoderFor(lower);
  if (!decoder) return bytes.toString('latin1');
  try {
    return decoder.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Header bytes: UTF-8 when valid, otherwise byte-for-byte Latin-1 (src/mime/types.ts). */
export function decodeUtf8OrLatin1(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}
