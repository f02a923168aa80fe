// RFC 5322 address lists to IMAP ENVELOPE addresses (RFC 9051 7.5.2).
// Display names stay raw (encoded-words are not decoded) but quotes are
// removed and quoted-pairs unescaped. Groups become a start marker
// (mailbox = group name, host = null) and an end marker (mailbox and host
// null). Obsolete and broken forms are parsed best effort, never thrown on.

import type { Address } from './types.js';

type Token =
  | { kind: 'word'; text: string; quoted: boolean; spaceBefore: boolean }
  | { kind: 'special'; text: string; spaceBefore: boolean }
  | { kind: 'comment'; text: string; spaceBefore: boolean };

const SPECIALS = '<>,:;@.[]';

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = s.length;
  let space = false;
  while (i < n) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      space = true;
      i++;
    } else if (c === '"') {
      let text = '';
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        text += s[i++];
      }
      i++;
      tokens.push({ kind: 'word', text, quoted: true, spaceBefore: space });
      space = false;
    } else if (c === '(') {
      let depth = 1;
      let text = '';
      i++;
      while (i < n && depth > 0) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < n) {
          text += s[i + 1];
          i += 2;
          continue;
        }
        if (d === '(') depth++;
        else if (d === ')' && --depth === 0) {
          i++;
          break;
        }
        text += d;
        i++;
      }
      tokens.push({ kind: 'comment', text: text.trim(), spaceBefore: space });
      space = true;
    } else if (c === '[') {
      // Domain literal: kept whole, brackets included.
      const close = s.indexOf(']', i);
      const end = close < 0 ? n : close + 1;
      tokens.push({ kind: 'word', text: s.slice(i, end), quoted: false, spaceBefore: space });
      i = end;
      space = false;
    } else if (SPECIALS.includes(c)) {
      tokens.push({ kind: 'special', text: c, spaceBefore: space });
      space = false;
      i++;
    } else {
      const start = i;
      while (i < n && !' \t\r\n"(<>,:;@.[]'.includes(s[i]!)) i++;
      tokens.push({ kind: 'word', text: s.slice(start, i), quoted: false, spaceBefore: space });
      space = false;
    }
  }
  return tokens;
}

/** Joins phrase tokens, one space where the source had whitespace. */
function phrase(tokens: Token[]): string | null {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'comment') continue;
    if (out && t.spaceBefore) out += ' ';
    out += t.text;
  }
  return out === '' ? null : out;
}

/** local@domain from tokens; dots are joined without the CFWS around them. */
function addrSpec(tokens: Token[]): { mailbox: string | null; host: string | null; comment: string | null } {
  let comment: string | null = null;
  const at = tokens.findIndex((t) => t.kind === 'special' && t.text === '@');
  const join = (ts: Token[]): string =>
    ts
      .filter((t) => t.kind !== 'comment')
      .map((t) => (t.kind === 'word' && t.quoted ? `"${t.text.replace(/(["\\])/g, '\\$1')}"` : t.text))
      .join('');
  for (const t of tokens) if (t.kind === 'comment' && t.text) comment = t.text;
  if (at < 0) {
    const local = join(tokens);
    return { mailbox: local || null, host: local ? '' : null, comment };
  }
  const local = join(tokens.slice(0, at));
  const host = join(tokens.slice(at + 1).filter((t) => !(t.kind === 'special' && t.text === '@')));
  return { mailbox: local, host, comment };
}

function isSpecial(t: Token | undefined, c: string): boolean {
  return t !== undefined && t.kind === 'special' && t.text === c;
}

/** Parses one mailbox (name-addr or addr-spec) from tokens that hold nothing else. */
function mailbox(tokens: Token[]): Address | null {
  const lt = tokens.findIndex((t) => isSpecial(t, '<'));
  if (lt >= 0) {
    let gt = tokens.findIndex((t, k) => k > lt && isSpecial(t, '>'));
    if (gt < 0) gt = tokens.length;
    let inner = tokens.slice(lt + 1, gt);
    let adl: string | null = null;
    // Obsolete source route: <@a,@b:user@host>.
    const colon = inner.findIndex((t) => isSpecial(t, ':'));
    if (colon >= 0 && isSpecial(inner[0], '@')) {
      adl = inner
        .slice(0, colon)
        .map((t) => t.text)
        .join('');
      inner = inner.slice(colon + 1);
    }
    const spec = addrSpec(inner);
    const name = phrase(tokens.slice(0, lt));
    if (!spec.mailbox && !name) return null;
    return { name, adl, mailbox: spec.mailbox ?? '', host: spec.host ?? '' };
  }
  const spec = addrSpec(tokens);
  if (!spec.mailbox) return null;
  return { name: spec.comment, adl: null, mailbox: spec.mailbox, host: spec.host ?? '' };
}

/**
 * Parses an address-list field value. A mailbox without a domain gets host ""
 * (not null: null is reserved for group markers). Empty input gives [].
 */
export function parseAddressList(value: string): Address[] {
  const tokens = tokenize(value);
  const out: Address[] = [];
  let current: Token[] = [];
  let inGroup = false;
  let angle = 0;
  const flush = (): void => {
    if (current.length) {
      const a = mailbox(current);
      if (a) out.push(a);
    }
    current = [];
  };
  for (const t of tokens) {
    if (t.kind === 'special') {
      if (t.text === '<') angle++;
      else if (t.text === '>') angle = Math.max(0, angle - 1);
      else if (angle === 0 && t.text === ',') {
        flush();
        continue;
      } else if (angle === 0 && t.text === ':' && !inGroup) {
        out.push({ name: null, adl: null, mailbox: phrase(current) ?? '', host: null });
        current = [];
        inGroup = true;
        continue;
      } else if (angle === 0 && t.text === ';' && inGroup) {
        flush();
        out.push({ name: null, adl: null, mailbox: null, host: null });
        inGroup = false;
        continue;
      }
    }
    current.push(t);
    if (out.length + (current.length >> 3) > 10000) break; // absurd lists: stop
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}
