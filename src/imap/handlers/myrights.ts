// MYRIGHTS (RFC 4314 3.5): the user's rights, for any of "l", "r", "i", "k", "x" or "a" (section 4).

import { displayRights } from '../../mail/acl.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';

export const myrightsHandler: Handler<CommandOf<'MYRIGHTS'>> = async ({ session, command }) => {
  const ref = await session.access.resolve(session.fromWire(command.mailbox));
  if (!ref?.mailbox || !/[lrikxa]/.test(ref.rights)) {
    throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  }
  await session.send({ kind: 'MYRIGHTS', mailbox: session.toWire(ref.display), rights: displayRights(ref.rights) });
  return { status: 'OK', text: 'MYRIGHTS completed' };
};
