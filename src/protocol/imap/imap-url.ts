// Relative IMAP URLs of a message or message part (RFC 5092), as CATENATE
// (RFC 4469 3) and REPLACE use them, with ";PARTIAL=" (RFC 5550 URL-PARTIAL).
// Pure: text in, a typed value (or the reason it is not one) out.
//
//   imsg-or-part  = ( "/" enc-mailbox [uidvalidity] iuid [isection] [ipartial] )   ; absolute path
//                 / ( enc-mailbox [uidvalidity] iuid [isection] [ipartial] )       ; relative path
//                 / ( iuid-only ["/" isection-only] ["/" ipartial-only] )          ; the base mailbox
//   uidvalidity   = ";UIDVALIDITY=" nz-number
//   iuid          = "/" ";UID=" nz-number
//   isection      = "/" ";SECTION=" enc-section
//   ipartial      = "/" ";PARTIAL=" number ["." nz-number]
//   enc-mailbox, enc-section = 1*bchar   (%-encoded UTF-8)
//
// Everything else is refused with a reason: URLs with a scheme or a server
// (another server's data is out of scope, RFC 4469 3 note), message lists
// ("?search"), URLAUTH (";EXPIRE=", ";URLAUTH=", RFC 4467), fragments.

import type { Section } from './ast.js';
import { section as parseSection } from './parser/fetch.js';
import { ParseError, Reader } from './parser/reader.js';

export interface ImapMessageUrl {
  /**
   * How the mailbox is given: 'absolute' ("/INBOX;..."), 'relative' ("Sent/;UID=1",
   * merged with the base URL's path, RFC 3986 5.2.3) or 'base' (";UID=1": the
   * base URL's mailbox, the selected one).
   */
  form: 'absolute' | 'relative' | 'base';
  /** Decoded mailbox name (UTF-8, "/" as the hierarchy delimiter); null for form 'base'. */
  mailbox: string | null;
  uidValidity: number | null;
  uid: number;
  /** BODY[section] of the message; null for the whole message. */
  section: Section | null;
  /** RFC 5550: octets [offset, offset+length) of the section (length null: to its end). */
  partial: { offset: number; length: number | null } | null;
}

export type ImapUrlResult = { ok: true; url: ImapMessageUrl } | { ok: false; reason: string };

const MAX_NUMBER = 0xffffffff;

/** bchar plus the ";" and "=" of the parameters and "%" of escapes: what may appear unescaped. */
function isUrlChar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  // unreserved "-._~", sub-delims-sh "!$'()*+,", achar "&=", bchar ":@/", and ";" "%".
  return "-._~!$'()*+,&=:@/;%".includes(String.fromCharCode(c));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** %-decodes to UTF-8; null when an escape or the UTF-8 is invalid. */
export function percentDecode(text: string): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = text.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** %-encodes a mailbox name for a URL path (bchar kept, "/" kept as the hierarchy delimiter). */
export function percentEncodeMailbox(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    out += isUrlChar(b) && b !== 0x25 && b !== 0x3b ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function nzNumber(digits: string): number | null {
  if (!/^[1-9][0-9]{0,9}$/.test(digits)) return null;
  const n = Number(digits);
  return n <= MAX_NUMBER ? n : null;
}

function number(digits: string): number | null {
  if (!/^[0-9]{1,10}$/.test(digits)) return null;
  const n = Number(digits);
  return n <= MAX_NUMBER ? n : null;
}

function section(encoded: string): Section | null {
  const text = percentDecode(encoded);
  if (text === null || text.length === 0) return null;
  try {
    const r = new Reader([{ kind: 'text', data: Buffer.from(`[${text}]`, 'utf8') }]);
    const s = parseSection(r);
    r.end('section');
    return s;
  } catch (e) {
    if (e instanceof ParseError) return null;
    throw e;
  }
}

// After the mailbox: [;UIDVALIDITY=n] /;UID=n [/;SECTION=s] [/;PARTIAL=o[.l]]
const TAIL = /^(?:;UIDVALIDITY=([^/;]*))?\/;UID=([^/;]*)(?:\/;SECTION=([^;]+?))?(?:\/;PARTIAL=([^/;]*))?$/i;

export function parseImapUrl(url: string): ImapUrlResult {
  const fail = (reason: string): ImapUrlResult => ({ ok: false, reason });
  if (url.length === 0) return fail('empty URL');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) return fail('only relative IMAP URLs to this server are supported');
  if (url.startsWith('//')) return fail('only URLs to this server are supported');
  if (url.includes('?')) return fail('not a message URL (message list)');
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c > 0x7e || !isUrlChar(c)) return fail(`invalid character in URL at offset ${i}`);
  }
  if (/;(?:EXPIRE|URLAUTH)=/i.test(url)) return fail('URLAUTH is not supported');

  let form: ImapMessageUrl['form'];
  let mailbox: string | null = null;
  let tail: string;
  if (url.startsWith(';')) {
    form = 'base';
    tail = '/' + url;
  } else {
    form = url.startsWith('/') ? 'absolute' : 'relative';
    const path = form === 'absolute' ? url.slice(1) : url;
    const semi = path.indexOf(';');
    if (semi < 0) return fail('no ;UID= in URL');
    let encoded = path.slice(0, semi);
    tail = path.slice(semi);
    if (encoded.endsWith('/')) {
      encoded = encoded.slice(0, -1);
      tail = '/' + tail;
    }
    if (encoded.length === 0) return fail('empty mailbox name');
    mailbox = percentDecode(encoded);
    if (mailbox === null) return fail('invalid %-escape or UTF-8 in the mailbox name');
  }
  const m = TAIL.exec(tail);
  if (!m) return fail('not a message or message part URL');
  const [, validityText, uidText, sectionText, partialText] = m;
  let uidValidity: number | null = null;
  if (validityText !== undefined) {
    if (form === 'base') return fail('UIDVALIDITY without a mailbox');
    uidValidity = nzNumber(validityText);
    if (uidValidity === null) return fail('invalid UIDVALIDITY');
  }
  const uid = nzNumber(uidText!);
  if (uid === null) return fail('invalid UID');
  let sec: Section | null = null;
  if (sectionText !== undefined) {
    sec = section(sectionText);
    if (!sec) return fail('invalid SECTION');
  }
  let partial: ImapMessageUrl['partial'] = null;
  if (partialText !== undefined) {
    const dot = partialText.indexOf('.');
    const offset = number(dot < 0 ? partialText : partialText.slice(0, dot));
    const length = dot < 0 ? null : nzNumber(partialText.slice(dot + 1));
    if (offset === null || (dot >= 0 && length === null)) return fail('invalid PARTIAL range');
    partial = { offset, length };
  }
  return { ok: true, url: { form, mailbox, uidValidity, uid, section: sec, partial } };
}

/**
 * The mailbox an URL names, given the base URL's mailbox (the selected one, or
 * null for "imap://user@server/"). RFC 3986 5.2.3: a relative path replaces
 * the base path's last segment. Null when a 'base' URL has no base mailbox.
 */
export function resolveUrlMailbox(url: ImapMessageUrl, baseMailbox: string | null): string | null {
  if (url.form === 'absolute') return url.mailbox;
  if (url.form === 'base') return baseMailbox;
  const slash = baseMailbox === null ? -1 : baseMailbox.lastIndexOf('/');
  return slash < 0 ? url.mailbox : baseMailbox!.slice(0, slash + 1) + url.mailbox;
}
