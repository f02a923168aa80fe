// Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3): printable ASCII
// stands for itself except "&", which is written "&-"; everything else is
// UTF-16BE in modified base64 (',' for '/', no padding) between "&" and "-".

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

const isDirect = (code: number): boolean => code >= 0x20 && code <= 0x7e;

function encodeRun(units: number[]): string {
  const bytes: number[] = [];
  for (const u of units) bytes.push(u >> 8, u & 0xff);
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 0x3f];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 0x3f];
  return `&${out}-`;
}

/** Encodes a Unicode mailbox name as modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = '';
  let run: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isDirect(code)) {
      if (run.length > 0) {
        out += encodeRun(run);
        run = [];
      }
      out += code === 0x26 ? '&-' : name[i];
    } else {
      run.push(code);
    }
  }
  if (run.length > 0) out += encodeRun(run);
  return out;
}

/** Decodes one base64 run into UTF-16 code units; null when not canonical. */
function decodeRun(text: string): number[] | null {
  let acc = 0;
  let bits = 0;
  const bytes: number[] = [];
  for (const c of text) {
    const v = VALUE.get(c);
    if (v === undefined) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
    }
  }
  // Leftover bits must be zero padding, fewer than 6, and the bytes whole UTF-16 units.
  if (bits >= 6 || acc !== 0 || bytes.length % 2 !== 0 || bytes.length === 0) return null;
  const units: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) units.push((bytes[i]! << 8) | bytes[i + 1]!);
  return units;
}

/**
 * Decodes modified UTF-7. Returns null for anything not produced by a
 * correct encoder: raw 8-bit or control characters, a "&" run that is not
 * closed, bad base64, non-zero padding bits, broken surrogate pairs, encoded
 * printable ASCII, or two encoded runs in a row.
 */
export function decodeMutf7(text: string): string | null {
  let out = '';
  let i = 0;
  let lastWasRun = false;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (!isDirect(code)) return null;
    if (code !== 0x26) {
      out += text[i];
      i++;
      lastWasRun = false;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += '&';
      i += 2;
      lastWasRun = false;
      continue;
    }
    if (lastWasRun) return null;
    const units = decodeRun(text.slice(i + 1, end));
    if (!units) return null;
    for (let k = 0; k < units.length; k++) {
      const u = units[k]!;
      if (isDirect(u)) return null;
      if (u >= 0xd800 && u <= 0xdbff) {
        const low = units[k + 1];
        if (low === undefined || low < 0xdc00 || low > 0xdfff) return null;
        out += String.fromCharCode(u, low);
        k++;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return null;
      } else {
        out += String.fromCharCode(u);
      }
    }
    i = end + 1;
    lastWasRun = true;
  }
  return out;
}
