// The ports the servers (IMAP, LMTP, CLI) use to reach storage. Every backend
// (store/sqlite, store/postgres, blob/fs, ...) implements these and passes the
// conformance suites in test/conformance/. All methods may throw MailError.

import type { Readable } from 'node:stream';
import type { MessageIndex } from '../mime/types.js';
import type { MetadataChange, MetadataDepth, MetadataEntry, MetadataLimits, MetadataTarget } from './metadata.js';
import type { AclEntry } from './acl.js';
import type {
  Account,
  AccountId,
  AppendItem,
  AppendResult,
  BlobId,
  Changes,
  CopyResult,
  ExpungeResult,
  FlagOperation,
  MailboxCounts,
  MailboxId,
  MailboxInfo,
  MailEvent,
  MessageMeta,
  QuotaLimits,
  QuotaUsage,
  SearchQuery,
  SpecialUse,
  StoreFlagsResult,
  UidSet,
} from './types.js';

/** A repository the directory knows besides the default one (cluster mode). */
export interface RepositoryEntry {
  name: string;
  /** postgres:// URL; may list several hosts (the primary is chosen at connect). */
  url: string;
  /** Streaming replicas serving reads (ARCHITECTURE.md, decision 8): one postgres:// URL each. */
  replicas?: string[];
}

/**
 * Accounts, credentials, quotas, each account's repository, and the registry
 * of repositories. In embedded mode it lives in the same SQLite file; in a
 * cluster, in the database of the default repository.
 */
export interface Directory {
  findAccount(name: string): Promise<Account | null>;
  getAccount(id: AccountId): Promise<Account | null>;
  /** In the default repository unless `repository` is given. ALREADY_EXISTS. */
  createAccount(name: string, passwordHash: string, options?: { repository?: string }): Promise<Account>;
  /**
   * Records an account the directory of record created (same id, name and
   * repository, no credentials) in this database, so that mailboxes of this
   * repository can belong to it. Does nothing if it is already there.
   */
  adoptAccount(account: Pick<Account, 'id' | 'name' | 'repository'>): Promise<void>;
  listRepositories(): Promise<RepositoryEntry[]>;
  /** ALREADY_EXISTS; INVALID_NAME for an empty name or the default repository's. */
  addRepository(entry: RepositoryEntry): Promise<void>;
  /** Replaces the repository's list of read replicas. NOT_FOUND; INVALID_NAME for a bad URL. */
  setRepositoryReplicas(name: string, replicas: string[]): Promise<void>;
  setPassword(name: string, passwordHash: string): Promise<void>; // NOT_FOUND
  setDisabled(name: string, disabled: boolean): Promise<void>; // NOT_FOUND
  /** `petrel user move`'s write freeze until `until` (null ends it). NOT_FOUND. */
  setFrozenUntil(name: string, until: Date | null): Promise<void>;
  /**
   * Points the account at `to` and ends its freeze, only if it is still in
   * `from` and frozen past now (a lapsed freeze may have let writes through):
   * false, and nothing changes, otherwise.
   */
  switchRepository(name: string, from: string, to: string): Promise<boolean>;
  /** Deletes the account and, through the MailStore, all its mailboxes. */
  deleteAccount(name: string): Promise<void>; // NOT_FOUND
  listAccounts(): Promise<Account[]>;
  /** RFC 9208 limits of the account (null = unlimited). NOT_FOUND. */
  getQuota(name: string): Promise<QuotaLimits>;
  /** Replaces both limits (null removes one). NOT_FOUND. */
  setQuota(name: string, limits: QuotaLimits): Promise<void>;
}

export interface CreateMailboxOptions {
  specialUse?: SpecialUse | null;
  /**
   * A mailbox of the same repository whose ACL the new one gets, in the
   * creating transaction (RFC 4314 4: a new mailbox inherits its parent's).
   */
  aclFrom?: MailboxId;
}

/**
 * Metadata of one repository. Messages are addressed by (mailbox, uid).
 *
 * Semantics every backend must keep (the conformance suite checks them):
 * - Every change to a mailbox (append, flag change, expunge) takes the next
 *   modseq of that mailbox in the same transaction; HIGHESTMODSEQ is the max.
 * - UIDs are allocated in the transaction that inserts the messages, strictly
 *   increasing, never reused; UIDVALIDITY never changes for a mailbox's life
 *   (RENAME keeps it; DELETE + CREATE of the same name gets a new one).
 * - Expunged messages leave a tombstone (uid, modseq) for changesSince, and
 *   their metadata stays readable by fetchMessages until pruned, so a session
 *   that has not yet been told of the expunge can still FETCH them.
 */
