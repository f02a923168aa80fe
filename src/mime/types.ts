// What the indexer extracts from a message, once, at ingest. Persisted as JSON
// by the MailStore (so: plain data, no Buffers, no Dates) and used to answer
// FETCH ENVELOPE/BODYSTRUCTURE/BODY[section] and SEARCH without parsing again.
//
// Strings that come from header bytes are decoded as UTF-8 when the bytes are
// valid UTF-8, otherwise byte-for-byte as Latin-1. ENVELOPE and BODYSTRUCTURE
// strings are NOT RFC 2047-decoded (IMAP returns them as they are in the message).

export interface Address {
  /** Display name (raw, may contain encoded-words), or null. */
  name: string | null;
  /** RFC 9051 "adl": source route, practically always null. */
  adl: string | null;
  /** Local part; for a group start marker, the group name; null for a group end marker. */
  mailbox: string | null;
  /** Domain; null for group start and end markers. */
  host: string | null;
}

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/** Parameter list in wire order: [name, value] with RFC 2231 continuations left as they are. */
export type ParamList = Array<[string, string]>;

export interface Disposition {
  type: string;
  params: ParamList;
}

/**
 * One MIME entity. Offsets are absolute octet offsets into the message blob:
 * [headerStart, bodyStart) is the entity's header including the blank line
 * that ends it, [bodyStart, bodyEnd) its body.
 */
export interface MimePart {
  headerStart: number;
  bodyStart: number;
  bodyEnd: number;
  /** Lower-cased type and subtype ("text", "plain"); defaults applied per RFC 2045/2046. */
  type: string;
  subtype: string;
  params: ParamList;
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding as written, or "7bit" when absent. */
  encoding: string;
  /** Body size in octets (bodyEnd - bodyStart). */
  size: number;
  /** Number of lines of the body (for text/* and message/rfc822). */
  lines: number;
  md5: string | null;
  disposition: Disposition | null;
  language: string[] | null;
  location: string | null;
  /** multipart/*: the children, in order (at least one is synthesized if none parse). */
  children?: MimePart[];
  /** message/rfc822 (and message/global): the encapsulated message, whose headerStart is this part's bodyStart. */
  message?: { envelope: Envelope; root: MimePart };
}

export interface HeaderField {
  /** Lower-cased field name. */
  name: string;
  /** Unfolded value with RFC 2047 encoded-words and RFC 2231 parameters decoded to UTF-8. */
  value: string;
}

export interface MessageIndex {
  /** Index format version, bumped when the indexer changes what it stores. */
  version: number;
  size: number;
  root: MimePart;
  envelope: Envelope;
  /** Top-level header fields, decoded, for SEARCH HEADER/FROM/SUBJECT/... and SORT. Bounded in total size. */
  headers: HeaderField[];
  /** Decoded text of text/* parts (transfer encoding and charset undone), for SEARCH BODY/TEXT. Bounded. */
  bodyText: string;
  /** First ~200 characters of the text, whitespace collapsed (PREVIEW, RFC 8970). */
  preview: string;
  /** Date: header as ms since epoch (UTC), or null when absent or unparsable. */
  sentDate: number | null;
  /** The Date: header's zone offset in minutes east of UTC (for SENTON/SENTBEFORE day comparison), or null. */
  sentDateOffset: number | null;
  /** Number of parts the indexer stopped descending at (nesting or count limit), 0 normally. */
  truncatedParts: number;
}
