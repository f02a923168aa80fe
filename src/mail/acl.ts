// Access control lists (RFC 4314), protocol-free: rights sets, their
// modification by SETACL strings, and how a user's rights on a mailbox are
// computed. Rights are kept as a canonical string in RIGHTS order.
//
// Petrel's rules (RFC 4314 leaves them to the implementation):
// - The owner of a personal mailbox always has every right; an ACL entry
//   for the owner is kept but changes nothing. Shared mailboxes have no owner
//   who logs in: only their ACL grants anything.
// - A user's rights are the union of the entries for its name, "anyone" and
//   "authenticated" (every logged-in user), minus those of the negative
//   entries "-name", "-anyone", "-authenticated".
// - No rights are tied together; "c" stands for "k" and "d" for "xte"
//   (the RFC 2086 readings), and both are shown again in ACL and MYRIGHTS.

import { saslprep, SaslprepError } from '../util/saslprep.js';

/**
 * The directory account that owns every shared mailbox ("Shared/..."). Its
 * name has a space, which `petrel user add` refuses, so no user can have it;
 * it is disabled and has no usable password.
 */
export const SHARED_OWNER = 'shared mailboxes';

/** Every real right, in the order rights strings are written. */
export const ALL_RIGHTS = 'lrswipkxtea';

/** The RIGHTS= capability: the rights beyond RFC 2086's. */
export const RIGHTS_CAPABILITY = 'RIGHTS=texk';

const VIRTUAL: Record<string, string> = { c: 'k', d: 'xte' };

export class AclSyntaxError extends Error {}

export interface AclEntry {
  /** A user name, "anyone", "authenticated", or one of them prefixed by "-" (a negative entry). */
  identifier: string;
  /** Canonical real rights (no "c"/"d"). */
  rights: string;
}

/** Canonical form of a rights string: known letters only (BAD otherwise), virtual ones expanded, sorted. */
export function parseRights(text: string): string {
  const set = new Set<string>();
  for (const ch of text) {
    if (VIRTUAL[ch]) for (const r of VIRTUAL[ch]!) set.add(r);
    else if (ALL_RIGHTS.includes(ch)) set.add(ch);
    else if (/[A-Z]/.test(ch)) throw new AclSyntaxError('Uppercase rights are not allowed');
    else throw new AclSyntaxError(`The ${ch} right is not supported`);
  }
  return canonical(set);
}

function canonical(set: Set<string>): string {
  let out = '';
  for (const r of ALL_RIGHTS) if (set.has(r)) out += r;
  return out;
}

/** The SETACL modification ("+rights", "-rights" or "rights") applied to the current rights. */
export function modifyRights(current: string, modification: string): string {
  const mode = modification.startsWith('+') ? 'add' : modification.startsWith('-') ? 'remove' : 'replace';
  const given = parseRights(mode === 'replace' ? modification : modification.slice(1));
  if (mode === 'replace') return given;
  const set = new Set(current);
  for (const r of given) {
    if (mode === 'add') set.add(r);
    else set.delete(r);
  }
  return canonical(set);
}

/** Rights as ACL and MYRIGHTS responses show them: with "c" and "d" when any of their members is there (RFC 4314 2.1.1). */
export function displayRights(rights: string): string {
  let out = rights;
  if (rights.includes('k')) out += 'c';
  if (/[xte]/.test(rights)) out += 'd';
  return out;
}

/**
 * A user's rights from a mailbox's ACL (see the header). `isOwner`: the
 * user owns the mailbox (every right).
 */
export function effectiveRights(acl: readonly AclEntry[], user: string, isOwner: boolean): string {
  if (isOwner) return ALL_RIGHTS;
  const applies = new Set([user, 'anyone', 'authenticated']);
  const granted = new Set<string>();
  const denied = new Set<string>();
  for (const e of acl) {
    const negative = e.identifier.startsWith('-');
    const who = negative ? e.identifier.slice(1) : e.identifier;
    if (!applies.has(who)) continue;
    for (const r of e.rights) (negative ? denied : granted).add(r);
  }
  for (const r of denied) granted.delete(r);
  return canonical(granted);
}

/**
 * An identifier as SETACL/DELETEACL/LISTRIGHTS accept it: non-empty, no
 * control characters or spaces (RFC 4314 3: a failed preparation is BAD).
 */
export function validIdentifier(identifier: string): boolean {
  const bare = identifier.startsWith('-') ? identifier.slice(1) : identifier;
  // eslint-disable-next-line no-control-regex
  return bare.length > 0 && bare.length <= 255 && !/[\s\x00-\x1f\x7f]/.test(bare);
}

/**
 * RFC 4314 3: an identifier prepared with SASLprep (as a stored string),
 * keeping the "-" of a negative right outside the preparation; null when
 * the preparation fails or leaves nothing.
 */
export function prepareAclIdentifier(identifier: string): string | null {
  const negative = identifier.startsWith('-');
  let prepared: string;
  try {
    prepared = saslprep(negative ? identifier.slice(1) : identifier);
  } catch (err) {
    if (err instanceof SaslprepError) return null;
    throw err;
  }
  if (prepared === '') return null;
  return negative ? `-${prepared}` : prepared;
}

/** The identifiers whose ACL entries can concern `user` (for finding mailboxes shared with it). */
export function identifiersOf(user: string): string[] {
  return [user, 'anyone', 'authenticated'];
}
