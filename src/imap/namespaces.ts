// The three namespaces (RFC 2342, RFC 9051 6.3.10) and how a mailbox name a
// client uses maps to a mailbox of some owner:
//   "INBOX", "Sent", "a/b"           personal: the logged-in user's own
//   "Other Users/bob/INBOX"          other users': bob's "INBOX", if bob's ACL lets us see it
//   "Shared/Support/2026"            shared: "Support/2026" of the shared-mailbox owner
// Names are the session's decoded (UTF-8) form, "/" as the delimiter.

import { HIERARCHY_DELIMITER } from '../mail/types.js';

export const OTHER_USERS = 'Other Users';
export const SHARED = 'Shared';

export { SHARED_OWNER } from '../mail/acl.js';

export type ParsedName =
  | { namespace: 'personal'; name: string }
  /** "Other Users" itself, or "Other Users/bob" (a user's root: no mailbox). */
  | { namespace: 'other'; owner: string | null; name: null }
  | { namespace: 'other'; owner: string; name: string }
  /** "Shared" itself: the root, no mailbox. */
  | { namespace: 'shared'; name: string | null };

const D = HIERARCHY_DELIMITER;

/** Which namespace a name is in, and the owner's own name for it. */
export function parseMailboxName(full: string): ParsedName {
  if (full === OTHER_USERS || full === OTHER_USERS + D) return { namespace: 'other', owner: null, name: null };
  if (full.startsWith(OTHER_USERS + D)) {
    const rest = full.slice(OTHER_USERS.length + 1);
    const slash = rest.indexOf(D);
    if (slash < 0) return { namespace: 'other', owner: rest.length > 0 ? rest : null, name: null };
    const owner = rest.slice(0, slash);
    const name = rest.slice(slash + 1);
    if (owner.length === 0) return { namespace: 'other', owner: null, name: null };
    if (name.length === 0) return { namespace: 'other', owner, name: null };
    return { namespace: 'other', owner, name: canonicalInbox(name) };
  }
  if (full === SHARED || full === SHARED + D) return { namespace: 'shared', name: null };
  if (full.startsWith(SHARED + D)) return { namespace: 'shared', name: full.slice(SHARED.length + 1) };
  return { namespace: 'personal', name: full };
}

/** "inbox/x" of another user is that user's "INBOX/x" (RFC 9051 5.1: INBOX is case-insensitive). */
function canonicalInbox(name: string): string {
  const slash = name.indexOf(D);
  const first = slash < 0 ? name : name.slice(0, slash);
  return first.toUpperCase() === 'INBOX' ? 'INBOX' + (slash < 0 ? '' : name.slice(slash)) : name;
}

/** The name a client sees for `name` of `owner` in `namespace`. */
export function displayName(namespace: 'personal' | 'other' | 'shared', owner: string, name: string): string {
  if (namespace === 'personal') return name;
  if (namespace === 'shared') return SHARED + D + name;
  return OTHER_USERS + D + owner + D + name;
}

/** True for names a user may not create in the personal namespace (they belong to the others). */
export function isReservedPersonalName(name: string): boolean {
  return parseMailboxName(name).namespace !== 'personal';
}
