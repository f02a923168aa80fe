// Mailbox names between the wire and the store. The store speaks UTF-8 with
// "/" as delimiter and "INBOX" in upper case; IMAP4rev1 clients speak
// modified UTF-7 (RFC 3501 5.1.3), IMAP4rev2/UTF8=ACCEPT clients UTF-8.

import { decodeMutf7, encodeMutf7 } from '../protocol/imap/mutf7.js';
import { CommandError } from './context.js';

/** Folds "inbox" (in any case) to "INBOX", also as the first level of a hierarchy. */
export function normalizeInbox(name: string): string {
  if (name.length < 5 || name.slice(0, 5).toUpperCase() !== 'INBOX') return name;
  if (name.length === 5) return 'INBOX';
  if (name[5] === '/') return 'INBOX' + name.slice(5);
  return name;
}

/** Wire name -> store name. Throws a tagged BAD for invalid modified UTF-7. */
export function mailboxFromWire(wire: string, utf8: boolean, foldInbox = true): string {
  let name = wire;
  if (!utf8) {
    let decoded: string | null;
    try {
      decoded = decodeMutf7(wire) as string | null;
    } catch {
      decoded = null;
    }
    if (decoded === null || decoded === undefined) {
      throw new CommandError({ status: 'BAD', text: 'Invalid modified UTF-7 in mailbox name' });
    }
    name = decoded;
  }
  return foldInbox ? normalizeInbox(name) : name;
}

/** Store name -> wire name. */
export function mailboxToWire(name: string, utf8: boolean): string {
  return utf8 ? name : encodeMutf7(name);
}

/**
 * A name the store can hold: no empty levels, no leading/trailing delimiter,
 * and Net-Unicode (RFC 9051 5.1, RFC 6855 3): NFC, no control characters
 * (U+0000-001F, U+007F-009F), no line or paragraph separator.
 */
export function validMailboxName(name: string): boolean {
  if (name.length === 0 || name.length > 1000) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return false;
  }
  if (name.normalize('NFC') !== name) return false;
  return !name.includes('*') && !name.includes('%');
}
