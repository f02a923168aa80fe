// Typed IMAP command AST (RFC 9051, with RFC 3501 forms served too). The
// parser produces these from a framed command; handlers consume them. Pure
// data: no I/O, no store types.
//
// Conventions:
// - Mailbox names are given as received (the UTF-8 decoding of the astring's
//   bytes). Converting from modified UTF-7 for IMAP4rev1 clients is the
//   session's job (see mutf7.ts), because it depends on ENABLE state.
// - "INBOX" is not case-folded here either; the session does that.
// - Flags are given as received, except that system flags (\Seen, \Answered,
//   \Flagged, \Deleted, \Draft, \Recent) are normalised to that spelling.
// - Search strings stay Buffers: their charset is named by CHARSET.
// - Large literals (APPEND message data) arrive as a SpooledLiteral, which the
//   connection wrote to disk while it streamed in; small ones as Buffer.

import type { NotifyCommand } from './notify-ast.js';

export type Tag = string;

/** '*' is the largest number in use (sequence number or UID). */
export type SeqNumber = number | '*';
export interface SeqRange {
  start: SeqNumber;
  end: SeqNumber;
}
/** A sequence set, or "$" (the saved search result, RFC 5182 / RFC 9051 SEARCHRES). */
export type SequenceSet = { kind: 'set'; ranges: SeqRange[] } | { kind: 'saved' };

/**
 * Literal data that the connection streamed to a temporary file instead of
 * memory. `open()` streams it back; `dispose()` removes it.
 */
export interface SpooledLiteral {
  readonly kind: 'spooled';
  readonly size: number;
  /** literal8 (~{n}): may contain NUL. */
  readonly binary: boolean;
  open(): NodeJS.ReadableStream & AsyncIterable<Buffer>;
  dispose(): Promise<void>;
}
export type LiteralData = Buffer | SpooledLiteral;

// ---------- FETCH ----------

export type SectionText = 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
export interface Section {
  /** Part path, e.g. [1, 2] for "1.2"; empty for the whole message. */
  part: number[];
  text: SectionText | null;
  /** Field names for HEADER.FIELDS(.NOT), as sent (case kept, for echoing). */
  fields: string[];
}
export interface Partial {
  start: number;
  length: number;
}

export type FetchAttribute =
  | { kind: 'ENVELOPE' }
  | { kind: 'FLAGS' }
  | { kind: 'INTERNALDATE' }
  | { kind: 'RFC822.SIZE' }
  | { kind: 'UID' }
  | { kind: 'BODYSTRUCTURE' }
  /** Plain "BODY": the non-extensible body structure. */
  | { kind: 'BODY' }
  | { kind: 'RFC822' }
  | { kind: 'RFC822.HEADER' }
  | { kind: 'RFC822.TEXT' }
  | { kind: 'MODSEQ' }
  | { kind: 'SAVEDATE' }
  | { kind: 'EMAILID' }
  | { kind: 'THREADID' }
  /** fuzzy: the draft forms PREVIEW (FUZZY) and SNIPPET (PREVIEW=FUZZY, SNIPPET=FUZZY), named as answered. */
  | { kind: 'PREVIEW'; lazy: boolean; fuzzy?: 'PREVIEW' | 'SNIPPET' }
  | { kind: 'BODY[]'; peek: boolean; section: Section; partial: Partial | null }
  | { kind: 'BINARY[]'; peek: boolean; part: number[]; partial: Partial | null }
  | { kind: 'BINARY.SIZE'; part: number[] };

export interface FetchModifiers {
  changedSince?: number;
  vanished?: boolean;
  /** RFC 9394 3.3 (UID FETCH only): negative = counted from the highest UID. */
  partial?: { start: number; end: number };
}

// ---------- SEARCH ----------

