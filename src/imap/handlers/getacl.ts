// GETACL (RFC 4314 3.3): needs "a"; a mailbox the user cannot look up is reported as missing (6).

import type { CommandOf, Handler } from '../context.js';
import { aclEntries } from '../acl-commands.js';

export const getaclHandler: Handler<CommandOf<'GETACL'>> = async ({ session, command }) => {
  const ref = await session.access.require(session.fromWire(command.mailbox), 'a');
  await session.send({ kind: 'ACL', mailbox: session.toWire(ref.display), entries: await aclEntries(ref) });
  return { status: 'OK', text: 'GETACL completed' };
};
