// What the RFC 4314 command handlers share: the checks on identifiers
// (SASLprep-prepared) and rights strings (BAD, section 3), how an ACL is
// shown (the owner of a personal mailbox with every right first, "c" and "d"
// added, 2.1.1), and the events an ACL change publishes.

import { ALL_RIGHTS, AclSyntaxError, displayRights, modifyRights, prepareAclIdentifier, validIdentifier } from '../mail/acl.js';
import { publishRightsChanged } from '../mail/events.js';
import { CommandError } from './context.js';
import type { ExistingRef } from './mailbox-access.js';
import type { Session } from './session.js';

/**
 * The identifier of SETACL/DELETEACL/LISTRIGHTS as stored and compared:
 * SASLprep-prepared (RFC 4314 3; after the "-" of a negative right), BAD
 * when the preparation fails or leaves nothing.
 */
export function prepareIdentifier(identifier: string): string {
  const prepared = prepareAclIdentifier(identifier);
  if (prepared === null || !validIdentifier(prepared)) throw new CommandError({ status: 'BAD', text: 'Invalid identifier' });
  return prepared;
}

/** The rights after applying a SETACL modification; BAD for unknown rights (RFC 4314 3.1). */
export function applyModification(current: string, modification: string): string {
  try {
    return modifyRights(current, modification);
  } catch (err) {
    if (err instanceof AclSyntaxError) throw new CommandError({ status: 'BAD', text: err.message });
    throw err;
  }
}

/** The owner's own rights are fixed (every right): SETACL/DELETEACL of the owner is refused. */
export function refuseOwner(ref: ExistingRef, identifier: string): void {
  if (ref.namespace !== 'shared' && identifier === ref.owner.name) {
    throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: "The owner's rights cannot be changed" });
  }
}

/** The ACL response entries of a mailbox. */
export async function aclEntries(ref: ExistingRef): Promise<Array<{ identifier: string; rights: string }>> {
  const stored = await ref.repository.store.getAcl(ref.mailbox.id);
  const out = ref.namespace === 'shared' ? [] : [{ identifier: ref.owner.name, rights: displayRights(ALL_RIGHTS) }];
  for (const e of stored) if (e.identifier !== ref.owner.name) out.push({ identifier: e.identifier, rights: displayRights(e.rights) });
  return out;
}

/**
 * After an ACL change: sessions that have the mailbox selected recheck their
 * rights (mailboxes-changed of the owner), and NOTIFY sessions of the
 * identifier look again at what they cover (rights-changed), even when the
 * owner shared nothing with them before.
 */
export function aclChanged(session: Session, ref: ExistingRef, identifier: string): void {
  session.publishMailboxesChanged(ref);
  publishRightsChanged(ref.repository, ref.owner.id, identifier);
}