export interface MailStore {
  /** appendMessages stores its items' pending bodies (AppendItem.pendingBody); else Ingest.commit stores them first. */
  readonly storesPendingBodies?: boolean;
  /**
   * Optional: a view for one account's sessions whose metadata reads may be
   * served by read replicas that have replayed what the account wrote or was
   * told of (a store without replicas returns itself). Writes through the
   * view, and the account's change events, move that point.
   */
  forReader?(accountId: AccountId): MailStore;
  /** Optional, on such a view: the reader was told of a change (an event), which its next reads must show. */
  noteChange?(): void;

  // --- mailboxes ---
  listMailboxes(accountId: AccountId): Promise<MailboxInfo[]>;
  /** Case-sensitive name lookup, except that "inbox" in any case means INBOX. */
  getMailbox(accountId: AccountId, name: string): Promise<MailboxInfo | null>;
  getMailboxById(mailboxId: MailboxId): Promise<MailboxInfo | null>;
  /**
   * Creates the mailbox and any missing parents (as selectable mailboxes, as
   * RFC 9051 CREATE does). Re-creating a \Noselect placeholder makes it
   * selectable again. ALREADY_EXISTS if a selectable mailbox has the name.
   */
  createMailbox(accountId: AccountId, name: string, options?: CreateMailboxOptions): Promise<MailboxInfo>;
  /**
   * RFC 9051 DELETE: a mailbox with children becomes a \Noselect placeholder
   * (its messages are expunged); without children it is removed. INBOX: CANNOT.
   * A \Noselect mailbox with children: HAS_CHILDREN.
   */
  deleteMailbox(accountId: AccountId, name: string): Promise<void>;
  /**
   * RFC 9051 RENAME, children renamed too, UIDVALIDITY and UIDs kept.
   * Renaming INBOX moves all its messages to a new mailbox and leaves INBOX empty.
   */
  renameMailbox(accountId: AccountId, from: string, to: string): Promise<void>;
  setSpecialUse(mailboxId: MailboxId, specialUse: SpecialUse | null): Promise<void>;

  // --- subscriptions (names, which need not exist) ---
  listSubscriptions(accountId: AccountId): Promise<string[]>;
  setSubscribed(accountId: AccountId, name: string, subscribed: boolean): Promise<void>;

  // --- messages ---
  counts(mailboxId: MailboxId): Promise<MailboxCounts>;
  /**
   * Adds messages atomically (all or none, MULTIAPPEND), in the given order.
   * The blobs must already be durable in the repository's BlobStore, or,
   * for a store with storesPendingBodies, be an item's pendingBody (from
   * this repository's BlobStore), which the store stores in the append's
   * transaction or, if it cannot, first.
   */
  appendMessages(mailboxId: MailboxId, items: AppendItem[]): Promise<AppendResult>;
  /** UIDs of all live messages, ascending: the session's MSN -> UID map at SELECT. */
  listUids(mailboxId: MailboxId): Promise<number[]>;
  /**
   * UID, modseq and flags of every live message (with uid in `range` when
   * given), ascending by uid, read in one snapshot and in a compact form
   * (SELECT and FETCH 1:* FLAGS of a mailbox of a million messages), with
   * the mailbox's HIGHESTMODSEQ and UIDNEXT of that snapshot (all SELECT
   * needs besides the mailbox's name lookup).
   * NOT_FOUND, NOT_SELECTABLE as listUids.
   */
  listFlags(mailboxId: MailboxId, range?: { start: number; end: number }): Promise<MailboxFlagListing>;
  /**
   * Metadata of the given UIDs (live, and expunged but not yet pruned),
   * ascending by uid. Missing UIDs are simply absent.
   */
  fetchMessages(mailboxId: MailboxId, uids: UidSet): Promise<MessageMeta[]>;
  /** Parsed structure of a stored message, written at ingest. Never reads the blob. */
  getIndex(blobId: BlobId): Promise<MessageIndex>;
  /**
   * getIndex of several blobs in one read (FETCH of a range of ENVELOPEs):
   * the ones that have an index; a blob without one is left out (its
   * getIndex answers NOT_FOUND).
   */
  getIndexes(blobIds: readonly BlobId[]): Promise<Map<BlobId, MessageIndex>>;
  /**
   * Changes flags of live messages among `uids`. With unchangedSince, a message
   * whose modseq is greater is left alone and reported in `modified`.
   * Only messages whose flags actually change get a new modseq.
   */
  storeFlags(
    mailboxId: MailboxId,
    uids: UidSet,
    operation: FlagOperation,
    flags: string[],
    unchangedSince?: number,
  ): Promise<StoreFlagsResult>;
  /** Expunges live messages flagged \Deleted; restricted to `uids` when given (UID EXPUNGE). */
  expunge(mailboxId: MailboxId, uids?: UidSet): Promise<ExpungeResult>;
  /** Copies live messages among `uids` into the target, preserving flags and internal date. */
  copyMessages(source: MailboxId, uids: UidSet, target: MailboxId): Promise<CopyResult>;
  /** Copy then expunge from the source, in one transaction. */
  moveMessages(source: MailboxId, uids: UidSet, target: MailboxId): Promise<CopyResult & { expunged: ExpungeResult }>;
  /**
   * RFC 8508 REPLACE in one transaction: appends `item` to `target` and
   * expunges the live message `uid` of `source` (whatever its flags), so no
   * other session sees one without the other. Quota counts the net change
   * (RFC 8508 3.4): within one account the original's octets and message
   * leave as the new ones arrive. EXPUNGED, and nothing changes, when the
   * original is no longer live. The blob must already be durable.
   */
  replaceMessage(source: MailboxId, uid: number, target: MailboxId, item: AppendItem): Promise<{ appended: AppendResult; expunged: ExpungeResult }>;
  /**
   * Exact usage of the account (live messages of all its mailboxes). Appends,
   * copies and moves check it against the account's QuotaLimits inside their
   * own transaction (serialized per account) and fail whole with OVER_QUOTA.
   */
  quotaUsage(accountId: AccountId): Promise<QuotaUsage>;
  // --- access control (RFC 4314) ---
  /** The mailbox's ACL entries, ordered by identifier. */
  getAcl(mailboxId: MailboxId): Promise<AclEntry[]>;
  /** Sets the identifier's entry to `rights` (canonical), or removes it (null or ""). NOT_FOUND for a missing mailbox. */
  setAcl(mailboxId: MailboxId, identifier: string, rights: string | null): Promise<void>;
  /** Mailboxes having an entry for one of `identifiers`, each with its whole ACL: how other users' mailboxes are found. */
  mailboxesWithAcl(identifiers: string[]): Promise<Array<{ mailbox: MailboxInfo; acl: AclEntry[] }>>;

