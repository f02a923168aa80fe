// Mailbox hierarchy helpers shared by LIST, LSUB and SELECT: pattern
// matching (RFC 9051 6.3.9: "*" matches anything, "%" anything but the
// delimiter), attributes, ordering.

import type { MailboxInfo } from '../mail/types.js';
import { normalizeInbox } from './mailbox-names.js';

/** INBOX first, then by name (code point order): a stable order for clients and tests. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'INBOX') return -1;
  if (b === 'INBOX') return 1;
  return a < b ? -1 : 1;
}

/** A matcher for a LIST pattern (reference already prefixed). INBOX matches case-insensitively. */
export function compilePattern(pattern: string): (name: string) => boolean {
  const normalized = normalizeInbox(pattern);
  let re = '^';
  for (const ch of normalized) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
  }
  const exact = new RegExp(re + '$', 'su');
  // INBOX itself is case-insensitive: "inbox", "Inb%" and "i*" all reach it.
  const folded = new RegExp(re + '$', 'siu');
  return (name: string) => (name === 'INBOX' ? folded.test(name) : exact.test(name));
}

export function hasChildren(name: string, all: readonly { name: string }[]): boolean {
  const prefix = name + '/';
  return all.some((m) => m.name.startsWith(prefix));
}

/** Attributes of an existing mailbox (without \Subscribed). */
export function mailboxAttributes(mailbox: MailboxInfo, all: readonly MailboxInfo[]): string[] {
  const attrs: string[] = [];
  if (!mailbox.selectable) attrs.push('\\Noselect');
  attrs.push(hasChildren(mailbox.name, all) ? '\\HasChildren' : '\\HasNoChildren');
  if (mailbox.specialUse) attrs.push(mailbox.specialUse);
  return attrs;
}

/** The parent names of a hierarchical name, nearest last ("a/b/c" -> ["a", "a/b"]). */
export function ancestors(name: string): string[] {
  const out: string[] = [];
  let i = name.indexOf('/');
  while (i > 0) {
    out.push(name.slice(0, i));
    i = name.indexOf('/', i + 1);
  }
  return out;
}
