// DELETEACL (RFC 4314 3.2): needs "a"; removes the entry of the identifier
// (SASLprep-prepared, RFC 4314 3).

import type { CommandOf, Handler } from '../context.js';
import { aclChanged, prepareIdentifier, refuseOwner } from '../acl-commands.js';

export const deleteaclHandler: Handler<CommandOf<'DELETEACL'>> = async ({ session, command }) => {
  const identifier = prepareIdentifier(command.identifier);
  const ref = await session.access.require(session.fromWire(command.mailbox), 'a');
  refuseOwner(ref, identifier);
  await ref.repository.store.setAcl(ref.mailbox.id, identifier, null);
  aclChanged(session, ref, identifier);
  return { status: 'OK', text: 'DELETEACL completed' };
};