  /** The change log: everything that happened after modseq `since`. */
  changesSince(mailboxId: MailboxId, since: number): Promise<Changes>;
  /** UIDs of live messages matching the query, ascending. */
  search(mailboxId: MailboxId, query: SearchQuery): Promise<number[]>;

  // --- annotations (RFC 5464 METADATA; src/mail/metadata.ts) ---
  /**
   * The entries of a mailbox (target.mailboxId; null = the server) named in
   * `names` ("/private..." or "/shared...", any case), and with depth 1 or
   * infinity those below them. /private values are target.accountId's own.
   * Only existing entries, in name order, names in lower case. NOT_FOUND for
   * a missing mailbox; INVALID_NAME for a name under neither prefix.
   */
  getMetadata(target: MetadataTarget, names: string[], options?: { depth?: MetadataDepth }): Promise<MetadataEntry[]>;
  /**
   * Sets (value) or removes (null) entries, all or none: TOO_BIG (a value
   * over limits.maxValueSize), LIMIT (more entries than limits.maxEntries),
   * INVALID_NAME, NOT_FOUND (mailbox or account). A mailbox's entries go with
   * DELETE and stay with RENAME; RENAME INBOX copies them to the new mailbox.
   */
  setMetadata(target: MetadataTarget, changes: MetadataChange[], limits: MetadataLimits): Promise<void>;

  // --- moving an account between repositories (`petrel user move`; src/cluster/user-move.ts) ---
  /**
   * Optional (a backend that can receive a moved account): makes the
   * account's mailboxes here exactly `mailboxes`, matched by UIDVALIDITY
   * (created with that UIDVALIDITY, renamed, re-flagged, or deleted with
   * their messages), in one transaction. Returns them in the given order.
   */
  importMailboxes?(accountId: AccountId, mailboxes: ImportedMailbox[]): Promise<MailboxInfo[]>;
  /**
   * Optional, with importMailboxes: writes messages with their own UIDs and
   * modseqs (new rows, or new flags and modseq of rows already here), marks
   * `expunged` UIDs expunged at their modseq (a tombstone where no row is
   * here), and raises UIDNEXT and HIGHESTMODSEQ to the given values, in one
   * transaction. The blobs must already be durable in this repository.
   */
  importMessages?(mailboxId: MailboxId, batch: ImportBatch): Promise<void>;
  /**
   * Optional: locks the account's mailboxes against every writer (on any
   * server) until the hold is released, or its data here (mailboxes,
   * messages, subscriptions, its /private server annotations) is dropped
   * in the same transaction, which fails the writers that waited.
   */
  holdAccount?(accountId: AccountId): Promise<AccountHold>;

