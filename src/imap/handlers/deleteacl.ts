// DELETEACL (RFC 4314 3.2): needs "a"; removes the identifier's entry.

import type { CommandOf, Handler } from '../context.js';
import { aclChanged, checkIdentifier, refuseOwner } from '../acl-commands.js';

export const deleteaclHandler: Handler<CommandOf<'DELETEACL'>> = async ({ session, command }) => {
  checkIdentifier(command.identifier);
  const ref = await session.access.require(session.fromWire(command.mailbox), 'a');
  refuseOwner(ref, command.identifier);
  await ref.repository.store.setAcl(ref.mailbox.id, command.identifier, null);
  aclChanged(session, ref);
  return { status: 'OK', text: 'DELETEACL completed' };
};
