// GETQUOTA (RFC 9208 4.1.1): the only quota root is the account's "".

import { CommandError, type CommandOf, type Handler } from '../context.js';
import { QUOTA_ROOT, quotaResponse } from '../quota.js';

export const getquotaHandler: Handler<CommandOf<'GETQUOTA'>> = async ({ session, command }) => {
  if (command.root !== QUOTA_ROOT)
    throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'No such quota root' });
  await session.send(await quotaResponse(session.home, session.account!));
  return { status: 'OK', text: 'GETQUOTA completed' };
};
