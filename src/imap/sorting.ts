// SORT keys and ordering (RFC 5256 section 3, RFC 5957 DISPLAYFROM/DISPLAYTO),
// pure: no store, no session. Strings collate with i;unicode-casemap
// (RFC 5051), which RFC 5256 section 7 requires for SORT and THREAD.

import type { SequenceSet, SeqRange, SortCriterion } from '../protocol/imap/ast.js';
import { decodeEncodedWords } from '../mime/encoded-words.js';
import { baseSubject } from '../mime/subject.js';
import { unicodeCasemap } from '../mime/unicode-casemap.js';
import type { Address, MessageIndex } from '../mime/types.js';

/** What SORT and THREAD need of one message, computed once. */
export interface SortableMessage {
  /** The number reported: MSN, or UID for UID SORT/THREAD. */
  id: number;
  /** Sequence number: the implicit last sort criterion. */
  seq: number;
  size: number;
  /** INTERNALDATE, ms since the epoch. */
  arrival: number;
  /** Sent date (RFC 5256 2.2) in UTC ms, INTERNALDATE when the Date: header is missing or unparsable. */
  sent: number;
  /** Collation keys (i;unicode-casemap, UTF-8 octets). */
  subject: Buffer;
  from: Buffer;
  to: Buffer;
  cc: Buffer;
  displayFrom: Buffer;
  displayTo: Buffer;
  /** Normalised Message-ID, or null when missing or invalid. */
  messageId: string | null;
  /** References (or the first In-Reply-To id), oldest first. */
  references: string[];
  /** Base subject extraction removed a "re:"/"fwd:" leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper. */
  replyOrForward: boolean;
}

/** The i;unicode-casemap collation key of `s`: compared as octets. */
export function collationKey(s: string): Buffer {
  return Buffer.from(unicodeCasemap(s), 'utf8');
}

/** RFC 5256: the addr-mailbox of the first address ('' when there is none). */
function firstMailbox(list: Address[] | null): string {
  return list?.[0]?.mailbox ?? '';
}

/** RFC 5957 section 3: the decoded display name, else mailbox@host, else mailbox, else ''. */
export function displayValue(list: Address[] | null): string {
  const a = list?.[0];
  if (!a) return '';
  if (a.name !== null) {
    const name = decodeEncodedWords(a.name);
    if (name !== '') return name;
  }
  if (a.mailbox !== null && a.host !== null) return `${a.mailbox}@${a.host}`;
  return a.mailbox ?? '';
}

/**
 * The msg-ids in a header value, normalised so that quoting does not matter
 * (RFC 5256: <"a b"@x> is <a b@x>... and <"01KF"@x> is <01KF@x>).
 */
export function messageIds(value: string | null | undefined): string[] {
  const ids: string[] = [];
  if (!value) return ids;
  for (const m of value.matchAll(/<([^<>]*)>/g)) {
    const id = normaliseId(m[1]!);
    if (id !== null) ids.push(id);
  }
  return ids;
}

function normaliseId(raw: string): string | null {
  const text = raw.replace(/[\t\r\n ]+/g, '');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return null;
  let left = text.slice(0, at);
  if (left.length >= 2 && left.startsWith('"') && left.endsWith('"')) left = left.slice(1, -1).replace(/\\(.)/g, '$1');
  return left === '' ? null : `${left}@${text.slice(at + 1)}`;
}

const BLOB = /^\[[^[\]]*\][ ]*/;
const REFWD = /^(?:re|fwd?)[ ]*(?:\[[^[\]]*\][ ]*)?:/i;

