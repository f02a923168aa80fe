// SETACL (RFC 4314 3.1): needs "a"; "+rights" adds, "-rights" removes, plain
// rights replace; an entry left with no rights is removed. The identifier
// is SASLprep-prepared (RFC 4314 3).

import type { CommandOf, Handler } from '../context.js';
import { aclChanged, applyModification, prepareIdentifier, refuseOwner } from '../acl-commands.js';

export const setaclHandler: Handler<CommandOf<'SETACL'>> = async ({ session, command }) => {
  const identifier = prepareIdentifier(command.identifier);
  const ref = await session.access.require(session.fromWire(command.mailbox), 'a');
  refuseOwner(ref, identifier);
  const store = ref.repository.store;
  const current = (await store.getAcl(ref.mailbox.id)).find((e) => e.identifier === identifier)?.rights ?? '';
  const rights = applyModification(current, command.rights);
  await store.setAcl(ref.mailbox.id, identifier, rights === '' ? null : rights);
  aclChanged(session, ref, identifier);
  return { status: 'OK', text: 'SETACL completed' };
};
