// SETACL (RFC 4314 3.1): needs "a"; "+rights" adds, "-rights" removes, plain
// rights replace; an entry left with no rights is removed.

import type { CommandOf, Handler } from '../context.js';
import { aclChanged, applyModification, checkIdentifier, refuseOwner } from '../acl-commands.js';

export const setaclHandler: Handler<CommandOf<'SETACL'>> = async ({ session, command }) => {
  checkIdentifier(command.identifier);
  const ref = await session.access.require(session.fromWire(command.mailbox), 'a');
  refuseOwner(ref, command.identifier);
  const store = ref.repository.store;
  const current = (await store.getAcl(ref.mailbox.id)).find((e) => e.identifier === command.identifier)?.rights ?? '';
  const rights = applyModification(current, command.rights);
  await store.setAcl(ref.mailbox.id, command.identifier, rights === '' ? null : rights);
  aclChanged(session, ref);
  return { status: 'OK', text: 'SETACL completed' };
};
