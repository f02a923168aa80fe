// Typed IMAP responses (RFC 9051 section 7). The serializer (serializer.ts)
// turns them into bytes; large body data is not held in memory but given as a
// StreamedLiteral that the connection pipes to the socket with backpressure.

import type { Envelope, MimePart } from '../../mime/types.js';
import type { SequenceSet, StatusItem } from './ast.js';

export type ResponseCode =
  | { kind: 'ALERT' }
  | { kind: 'ALREADYEXISTS' }
  | { kind: 'APPENDUID'; uidValidity: number; uids: SequenceSet }
  | { kind: 'AUTHENTICATIONFAILED' }
  | { kind: 'AUTHORIZATIONFAILED' }
  | { kind: 'BADCHARSET'; charsets: string[] }
  /** RFC 4469 4.1: the first URL of a CATENATE that could not be used, as url-resp-text. */
  | { kind: 'BADURL'; url: string }
  | { kind: 'CANNOT' }
  | { kind: 'CAPABILITY'; capabilities: string[] }
  | { kind: 'CLIENTBUG' }
  | { kind: 'CLOSED' }
  | { kind: 'CONTACTADMIN' }
  | { kind: 'COPYUID'; uidValidity: number; source: SequenceSet; target: SequenceSet }
  | { kind: 'CORRUPTION' }
  | { kind: 'EXPIRED' }
  | { kind: 'EXPUNGEISSUED' }
  | { kind: 'HASCHILDREN' }
  | { kind: 'HIGHESTMODSEQ'; modseq: number }
  | { kind: 'INUSE' }
  | { kind: 'LIMIT' }
  | { kind: 'MODIFIED'; set: SequenceSet }
  | { kind: 'NOMODSEQ' }
  | { kind: 'NONEXISTENT' }
  | { kind: 'NOPERM' }
  | { kind: 'OVERQUOTA' }
  | { kind: 'PARSE' }
  | { kind: 'PERMANENTFLAGS'; flags: string[] }
  | { kind: 'PRIVACYREQUIRED' }
  | { kind: 'READ-ONLY' }
  | { kind: 'READ-WRITE' }
  | { kind: 'SERVERBUG' }
  | { kind: 'TOOBIG' }
  | { kind: 'TRYCREATE' }
  | { kind: 'UIDNEXT'; uid: number }
  | { kind: 'UIDNOTSTICKY' }
  | { kind: 'UIDVALIDITY'; uidValidity: number }
  | { kind: 'UNAVAILABLE' }
  | { kind: 'UNKNOWN-CTE' }
  /** RFC 3501 7.1: first unseen message (IMAP4rev1 SELECT/EXAMINE only). */
  | { kind: 'UNSEEN'; seq: number }
  /** RFC 6154 6: CREATE with a special-use attribute the server cannot honour. */
  | { kind: 'USEATTR' }
  /** RFC 4978: compression is already active. */
  | { kind: 'COMPRESSIONACTIVE' }
  | { kind: 'MAILBOXID'; id: string }
  /** RFC 5464 4.2.1 / 4.3: LONGENTRIES n (GETMETADATA OK); MAXSIZE n, TOOMANY, NOPRIVATE (SETMETADATA NO). */
  | { kind: 'METADATA'; detail: { kind: 'LONGENTRIES' | 'MAXSIZE'; size: number } | { kind: 'TOOMANY' | 'NOPRIVATE' } }
  /** RFC 9586: a message number was used after ENABLE UIDONLY. */
  | { kind: 'UIDREQUIRED' }
  /** RFC 5267 4.3.1: no updates for the searching command with this tag. */
  | { kind: 'NOUPDATE'; tag: string }
  /** RFC 5465 3.1: the events the server supports, when NOTIFY asked for others. */
  | { kind: 'BADEVENT'; events: string[] };

export type Status = 'OK' | 'NO' | 'BAD';