export type SearchKey =
  | { kind: 'ALL' }
  /** ANSWERED DELETED DRAFT FLAGGED SEEN RECENT and their UN- forms, KEYWORD/UNKEYWORD. */
  | { kind: 'flag'; flag: string; present: boolean }
  | { kind: 'NEW' }
  | { kind: 'OLD' }
  /** BCC CC FROM SUBJECT TO, and HEADER field-name string (field given in its case as sent). */
  | { kind: 'header'; field: string; value: Buffer }
  | { kind: 'BODY'; value: Buffer }
  | { kind: 'TEXT'; value: Buffer }
  /** BEFORE ON SINCE (internal), SENTBEFORE SENTON SENTSINCE (sent), SAVEDBEFORE... (save). day = "YYYY-MM-DD". */
  | { kind: 'date'; field: 'internal' | 'sent' | 'save'; op: 'before' | 'on' | 'since'; day: string }
  | { kind: 'SAVEDATESUPPORTED' }
  | { kind: 'size'; op: 'larger' | 'smaller'; octets: number }
  | { kind: 'seq'; set: SequenceSet }
  | { kind: 'UID'; set: SequenceSet }
  | { kind: 'MODSEQ'; modseq: number; entry: { name: string; type: 'priv' | 'shared' | 'all' } | null }
  | { kind: 'age'; op: 'older' | 'younger'; seconds: number }
  | { kind: 'EMAILID'; id: string }
  | { kind: 'THREADID'; id: string }
  | { kind: 'NOT'; key: SearchKey }
  | { kind: 'OR'; left: SearchKey; right: SearchKey }
  /** A parenthesised list, or the implicit AND of the top level. */
  | { kind: 'AND'; keys: SearchKey[] };

export type SearchReturnOption =
  | { kind: 'MIN' }
  | { kind: 'MAX' }
  | { kind: 'ALL' }
  | { kind: 'COUNT' }
  | { kind: 'SAVE' }
  | { kind: 'PARTIAL'; range: { start: number; end: number } }
  /** RFC 5267 4.2 (a hint) and 4.3 (notifications of changes). */
  | { kind: 'CONTEXT' }
  /** RFC 5465 7: UPDATE may name fetch-atts to send for messages new to the result. */
  | { kind: 'UPDATE'; fetch?: FetchAttribute[] };

// ---------- SORT / THREAD (RFC 5256, RFC 5957, RFC 5267) ----------

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}
export type ThreadAlgorithm = 'ORDEREDSUBJECT' | 'REFERENCES' | 'REFS';

// ---------- LIST / STATUS ----------

export type ListSelectionOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';
export type StatusItem =
  | 'MESSAGES'
  | 'UIDNEXT'
  | 'UIDVALIDITY'
  | 'UNSEEN'
  | 'DELETED'
  | 'SIZE'
  | 'RECENT'
  | 'HIGHESTMODSEQ'
  | 'APPENDLIMIT'
  | 'MAILBOXID'
  /** RFC 9208 4.1.4: octets of the \\Deleted messages, in units of 1024 (required with QUOTA=RES-STORAGE). */
  | 'DELETED-STORAGE';
export type ListReturnOption =
  | { kind: 'SUBSCRIBED' }
  | { kind: 'CHILDREN' }
  | { kind: 'SPECIAL-USE' }
  | { kind: 'STATUS'; items: StatusItem[] };

// ---------- APPEND ----------

export interface AppendMessage {
  flags: string[];
  /** INTERNALDATE given by the client, or null. */
  date: Date | null;
  /** The message literal (empty when `catenate` is set). */
  data: LiteralData;
  /** literal8 (~{n}) was used: binary content allowed (RFC 3516). */
  binary: boolean;
  /** RFC 4469 CATENATE: the message is these parts, in order (set only for that form). */
  catenate?: CatenatePart[];
}

/** One cat-part (RFC 4469 5, RFC 6855 4): a literal, or an IMAP URL (as sent) of a message or part. */
export type CatenatePart = { kind: 'TEXT'; data: LiteralData; binary: boolean } | { kind: 'URL'; url: string };

// ---------- METADATA (RFC 5464) ----------

/** GETMETADATA DEPTH (absent = 0). */
export type MetadataDepthOption = 0 | 1 | 'infinity';
/** SETMETADATA entry and value; null (NIL) removes the entry. */
export interface MetadataEntryValue {
  entry: string;
  value: Buffer | null;
}

// ---------- STORE ----------

export type StoreOperation = 'add' | 'remove' | 'replace';

// ---------- the commands ----------

export type SelectParam = { kind: 'CONDSTORE' } | { kind: 'QRESYNC'; uidValidity: number; modseq: number; knownUids: SequenceSet | null; seqMatch: { seqs: SequenceSet; uids: SequenceSet } | null };

