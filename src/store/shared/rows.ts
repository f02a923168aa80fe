// Row shapes shared by the SQL backends and their mapping to domain values.
// Both schemas use the same column names; SQLite stores booleans as 0/1 and
// PostgreSQL as booleans, so flags-like columns accept either.

import {
  applyFlagOperation,
  DELETED,
  formatFlags,
  keywordsFromColumn,
  parseFlags,
  sameFlags,
  type FlagSet,
} from '../../mail/flags.js';
import { MailError } from '../../mail/errors.js';
import { foldText, headerSearchText, sentDay } from '../../mail/search.js';
import type {
  Account,
  AppendItem,
  FlagOperation,
  FlagState,
  MailboxInfo,
  MessageMeta,
  SpecialUse,
} from '../../mail/types.js';
import type { MessageIndex } from '../../mime/types.js';

type SqlBool = number | boolean;
const truthy = (v: SqlBool): boolean => v === true || v === 1;

export const MAILBOX_COLUMNS = 'id, account_id, name, uidvalidity, uidnext, highestmodseq, special_use, selectable';

export interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
  special_use: string | null;
  selectable: SqlBool;
}

export function toMailboxInfo(r: MailboxRow): MailboxInfo {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    uidValidity: r.uidvalidity,
    uidNext: r.uidnext,
    highestModseq: r.highestmodseq,
    specialUse: r.special_use as SpecialUse | null,
    selectable: truthy(r.selectable),
  };
}

/** The mailbox, which must exist (NOT_FOUND) and be selectable (NOT_SELECTABLE). */
export function requireSelectable<R extends MailboxRow>(row: R | undefined, id: number): R {
  if (!row) throw new MailError('NOT_FOUND', `mailbox ${id} does not exist`);
  if (!truthy(row.selectable)) throw new MailError('NOT_SELECTABLE', `mailbox ${row.name} is not selectable`);
  return row;
}

export function isSelectable(row: MailboxRow): boolean {
  return truthy(row.selectable);
}

export const ACCOUNT_COLUMNS = 'id, name, password_hash, disabled, created_at, repository, frozen_until';

export interface AccountRow {
  id: number;
  name: string;
  password_hash: string;
  disabled: SqlBool;
  /** ms since the epoch */
  created_at: number;
  repository: string;
  /** ms since the epoch, or null */
  frozen_until: number | null;
}

export function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    name: r.name,
    passwordHash: r.password_hash,
    disabled: truthy(r.disabled),
    createdAt: new Date(r.created_at),
    repository: r.repository,
    frozenUntil: r.frozen_until === null ? null : new Date(Number(r.frozen_until)),
  };
}

export const MESSAGE_COLUMNS =
  'uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id, expunged_modseq';

export interface MessageRow {
  uid: number;
  modseq: number;
  system_flags: number;
  keywords: string;
  internal_date: number;
  save_date: number;
  size: number;
  blob_id: string;
  expunged_modseq: number | null;
}

export function flagsOf(r: { system_flags: number; keywords: string }): FlagSet {
  return { system: r.system_flags, keywords: keywordsFromColumn(r.keywords) };
}

export function toMeta(r: MessageRow): MessageMeta {
  return {
    uid: r.uid,
    modseq: r.modseq,
    flags: formatFlags(flagsOf(r)),
    internalDate: new Date(r.internal_date),
    saveDate: new Date(r.save_date),
    size: r.size,
    blobId: r.blob_id,
    expungedModseq: r.expunged_modseq,
  };
}

export function toFlagState(r: { uid: number; modseq: number; system_flags: number; keywords: string }): FlagState {
  return { uid: r.uid, modseq: r.modseq, flags: formatFlags(flagsOf(r)) };
}

export function isDeleted(r: { system_flags: number }): boolean {
  return (r.system_flags & DELETED) !== 0;
}

/** STORE on live rows: which are refused (UNCHANGEDSINCE) and which really change. */
export function planFlagChanges(
  rows: readonly MessageRow[],
  operation: FlagOperation,
  flags: readonly string[],
  unchangedSince: number | undefined,
): { modified: number[]; pending: Array<{ uid: number; next: FlagSet }> } {
  const given = parseFlags(flags);
  const modified: number[] = [];
  const pending: Array<{ uid: number; next: FlagSet }> = [];
  for (const row of rows) {
    if (unchangedSince !== undefined && row.modseq > unchangedSince) {
      modified.push(row.uid);
      continue;
    }
    const current = flagsOf(row);
    const next = applyFlagOperation(current, operation, given);
    if (!sameFlags(current, next)) pending.push({ uid: row.uid, next });
  }
  return { modified, pending };
}

/** Internal date of an item to append, in ms; CANNOT if it is not a real date. */
export function internalDateMs(item: AppendItem): number {
  const ms = item.internalDate.getTime();
  if (!Number.isFinite(ms)) throw new MailError('CANNOT', 'invalid internal date');
  return ms;
}

/** What the store keeps about a blob: its parsed index and folded search text, computed once at ingest. */
export interface BlobRecord {
  readonly blobId: string;
  readonly size: number;
  readonly idx: string;
  readonly sentDay: string | null;
  readonly headerText: string;
  readonly bodyText: string;
}

/**
 * The record of each index, made by its first append: a delivery to several
 * recipients commits the same staged message (the same index object,
 * ../../mail/ingest.ts) once per recipient, and a PostgreSQL append makes
 * the records of its items whether or not their blobs are known. An index
 * is not changed once made; with another blob id (not a delivery's, which
 * share theirs) the record is made again.
 */
const records = new WeakMap<MessageIndex, BlobRecord>();

export function blobRecord(item: AppendItem): BlobRecord {
  const idx = item.index;
  const made = records.get(idx);
  if (made?.blobId === item.blobId) return made;
  const record: BlobRecord = Object.freeze({
    blobId: item.blobId,
    size: idx.size,
    idx: JSON.stringify(idx),
    sentDay: sentDay(idx.sentDate, idx.sentDateOffset),
    ...searchText(idx),
  });
  records.set(idx, record);
  return record;
}

/** The folded search text of a message (the blob_text columns), from its index. */
export interface SearchText {
  headerText: string;
  bodyText: string;
}

export function searchText(idx: Pick<MessageIndex, 'headers' | 'bodyText'>): SearchText {
  return { headerText: headerSearchText(idx.headers), bodyText: foldText(idx.bodyText) };
}

/**
 * The search text of a stored index (the blobs.idx JSON), for the migrations
 * that fold the stored text again; null when it is not an index we can read
 * (the row then keeps its text).
 */
export function searchTextOfStoredIndex(idxJson: string): SearchText | null {
  let idx: unknown;
  try {
    idx = JSON.parse(idxJson);
  } catch {
    return null;
  }
  if (typeof idx !== 'object' || idx === null) return null;
  const { headers, bodyText } = idx as Partial<MessageIndex>;
  if (!Array.isArray(headers) || typeof bodyText !== 'string') return null;
  return searchText({ headers, bodyText });
}