/** Body data too large to hold in memory: the connection streams it. */
export interface StreamedLiteral {
  readonly kind: 'stream';
  readonly size: number;
  /** Serialise as literal8 (~{n}) because the data may contain NUL (BINARY). */
  readonly binary: boolean;
  open(): NodeJS.ReadableStream & AsyncIterable<Buffer>;
  /**
   * Optional, preferred over open(): sends the bytes through `sink` in
   * reused buffers; a chunk may be overwritten once sink's promise for it
   * resolved (the socket has taken its bytes).
   */
  pipe?(sink: (chunk: Buffer) => Promise<void>): Promise<void>;
}

/** nstring content: null -> NIL; Buffer/string -> quoted or literal as the serializer sees fit. */
export type NString = string | Buffer | null;

export type FetchItem =
  | { kind: 'UID'; uid: number }
  | { kind: 'FLAGS'; flags: string[] }
  /** offsetMinutes: zone the date is shown in, east of UTC (default 0, "+0000"); additive field. */
  | { kind: 'INTERNALDATE'; date: Date; offsetMinutes?: number }
  | { kind: 'RFC822.SIZE'; size: number }
  | { kind: 'ENVELOPE'; envelope: Envelope }
  | { kind: 'BODYSTRUCTURE'; body: MimePart }
  | { kind: 'BODY'; body: MimePart }
  | { kind: 'MODSEQ'; modseq: number }
  | { kind: 'SAVEDATE'; date: Date | null; offsetMinutes?: number }
  | { kind: 'EMAILID'; id: string }
  | { kind: 'THREADID'; id: string | null }
  /** fuzzy: answered in the draft form `<name> (FUZZY text)` (PREVIEW=FUZZY, SNIPPET=FUZZY). */
  | { kind: 'PREVIEW'; text: string | null; fuzzy?: 'PREVIEW' | 'SNIPPET' }
  /**
   * BODY[section]<origin>, BINARY[part]<origin>, RFC822, RFC822.HEADER, RFC822.TEXT.
   * `name` is the item name exactly as it is echoed, e.g. "BODY[1.2.MIME]",
   * "BODY[HEADER.FIELDS (FROM TO)]<0>", "RFC822.HEADER", "BINARY[1]".
   */
  | { kind: 'data'; name: string; data: Buffer | StreamedLiteral | null; binary?: boolean }
  | { kind: 'BINARY.SIZE'; part: number[]; size: number };

export interface ListResponse {
  kind: 'LIST' | 'LSUB';
  attributes: string[];
  delimiter: string | null;
  /** Already encoded for the wire (modified UTF-7 for IMAP4rev1 clients). */
  mailbox: string;
  /** Extended data, e.g. CHILDINFO ("SUBSCRIBED") or OLDNAME. */
  childInfo?: string[];
  oldName?: string;
}

/** The items a FetchRun can carry. */
export type FetchRunItem = 'UID' | 'FLAGS' | 'MODSEQ';

/**
 * The FETCH responses of many messages at consecutive MSNs whose items are
 * only UID, FLAGS and MODSEQ (FETCH 1:* (UID FLAGS) of a big mailbox), as
 * columns instead of a response object per message: message i has MSN
 * firstSeq + i, UID uids[i], flags flagSets[flagSet[i]] and MODSEQ
 * modseqs[i]. Written byte for byte as the FETCH response of each message in
 * order, with `items` in that order; as UIDFETCH responses (RFC 9586 3.3)
 * when `uidFetch`.
 */
export interface FetchRun {
  kind: 'FETCH-RUN';
  items: readonly FetchRunItem[];
  uidFetch: boolean;
  firstSeq: number;
  uids: Uint32Array;
  flagSet: Uint32Array;
  /** May hold sets no message of the run uses (several runs share one list). */
  flagSets: ReadonlyArray<readonly string[]>;
  modseqs: Float64Array;
}

export type StatusValue = Partial<Record<StatusItem, number | string>>;

/**
 * One node of a THREAD response (RFC 5256 section 4): a message number (MSN
 * or UID), or null for a dummy parent that holds siblings together.
 */
export interface ThreadNode {
  id: number | null;
  children: ThreadNode[];
}

