// Domain types of the mail store. Nothing here knows IMAP syntax: flags are
// plain strings ("\\Seen", "$Forwarded"), mailbox names are UTF-8 with "/" as
// the hierarchy delimiter, sets of messages are UID lists or ranges.

import type { MessageIndex } from '../mime/types.js';
import type { PendingBody } from './ports.js';

export type AccountId = number;
export type MailboxId = number;
/** Lower-case hex SHA-256 of the message bytes: the content address of a blob. */
export type BlobId = string;

/** The hierarchy delimiter of every mailbox name in the store. */
export const HIERARCHY_DELIMITER = '/';

export type SpecialUse = '\\All' | '\\Archive' | '\\Drafts' | '\\Flagged' | '\\Junk' | '\\Sent' | '\\Trash';

export interface Account {
  id: AccountId;
  name: string;
  /** PHC-style password hash string (see src/auth/password.ts). */
  passwordHash: string;
  disabled: boolean;
  createdAt: Date;
  /** Name of the repository holding the account's mailboxes (DEFAULT_REPOSITORY in embedded mode). */
  repository: string;
  /**
   * Set while `petrel user move` copies the last changes: until then logins
   * and deliveries get temporary failures (see src/mail/account-freeze.ts).
   */
  frozenUntil?: Date | null;
}

export interface MailboxInfo {
  id: MailboxId;
  accountId: AccountId;
  /** Full name, "/"-delimited, "INBOX" always spelled in upper case. */
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  specialUse: SpecialUse | null;
  /** false for a \Noselect placeholder (a parent kept because it has children). */
  selectable: boolean;
}

export interface MailboxCounts {
  messages: number;
  unseen: number;
  deleted: number;
  /** Sum of message sizes in octets (STATUS SIZE). */
  size: number;
  /** Sum of the sizes of messages flagged \\Deleted, in octets (RFC 9208 STATUS DELETED-STORAGE). */
  deletedSize?: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

/** Per-message metadata held in the metadata database. Never requires reading the blob. */
export interface MessageMeta {
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: Date;
  /** When the message was saved into this mailbox (SAVEDATE). */
  saveDate: Date;
  size: number;
  blobId: BlobId;
  /** Set when the message was expunged (its tombstone modseq); such rows are only returned by fetchMessages. */
  expungedModseq: number | null;
}

/** Flag-only change entry, as returned by changesSince. */
export interface FlagState {
  uid: number;
  modseq: number;
  flags: string[];
}

export interface Changes {
  /** The mailbox's HIGHESTMODSEQ at the time of reading. */
  highestModseq: number;
  uidNext: number;
  /** Live messages whose modseq is greater than `since` (new messages and flag changes), ascending by uid. */
  changed: FlagState[];
  /** UIDs expunged with a modseq greater than `since`, ascending. */
  expunged: number[];
}

/** A contiguous or listed set of UIDs. Ranges are inclusive; `end` may be Infinity. */
export type UidSet = ReadonlyArray<{ start: number; end: number }>;

export type FlagOperation = 'add' | 'remove' | 'replace';

export interface StoreFlagsResult {
  /** Messages whose flags actually changed, with their new flags and modseq. */
  changed: FlagState[];
  /** UIDs refused because their modseq was above unchangedSince (CONDSTORE MODIFIED). */
  modified: number[];
  highestModseq: number;
}

export interface AppendItem {
  blobId: BlobId;
  index: MessageIndex;
  flags: string[];
  internalDate: Date;
  /** The body, committed but not stored yet (BlobWriter.commitPending): MailStore.appendMessages stores it. */
  pendingBody?: PendingBody;
}

export interface AppendResult {
  uidValidity: number;
  uids: number[];
  highestModseq: number;
}

export interface CopyResult {
  uidValidity: number;
  /** Source UIDs in ascending order and the UIDs they got in the target, pairwise. */
  sourceUids: number[];
  targetUids: number[];
  /** Target mailbox's highest modseq after the copy. */
  highestModseq: number;
}

export interface ExpungeResult {
  uids: number[];
  highestModseq: number;
}

/**
 * Domain search query. Sequence numbers have already been turned into UIDs by
 * the session; strings are already decoded to UTF-8; matching is
 * case-insensitive substring matching as IMAP requires.
 */
export type SearchQuery =
  | { kind: 'all' }
  | { kind: 'uid'; set: UidSet }
  | { kind: 'flag'; flag: string; present: boolean }
  | { kind: 'header'; field: string; value: string }
  | { kind: 'body'; value: string }
  | { kind: 'text'; value: string }
  /**
   * `day` is "YYYY-MM-DD". `internal` compares the INTERNALDATE's day in the
   * server's zone, `sent` the Date: header's day in its own zone (RFC 9051 6.4.4).
   */
  | { kind: 'date'; field: 'internal' | 'sent' | 'save'; op: 'before' | 'on' | 'since'; day: string }
  | { kind: 'size'; op: 'larger' | 'smaller'; octets: number }
  | { kind: 'modseq'; op: 'ge'; modseq: number }
  /** Age in seconds relative to now (WITHIN OLDER/YOUNGER). */
  | { kind: 'age'; op: 'older' | 'younger'; seconds: number }
  /** The message's content is this blob (EMAILID, RFC 8474: src/imap/object-id.ts). */
  | { kind: 'blob'; blobId: BlobId }
  | { kind: 'not'; query: SearchQuery }
  | { kind: 'or'; left: SearchQuery; right: SearchQuery }
  | { kind: 'and'; queries: SearchQuery[] };

/** Change events carry no state: "look again at this mailbox". */
export type MailEvent =
  | { kind: 'mailbox-changed'; repository: string; accountId: AccountId; mailboxId: MailboxId; modseq: number }
  | { kind: 'mailboxes-changed'; repository: string; accountId: AccountId }
  | { kind: 'account-changed'; accountName: string }
  /**
   * An ACL entry of a mailbox of `accountId` (the owner) changed for
   * `identifier` (a user name, "anyone" or "authenticated"; without the "-"
   * of a negative right): that user's set of other users' mailboxes may have
   * changed, whatever owners it saw before (NOTIFY, RFC 5465 5.4).
   */
  | { kind: 'rights-changed'; repository: string; accountId: AccountId; identifier: string };

/**
 * Per-account quota limits (RFC 9208). `storage` is in units of 1024 octets
 * (the RFC's STORAGE resource), `messages` a message count; null = unlimited.
 */
export interface QuotaLimits {
  storage: number | null;
  messages: number | null;
}

/** What an account uses now: live messages over all its mailboxes. */
export interface QuotaUsage {
  /** Sum of the live messages' sizes, in octets. */
  storageBytes: number;
  messages: number;
}
