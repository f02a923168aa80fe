// GETQUOTAROOT (RFC 9208 4.1.2): every mailbox of the account, existing or
// not yet created, is under the account's root "".

import type { CommandOf, Handler } from '../context.js';
import { QUOTA_ROOT, quotaResponse } from '../quota.js';

export const getquotarootHandler: Handler<CommandOf<'GETQUOTAROOT'>> = async ({ session, deps, command }) => {
  session.fromWire(command.mailbox); // rejects a name that is not valid on this connection
  await session.send({ kind: 'QUOTAROOT', mailbox: command.mailbox, roots: [QUOTA_ROOT] });
  await session.send(await quotaResponse(deps, session.account!));
  return { status: 'OK', text: 'GETQUOTAROOT completed' };
};