export type Response =
  | { kind: 'tagged'; tag: string; status: Status; code?: ResponseCode; text: string }
  | { kind: 'status'; status: Status | 'PREAUTH' | 'BYE'; code?: ResponseCode; text: string }
  /** "+ text" or "+ base64" (empty string gives "+ "). */
  | { kind: 'continuation'; text: string }
  | { kind: 'CAPABILITY'; capabilities: string[] }
  | { kind: 'ENABLED'; capabilities: string[] }
  | { kind: 'EXISTS'; count: number }
  | { kind: 'RECENT'; count: number }
  | { kind: 'EXPUNGE'; seq: number }
  | { kind: 'VANISHED'; earlier: boolean; uids: SequenceSet }
  | { kind: 'FLAGS'; flags: string[] }
  | ListResponse
  | { kind: 'STATUS'; mailbox: string; values: StatusValue }
  /** Old-style "* SEARCH 1 2 3" (with optional "(MODSEQ n)"). */
  | { kind: 'SEARCH'; numbers: number[]; modseq?: number }
  | {
      kind: 'ESEARCH';
      tag: string | null;
      uid: boolean;
      min?: number;
      max?: number;
      count?: number;
      all?: SequenceSet;
      modseq?: number;
      partial?: { range: { start: number; end: number }; set: SequenceSet | null };
      /** RFC 5267 4.3.3/4.3.4: (context position, set) pairs, in the order given. */
      addTo?: Array<{ position: number; set: SequenceSet }>;
      removeFrom?: Array<{ position: number; set: SequenceSet }>;
    }
  /** "* SORT 3 1 2" (RFC 5256), numbers in sort order; "(MODSEQ n)" after a MODSEQ search (RFC 7162 3.1.9). */
  | { kind: 'SORT'; numbers: number[]; modseq?: number }
  /** "* THREAD (1)(2 3 (4)(5))" (RFC 5256); each element is a top-level thread. */
  | { kind: 'THREAD'; threads: ThreadNode[] }
  | { kind: 'FETCH'; seq: number; items: FetchItem[] }
  | FetchRun
  /** RFC 9586 3.3: FETCH data keyed by UID once UIDONLY is enabled. */
  | { kind: 'UIDFETCH'; uid: number; items: FetchItem[] }
  | {
      kind: 'NAMESPACE';
      personal: Array<{ prefix: string; delimiter: string | null }> | null;
      otherUsers: Array<{ prefix: string; delimiter: string | null }> | null;
      shared: Array<{ prefix: string; delimiter: string | null }> | null;
    }
  | { kind: 'ID'; params: Array<[string, string | null]> | null }
  /** RFC 9208 4.2.1: "* QUOTA root (STORAGE 10 512 ...)"; only limited resources are listed. */
  | { kind: 'QUOTA'; root: string; resources: Array<{ name: string; usage: number; limit: number }> }
  /** RFC 9208 4.2.2: "* QUOTAROOT mailbox root..." (mailbox already encoded for the wire). */
  | { kind: 'QUOTAROOT'; mailbox: string; roots: string[] }
  /** RFC 4314 3.6-3.8 (mailbox already encoded for the wire); rights strings as they are to be shown. */
  | { kind: 'ACL'; mailbox: string; entries: Array<{ identifier: string; rights: string }> }
  | { kind: 'LISTRIGHTS'; mailbox: string; identifier: string; required: string; optional: string[] }
  | { kind: 'MYRIGHTS'; mailbox: string; rights: string }
  /** RFC 5464 4.4.1: "* METADATA mailbox (entry value ...)" (mailbox already encoded for the wire; "" = the server). */
  | { kind: 'METADATA'; mailbox: string; entries: Array<{ name: string; value: Buffer | null }>; namesOnly?: boolean };

/** Options that change how responses are written, per connection. */
export interface SerializeOptions {
  /** IMAP4rev2 or UTF8=ACCEPT enabled: UTF-8 may appear in quoted strings. */
  utf8: boolean;
  /** IMAP4rev2 enabled: rev2 response forms (e.g. no RECENT in SELECT, LIST CHILDINFO). */
  rev2: boolean;
}

/**
 * Serialised output: plain bytes, and streamed literals in between (the
 * serializer has already written the "{size}\r\n" before each stream).
 */
export type WirePart = Buffer | StreamedLiteral;
