// Header fields split on raw bytes (RFC 5322 2.2): a field starts on a line
// that does not begin with SP/HTAB and runs through its folded continuation
// lines. Lines that are neither a field nor a continuation are skipped.
// Plus the structured-value parser for Content-Type / Content-Disposition
// (RFC 2045 5.1, RFC 2183, RFC 2231).

import { decodeCharset, decodeUtf8OrLatin1 } from './charset.js';
import type { ParamList } from './types.js';

export interface RawField {
  /** Lower-cased field name. */
  name: string;
  /** Offset of the field's first byte inside the header buffer. */
  start: number;
  /** Offset just past the field's last line terminator (or the end of the header). */
  end: number;
  /** Offset of the value (just past the colon). */
  valueStart: number;
}

const isWsp = (c: number | undefined): boolean => c === 0x20 || c === 0x09;

/**
 * Splits a header block into fields. Stops at the first empty line (the end of
 * the header). Field names are the bytes before the colon with trailing
 * whitespace removed (obs-optional allows "Subject :").
 */
export function splitHeaderFields(header: Buffer): RawField[] {
  const fields: RawField[] = [];
  let current: RawField | null = null;
  let pos = 0;
  const len = header.length;
  while (pos < len) {
    const lf = header.indexOf(0x0a, pos);
    const lineEnd = lf < 0 ? len : lf + 1;
    let contentEnd = lf < 0 ? len : lf;
    if (contentEnd > pos && header[contentEnd - 1] === 0x0d) contentEnd--;
    if (contentEnd === pos) break; // blank line: end of header
    const first = header[pos];
    if (isWsp(first)) {
      if (current) current.end = lineEnd;
    } else {
      current = null;
      const colon = header.indexOf(0x3a, pos);
      if (colon >= 0 && colon < contentEnd) {
        let nameEnd = colon;
        while (nameEnd > pos && isWsp(header[nameEnd - 1])) nameEnd--;
        if (nameEnd > pos) {
          current = {
            name: header.toString('latin1', pos, nameEnd).toLowerCase(),
            start: pos,
            end: lineEnd,
            valueStart: colon + 1,
          };
          fields.push(current);
        }
      }
    }
    pos = lineEnd;
  }
  return fields;
}

/** The unfolded value of a field (line breaks removed, surrounding whitespace trimmed). */
export function fieldValue(header: Buffer, field: RawField): string {
  return unfold(decodeUtf8OrLatin1(header.subarray(field.valueStart, field.end)));
}

/** Removes CRLF/LF line breaks (RFC 5322 unfolding) and trims. */
export function unfold(value: string): string {
  return value.replace(/\r?\n/g, '').replace(/\r$/, '').trim();
}

export interface ParsedField {
  name: string;
  value: string;
}

/** All fields of a header block as (lower-cased name, unfolded value) pairs. */
export function parseHeader(header: Buffer): ParsedField[] {
  return splitHeaderFields(header).map((f) => ({ name: f.name, value: fieldValue(header, f) }));
}

/** First value of `name` (lower-case), or null. */
export function firstValue(fields: ParsedField[], name: string): string | null {
  for (const f of fields) if (f.name === name) return f.value;
  return null;
}

// ---------------------------------------------------------------------------
// Structured values: "type/subtype; a=b; c="d e"" (comments allowed anywhere).

export interface StructuredValue {
  /** The leading token (e.g. "text/plain" or "attachment"), lower-cased; "" if absent. */
  value: string;
  params: ParamList;
}

/** Removes RFC 5322 comments outside quoted strings (nesting and quoted-pairs honoured). */
function stripComments(s: string): string {
  if (s.indexOf('(') < 0) return s;
  let out = '';
  let depth = 0;
  let inQuote = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (depth === 0 && inQuote) {
      out += c;
      if (c === '\\' && i + 1 < s.length) out += s[++i];
      else if (c === '"') inQuote = false;
    } else if (depth > 0) {
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
    } else if (c === '"') {
      inQuote = true;
      out += c;
    } else if (c === '(') {
      depth = 1;
      out += ' ';
    } else out += c;
  }
  return out;
}

/**
 * Parses "value; name=token; name="quoted"". Parameter names are lower-cased,
 * values are kept as written (quotes removed, quoted-pairs unescaped) so RFC
 * 2231 "name*0*=" continuations stay as they are in the message.
 */
export function parseStructured(input: string): StructuredValue {
  const s = stripComments(input);
  let i = 0;
  const n = s.length;
  const skipWs = (): void => {
    while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
  };
  skipWs();
  let start = i;
  while (i < n && s[i] !== ';') i++;
  const value = s.slice(start, i).trim().replace(/\s+/g, '').toLowerCase();
  const params: ParamList = [];
  while (i < n) {
    i++; // the ';'
    skipWs();
    start = i;
    while (i < n && s[i] !== '=' && s[i] !== ';') i++;
    const name = s.slice(start, i).trim().toLowerCase();
    if (i >= n || s[i] === ';') continue; // a name without a value: skip it
    i++; // '='
    skipWs();
    let val: string;
    if (s[i] === '"') {
      i++;
      val = '';
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        val += s[i++];
      }
      i++; // closing quote
      while (i < n && s[i] !== ';') i++; // junk after the quoted string
    } else {
      start = i;
      while (i < n && s[i] !== ';') i++;
      val = s.slice(start, i).trim();
    }
    if (name) params.push([name, val]);
  }
  return { value, params };
}

/**
 * Decodes RFC 2231 parameters: joins "name*0", "name*1*"... continuations and
 * percent-decodes extended values in their charset. Returns name -> value.
 */
export function decodeParams(params: ParamList): Map<string, string> {
  const plain = new Map<string, string>();
  const parts = new Map<string, Array<{ index: number; extended: boolean; value: string }>>();
  for (const [rawName, value] of params) {
    const m = /^([^*]+)\*(\d{1,4})?\*?$/.exec(rawName);
    if (!m) {
      if (!plain.has(rawName)) plain.set(rawName, value);
      continue;
    }
    const name = m[1]!;
    const index = m[2] !== undefined ? Number(m[2]) : 0;
    const extended = rawName.endsWith('*');
    let list = parts.get(name);
    if (!list) parts.set(name, (list = []));
    if (list.length < 1000) list.push({ index, extended, value });
  }
  for (const [name, list] of parts) {
    list.sort((a, b) => a.index - b.index);
    let charset: string | null = null;
    const bytes: Buffer[] = [];
    list.forEach((p, k) => {
      let v = p.value;
      if (p.extended) {
        if (k === 0) {
          const q1 = v.indexOf("'");
          const q2 = q1 >= 0 ? v.indexOf("'", q1 + 1) : -1;
          if (q2 >= 0) {
            charset = v.slice(0, q1) || null;
            v = v.slice(q2 + 1);
          }
        }
        bytes.push(percentDecode(v));
      } else bytes.push(Buffer.from(v, 'utf8'));
    });
    plain.set(name, decodeCharset(Buffer.concat(bytes), charset ?? 'utf-8'));
  }
  return plain;
}

function percentDecode(v: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(v.slice(i + 1, i + 3))) {
      out.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else for (const b of Buffer.from(v[i]!, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}