  // --- maintenance ---
  /** Drops expunged rows older than `olderThan` (keeping (uid, modseq) tombstones). Returns rows pruned. */
  pruneExpunged(olderThan: Date): Promise<number>;
  /** Blob ids no longer referenced by any message row (live or unpruned), for the blob GC. */
  unreferencedBlobs(limit: number): Promise<BlobId[]>;
  /** Forgets blobs the GC deleted. */
  forgetBlobs(blobIds: BlobId[]): Promise<void>;
  /** Runs the backend's own consistency check; returns a list of problems (empty = fine). */
  integrityCheck(): Promise<string[]>;
  /**
   * Indexes, now, the SEARCH text the backend's index does not hold yet
   * (SQLite fills its index after the commit; imports call this so that what
   * they stored is indexed when they return). Returns the texts indexed.
   */
  indexSearchText?(): Promise<number>;
  close(): Promise<void>;
}

/** A mailbox as `petrel user move` recreates it (MailStore.importMailboxes). */
export interface ImportedMailbox {
  name: string;
  uidValidity: number;
  specialUse: SpecialUse | null;
  selectable: boolean;
}

/** A message with the UID and modseq it had in the source repository. */
export interface ImportedMessage extends AppendItem {
  uid: number;
  modseq: number;
  saveDate: Date;
}

export interface ImportBatch {
  /** New messages, or live ones whose flags and modseq changed. */
  messages: ImportedMessage[];
  expunged: Array<{ uid: number; modseq: number }>;
  uidNext: number;
  highestModseq: number;
}

export interface AccountHold {
  /** Deletes the account's data in this repository and releases the lock. */
  drop(): Promise<void>;
  /** Releases the lock, changing nothing. */
  release(): Promise<void>;
}

/** A blob being written. Bytes are streamed in; nothing is visible until commit. */
export interface BlobWriter {
  /** Resolves when the chunk may be followed by the next (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /**
   * Makes the blob durable (fsynced) under its content address and returns it;
   * or, for a store in the metadata's own database (the PostgreSQL blob store
   * with asyncCommit), durable with the metadata's next commit there, which
   * is the one that refers to it. If the same content is already stored, the
   * new copy is discarded.
   */
  commit(): Promise<{ blobId: BlobId; size: number }>;
  /**
   * Optional: like commit(), but a body small enough may be left unstored,
   * returned as `pending`, for the append that refers to it to store in its
   * own transaction (the PostgreSQL blob store: one statement and one
   * commit less per delivery). Whoever holds a pending body must give it to
   * that append (AppendItem.pendingBody) or call its store() before anything
   * reads the body or refers to it otherwise.
   */
  commitPending?(): Promise<{ blobId: BlobId; size: number; pending?: PendingBody }>;
  /** Discards what was written. Safe to call after a failed write or commit. */
  abort(): Promise<void>;
}

export interface ByteRange {
  /** Inclusive start offset. */
  start: number;
  /** Exclusive end offset. */
  end: number;
}

/** A committed blob not stored yet: BlobWriter.commitPending. */
export interface PendingBody {
  readonly blobId: BlobId;
  /** The blob store whose writer left it: only the mail store of that store's repository may store it with an append. */
  readonly owner: BlobStore;
  /** Stores the body as commit() would have. Idempotent: later calls (and calls after an append stored it) change nothing. */
  store(): Promise<void>;
}

