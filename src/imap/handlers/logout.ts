// LOGOUT (RFC 9051 6.1.3): BYE, tagged OK, then the connection closes.

import type { Handler } from '../context.js';

export const logoutHandler: Handler = async ({ session }) => {
  await session.send({ kind: 'status', status: 'BYE', text: 'Logging out' });
  return { status: 'OK', text: 'LOGOUT completed', after: 'logout' };
};