/** RFC 5256 3 (REFERENCES): does base subject extraction remove a reply/forward marker? */
export function isReplyOrForward(subject: string | null | undefined): boolean {
  const s = decodeEncodedWords(subject ?? '').replace(/[\t\r\n]/g, ' ').trim();
  if (/\(fwd\)$/i.test(s)) return true;
  // A leader may follow any number of "[blob]"s; "[fwd: ...]" may itself look like a blob.
  for (let rest = s; ; ) {
    if (REFWD.test(rest) || /^\[fwd:/i.test(rest)) return true;
    const blob = BLOB.exec(rest);
    if (!blob) return false;
    rest = rest.slice(blob[0].length);
  }
}

function headerValue(index: MessageIndex, name: string): string | null {
  return index.headers.find((h) => h.name === name)?.value ?? null;
}

/** The references of RFC 5256 3: References ids, else the first In-Reply-To id. */
function referencesOf(index: MessageIndex): string[] {
  const refs = messageIds(headerValue(index, 'references'));
  if (refs.length > 0) return refs;
  return messageIds(headerValue(index, 'in-reply-to')).slice(0, 1);
}

export function toSortable(
  ids: { id: number; seq: number },
  meta: { size: number; internalDate: Date },
  index: MessageIndex | null,
): SortableMessage {
  const arrival = meta.internalDate.getTime();
  const env = index?.envelope;
  const subject = env?.subject ?? null;
  return {
    id: ids.id,
    seq: ids.seq,
    size: meta.size,
    arrival,
    sent: index?.sentDate ?? arrival,
    subject: collationKey(baseSubject(subject)),
    from: collationKey(firstMailbox(env?.from ?? null)),
    to: collationKey(firstMailbox(env?.to ?? null)),
    cc: collationKey(firstMailbox(env?.cc ?? null)),
    displayFrom: collationKey(displayValue(env?.from ?? null)),
    displayTo: collationKey(displayValue(env?.to ?? null)),
    messageId: index ? (messageIds(headerValue(index, 'message-id'))[0] ?? null) : null,
    references: index ? referencesOf(index) : [],
    replyOrForward: isReplyOrForward(subject),
  };
}

function compareBy(a: SortableMessage, b: SortableMessage, key: SortCriterion['key']): number {
  switch (key) {
    case 'ARRIVAL':
      return a.arrival - b.arrival;
    case 'DATE':
      return a.sent - b.sent;
    case 'SIZE':
      return a.size - b.size;
    case 'SUBJECT':
      return Buffer.compare(a.subject, b.subject);
    case 'FROM':
      return Buffer.compare(a.from, b.from);
    case 'TO':
      return Buffer.compare(a.to, b.to);
    case 'CC':
      return Buffer.compare(a.cc, b.cc);
    case 'DISPLAYFROM':
      return Buffer.compare(a.displayFrom, b.displayFrom);
    case 'DISPLAYTO':
      return Buffer.compare(a.displayTo, b.displayTo);
  }
}

/** Sorts by the criteria in priority order; REVERSE flips one criterion; ties go by sequence number (never reversed). */
export function sortMessages(messages: readonly SortableMessage[], criteria: readonly SortCriterion[]): SortableMessage[] {
  return [...messages].sort((a, b) => {
    for (const c of criteria) {
      const d = compareBy(a, b, c.key);
      if (d !== 0) return c.reverse ? -d : d;
    }
    return a.seq - b.seq;
  });
}

/** Sent date, then sequence number (RFC 5256 2.2 tie-breaker). */
export function bySentDate(a: SortableMessage, b: SortableMessage): number {
  return a.sent - b.sent || a.seq - b.seq;
}

/**
 * ESORT's ALL (RFC 5267 3.2): the numbers in sort order; only ascending runs
 * become ranges (10:12), a descending run stays a list (12,11,10).
 */
export function orderedSequenceSet(numbers: readonly number[]): SequenceSet {
  const ranges: SeqRange[] = [];
  for (const n of numbers) {
    const last = ranges[ranges.length - 1];
    if (last && typeof last.end === 'number' && n === last.end + 1) last.end = n;
    else ranges.push({ start: n, end: n });
  }
  return { kind: 'set', ranges };
}