export type Command =
  // any state
  | { name: 'CAPABILITY' }
  | { name: 'NOOP' }
  | { name: 'LOGOUT' }
  | { name: 'ID'; params: Array<[string, string | null]> | null }
  // not authenticated
  | { name: 'STARTTLS' }
  | { name: 'AUTHENTICATE'; mechanism: string; initialResponse: string | null }
  | { name: 'LOGIN'; username: string; password: string }
  // authenticated
  | { name: 'ENABLE'; capabilities: string[] }
  | { name: 'SELECT'; mailbox: string; params: SelectParam[] }
  | { name: 'EXAMINE'; mailbox: string; params: SelectParam[] }
  | { name: 'CREATE'; mailbox: string; specialUse: string[] }
  | { name: 'DELETE'; mailbox: string }
  | { name: 'RENAME'; from: string; to: string }
  | { name: 'SUBSCRIBE'; mailbox: string }
  | { name: 'UNSUBSCRIBE'; mailbox: string }
  | {
      name: 'LIST';
      selection: ListSelectionOption[];
      reference: string;
      /** One or more patterns (LIST-EXTENDED allows a parenthesised list). */
      patterns: string[];
      returns: ListReturnOption[];
      /** true when the command used any LIST-EXTENDED syntax (changes some response rules). */
      extended: boolean;
    }
  | { name: 'LSUB'; reference: string; pattern: string }
  | { name: 'NAMESPACE' }
  | { name: 'STATUS'; mailbox: string; items: StatusItem[] }
  | { name: 'APPEND'; mailbox: string; messages: AppendMessage[] }
  /** RFC 8508 REPLACE / UID REPLACE: `id` is a sequence number or (uid) a UID. */
  | { name: 'REPLACE'; uid: boolean; id: SeqNumber; mailbox: string; message: AppendMessage }
  | { name: 'IDLE' }
  /** RFC 4978: the only mechanism defined is DEFLATE. */
  | { name: 'COMPRESS'; algorithm: 'DEFLATE' }
  /** RFC 9208 QUOTA: root is an astring (Petrel has one root per account, ""). */
  | { name: 'GETQUOTA'; root: string }
  | { name: 'GETQUOTAROOT'; mailbox: string }
  /** RFC 4314 ACL: identifier and rights as sent (astring); the handler checks them. */
  | { name: 'SETACL'; mailbox: string; identifier: string; rights: string }
  | { name: 'DELETEACL'; mailbox: string; identifier: string }
  | { name: 'GETACL'; mailbox: string }
  | { name: 'LISTRIGHTS'; mailbox: string; identifier: string }
  | { name: 'MYRIGHTS'; mailbox: string }
  /** resource names upper-cased; limits are number64. */
  | { name: 'SETQUOTA'; root: string; limits: Array<{ resource: string; limit: number }> }
  /** RFC 5464: mailbox "" = the server's annotations; entry names as sent (grammar checked), see MetadataEntryValue. */
  | { name: 'GETMETADATA'; mailbox: string; maxSize: number | null; depth: MetadataDepthOption; entries: string[] }
  | { name: 'SETMETADATA'; mailbox: string; entries: MetadataEntryValue[] }
  // selected
  | { name: 'CHECK' }
  | { name: 'CLOSE' }
  | { name: 'UNSELECT' }
  | { name: 'EXPUNGE' }
  | { name: 'UID EXPUNGE'; set: SequenceSet }
  | { name: 'SEARCH'; uid: boolean; charset: string | null; returns: SearchReturnOption[] | null; key: SearchKey }
  /** returns: ESORT's RETURN options (RFC 5267), null for a plain SORT. charset is mandatory here. */
  | { name: 'SORT'; uid: boolean; returns: SearchReturnOption[] | null; criteria: SortCriterion[]; charset: string; key: SearchKey }
  /** RFC 5267 4.3.5: tags of searching commands whose updates stop. */
  | { name: 'CANCELUPDATE'; tags: string[] }
  /** RFC 5465 NOTIFY (types in notify-ast.ts). */
  | NotifyCommand
  | { name: 'THREAD'; uid: boolean; algorithm: ThreadAlgorithm; charset: string; key: SearchKey }
  | { name: 'FETCH'; uid: boolean; set: SequenceSet; attributes: FetchAttribute[]; modifiers: FetchModifiers; macro: 'ALL' | 'FAST' | 'FULL' | null }
  | {
      name: 'STORE';
      uid: boolean;
      set: SequenceSet;
      operation: StoreOperation;
      silent: boolean;
      flags: string[];
      unchangedSince: number | null;
    }
  | { name: 'COPY'; uid: boolean; set: SequenceSet; mailbox: string }
  | { name: 'MOVE'; uid: boolean; set: SequenceSet; mailbox: string };

export type CommandName = Command['name'];

export interface TaggedCommand {
  tag: Tag;
  command: Command;
}
