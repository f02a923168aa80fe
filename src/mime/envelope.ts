// ENVELOPE (RFC 9051 7.5.2) from a parsed header: first occurrence of each
// field, values unfolded but not RFC 2047-decoded. Absent string fields are
// NIL, present-but-empty ones the empty string; absent or empty address
// fields are NIL; Sender and Reply-To default to From when absent or empty.

import { parseAddressList } from './address.js';
import { firstValue, type ParsedField } from './header.js';
import type { Address, Envelope } from './types.js';

export function emptyEnvelope(): Envelope {
  return {
    date: null,
    subject: null,
    from: null,
    sender: null,
    replyTo: null,
    to: null,
    cc: null,
    bcc: null,
    inReplyTo: null,
    messageId: null,
  };
}

function text(fields: ParsedField[], name: string): string | null {
  return firstValue(fields, name);
}

function addresses(fields: ParsedField[], name: string): Address[] | null {
  const v = firstValue(fields, name);
  if (!v) return null;
  const list = parseAddressList(v);
  return list.length ? list : null;
}

export function buildEnvelope(fields: ParsedField[]): Envelope {
  const from = addresses(fields, 'from');
  return {
    date: text(fields, 'date'),
    subject: text(fields, 'subject'),
    from,
    sender: addresses(fields, 'sender') ?? from,
    replyTo: addresses(fields, 'reply-to') ?? from,
    to: addresses(fields, 'to'),
    cc: addresses(fields, 'cc'),
    bcc: addresses(fields, 'bcc'),
    inReplyTo: text(fields, 'in-reply-to'),
    messageId: text(fields, 'message-id'),
  };
}
