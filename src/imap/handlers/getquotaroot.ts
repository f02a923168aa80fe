// GETQUOTAROOT (RFC 9208 4.1.2): every mailbox of the account, existing or
// not yet created, is under the account's root "". Other users' and shared
// mailboxes count against their owner's quota, which is not this user's to
// see: they are answered with no quota root.

import type { CommandOf, Handler } from '../context.js';
import { isReservedPersonalName } from '../namespaces.js';
import { QUOTA_ROOT, quotaResponse } from '../quota.js';

export const getquotarootHandler: Handler<CommandOf<'GETQUOTAROOT'>> = async ({ session, command }) => {
  const name = session.fromWire(command.mailbox); // rejects a name that is not valid on this connection
  if (isReservedPersonalName(name)) {
    await session.access.require(name, 'r');
    await session.send({ kind: 'QUOTAROOT', mailbox: command.mailbox, roots: [] });
    return { status: 'OK', text: 'GETQUOTAROOT completed' };
  }
  await session.send({ kind: 'QUOTAROOT', mailbox: command.mailbox, roots: [QUOTA_ROOT] });
  await session.send(await quotaResponse(session.home, session.account!));
  return { status: 'OK', text: 'GETQUOTAROOT completed' };
};
