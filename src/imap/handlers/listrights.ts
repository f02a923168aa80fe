// LISTRIGHTS (RFC 4314 3.4, 3.7): needs "a". No rights are tied together, so
// each is offered alone, with "c" and "d" (2.1.1); the owner of a personal
// mailbox always has every right. The identifier is SASLprep-prepared
// (RFC 4314 3) and echoed as the client sent it.

import { ALL_RIGHTS, displayRights } from '../../mail/acl.js';
import type { CommandOf, Handler } from '../context.js';
import { prepareIdentifier } from '../acl-commands.js';

export const listrightsHandler: Handler<CommandOf<'LISTRIGHTS'>> = async ({ session, command }) => {
  const identifier = prepareIdentifier(command.identifier);
  const ref = await session.access.require(session.fromWire(command.mailbox), 'a');
  const owner = ref.namespace !== 'shared' && identifier === ref.owner.name;
  await session.send({
    kind: 'LISTRIGHTS',
    mailbox: session.toWire(ref.display),
    identifier: command.identifier,
    required: owner ? displayRights(ALL_RIGHTS) : '',
    optional: owner ? [] : [...ALL_RIGHTS, 'c', 'd'],
  });
  return { status: 'OK', text: 'LISTRIGHTS completed' };
};