/** Immutable, content-addressed message bodies. */
export interface BlobStore {
  beginWrite(): BlobWriter;
  /**
   * Its writers copy every chunk in write() before returning, so a caller
   * may hand them views of memory it reuses at once (pooled socket reads,
   * src/util/pooled-reads.ts); else the caller copies.
   */
  readonly writerCopiesChunks?: boolean;
  has(blobId: BlobId): Promise<boolean>;
  size(blobId: BlobId): Promise<number>; // NOT_FOUND
  /** Streams the blob, or only `range` of it. NOT_FOUND if absent. */
  read(blobId: BlobId, range?: ByteRange): Readable;
  /** Reads a (small) range into memory. */
  readBuffer(blobId: BlobId, range?: ByteRange): Promise<Buffer>;
  /**
   * Optional: hands `range` to `sink` chunk by chunk in buffers the store
   * reuses, so sending a big body makes no garbage. A chunk may be
   * overwritten once the promise `sink` returned for it has resolved (the
   * consumer is done with its bytes), not before. NOT_FOUND if absent.
   */
  pipeRange?(blobId: BlobId, range: ByteRange, sink: (chunk: Buffer) => Promise<void>): Promise<void>;
  /**
   * Removes the blob (no error if absent). With `untouchedForSeconds` (the
   * garbage collector's safety), the blob is kept if it was written or
   * deduplicated by a writer's commit within that many seconds; the check and
   * the removal are atomic with respect to concurrent commits (see src/blob/gc.ts).
   */
  delete(blobId: BlobId, options?: BlobDeleteOptions): Promise<void>;
  /**
   * Optional: stores blobs whose bytes are in memory, each under its content
   * address (blobAddress() of ingest.ts), as one batch (imports): all of
   * them durable when it resolves, none under its address before its bytes
   * are; a blob already stored is touched, as a writer's dedup would.
   */
  storeBatch?(blobs: ReadonlyArray<{ blobId: BlobId; bytes: Buffer }>): Promise<void>;
  /** Optional: ids of stored blobs last written/touched before `touchedBefore` (the GC's orphan sweep). */
  list?(touchedBefore: Date): AsyncIterable<BlobId>;
  close(): Promise<void>;
}

export interface BlobDeleteOptions {
  untouchedForSeconds?: number;
}

export type MailEventListener = (event: MailEvent) => void;

/** Hints that something changed; the store's change log is the truth. */
/** Which events a keyed subscriber gets: see eventKey() and the key helpers in src/mail/events.ts. */
export type EventKey = string;

/** A keyed subscription whose keys can change (a session selecting another mailbox). */
export interface EventSubscription {
  /** Replaces the keys listened to. */
  setKeys(keys: readonly EventKey[]): void;
  unsubscribe(): void;
}

export interface EventBus {
  publish(event: MailEvent): void;
  /** Every event. Returns an unsubscribe function. */
  subscribe(listener: MailEventListener): () => void;
  /** Only the events whose eventKey() is one of `keys`: a publish costs O(listeners of its key). */
  subscribeKeys(listener: MailEventListener, keys: readonly EventKey[]): EventSubscription;
  close(): Promise<void>;
}

/**
 * MailStore.listFlags: message i (0-based, ascending uid) has uids[i],
 * modseqs[i] and the flags flagSets[flagSet[i]]; each distinct flag set
 * appears once in flagSets (shared arrays: never modify them).
 */
export interface FlagListing {
  uids: Uint32Array;
  modseqs: Float64Array;
  flagSet: Uint32Array;
  flagSets: string[][];
}

/** MailStore.listFlags: the listing, and the mailbox's counters read in the same snapshot. */
export interface MailboxFlagListing extends FlagListing {
  highestModseq: number;
  uidNext: number;
}

/** A message written to the BlobStore (durable) and indexed, not yet in any mailbox. */
export interface StagedMessage {
  blobId: BlobId;
  size: number;
  index: MessageIndex;
  /**
   * The top-level header holds an octet >= 0x80 (RFC 6855 4), seen by
   * stage() while the bytes went by; absent when not known (the APPEND
   * check then reads the header back from the blob).
   */
  headerEightBit?: boolean;
  /** The body is not stored yet (stage()'s `pendingBody` option): Ingest.commit has it stored with the append, copyStaged before it reads it. */
  pendingBody?: PendingBody;
}

/**
 * The one ingest pipeline (src/mail/ingest.ts), used by LMTP, APPEND, COPY
 * across repositories and `petrel deliver`: index once while streaming the
 * bytes into the BlobStore, then insert metadata, then publish the change.
 */
export interface IngestPipeline {
  /**
   * Streams the message into the blob store (fsynced) and indexes it in the
   * same pass. TOO_BIG once more than maxSize bytes arrive (the partial blob is discarded).
   */
  stage(source: AsyncIterable<Buffer>, maxSize?: number, options?: { pendingBody?: boolean }): Promise<StagedMessage>;
  /** Appends staged messages to one mailbox atomically and publishes the change. */
  commit(
    mailbox: MailboxInfo,
    messages: Array<{ staged: StagedMessage; flags: string[]; internalDate: Date }>,
  ): Promise<AppendResult>;
  /**
   * Local delivery: stage + commit into `mailboxName` of the account (INBOX
   * is created if the account has none yet; NOT_FOUND for another missing mailbox).
   */
  deliver(
    accountId: AccountId,
    mailboxName: string,
    source: AsyncIterable<Buffer>,
    options?: { flags?: string[]; internalDate?: Date; maxSize?: number },
  ): Promise<AppendResult & { mailbox: MailboxInfo }>;
}
