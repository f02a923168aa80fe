// Annotations of mailboxes and of the server (RFC 5464 METADATA), as the
// store sees them: entry names are "/private/..." (one value per user) or
// "/shared/..." (one value for everyone), compared case-insensitively, so
// they are kept in lower case. Nothing here knows IMAP syntax; the protocol
// layer checks the entry-name grammar (BAD) before a name gets here.

import { MailError } from './errors.js';
import type { AccountId, MailboxId } from './types.js';

export const PRIVATE_PREFIX = '/private';
export const SHARED_PREFIX = '/shared';

/** DEPTH of GETMETADATA (RFC 5464 4.2.2): the entry only, its children, or everything below it. */
export type MetadataDepth = 0 | 1 | 'infinity';

/** Whose annotations: mailboxId null = the server's. accountId is the user acting (owner of /private values). */
export interface MetadataTarget {
  accountId: AccountId;
  mailboxId: MailboxId | null;
}

export interface MetadataEntry {
  /** Lower-case entry name, e.g. "/private/comment". */
  name: string;
  value: Buffer;
}

/** One change of SETMETADATA: null removes the entry. */
export interface MetadataChange {
  name: string;
  value: Buffer | null;
}

export interface MetadataLimits {
  /** Largest value, octets. */
  maxValueSize: number;
  /**
   * Most entries one user may have on one mailbox (its /shared entries plus
   * the user's /private ones), or on the server (the user's entries there).
   */
  maxEntries: number;
}

export type MetadataScope = 'private' | 'shared';

/** Entry names compare case-insensitively (RFC 5464 3.2); they are ASCII, so this is exact. */
export function canonicalEntryName(name: string): string {
  return name.toLowerCase();
}

/** "private" or "shared" for a canonical name under one of the two prefixes (or the prefix itself); null otherwise. */
export function entryScope(name: string): MetadataScope | null {
  for (const [prefix, scope] of [
    [PRIVATE_PREFIX, 'private'],
    [SHARED_PREFIX, 'shared'],
  ] as const) {
    if (name === prefix || name.startsWith(prefix + '/')) return scope;
  }
  return null;
}

/** The scope of a name that must be an entry (at least two components); INVALID_NAME otherwise. */
export function settableEntryScope(name: string): MetadataScope {
  const scope = entryScope(name);
  if (scope === null || name === PRIVATE_PREFIX || name === SHARED_PREFIX)
    throw new MailError('INVALID_NAME', `annotation entry ${JSON.stringify(name)} must be below /private or /shared`);
  return scope;
}

/** Is `name` the entry `requested` or below it within `depth` (RFC 5464 4.2.2)? Both canonical. */
export function matchesDepth(requested: string, name: string, depth: MetadataDepth): boolean {
  if (name === requested) return true;
  if (depth === 0 || !name.startsWith(requested + '/')) return false;
  return depth === 'infinity' || !name.slice(requested.length + 1).includes('/');
}

/**
 * What GETMETADATA reports for the requested names out of the entries found:
 * each requested name once, in request order, with its value or null (no
 * value, shown as NIL), followed by the entries below it that `depth`
 * reaches, in name order. An entry below several requested names is listed once.
 */
export function selectEntries(
  requested: readonly string[],
  found: readonly MetadataEntry[],
  depth: MetadataDepth,
): Array<{ name: string; value: Buffer | null }> {
  const byName = new Map(found.map((e) => [e.name, e.value]));
  const sorted = [...byName.keys()].sort();
  const out: Array<{ name: string; value: Buffer | null }> = [];
  const seen = new Set<string>();
  for (const name of requested) {
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, value: byName.get(name) ?? null });
    if (depth === 0) continue;
    for (const below of sorted) {
      if (below !== name && !seen.has(below) && matchesDepth(name, below, depth)) {
        seen.add(below);
        out.push({ name: below, value: byName.get(below)! });
      }
    }
  }
  return out;
}

/**
 * Checks a SETMETADATA against the limits, given the names of the entries
 * that already count against them: TOO_BIG for a value over maxValueSize,
 * LIMIT when the changes would add entries beyond maxEntries (removing or
 * replacing entries is always allowed). All or nothing: throws before anything changes.
 */
export function checkMetadataLimits(existing: ReadonlySet<string>, changes: readonly MetadataChange[], limits: MetadataLimits): void {
  for (const c of changes) {
    if (c.value !== null && c.value.length > limits.maxValueSize)
      throw new MailError('TOO_BIG', `annotation value of ${c.value.length} octets exceeds ${limits.maxValueSize}`);
  }
  const after = new Set(existing);
  for (const c of changes) {
    if (c.value === null) after.delete(c.name);
    else after.add(c.name);
  }
  if (after.size > existing.size && after.size > limits.maxEntries)
    throw new MailError('LIMIT', `too many annotations (limit ${limits.maxEntries})`);
}

/**
 * The changes of one SETMETADATA in canonical form: names lower-cased and
 * below /private or /shared (INVALID_NAME otherwise); when a name is given
 * twice, the last value wins.
 */
export function canonicalChanges(changes: readonly MetadataChange[]): MetadataChange[] {
  const byName = new Map<string, Buffer | null>();
  for (const c of changes) {
    const name = canonicalEntryName(c.name);
    settableEntryScope(name);
    byName.delete(name);
    byName.set(name, c.value);
  }
  return [...byName].map(([name, value]) => ({ name, value }));
}
