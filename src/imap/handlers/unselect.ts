// UNSELECT (RFC 9051 6.4.2 / RFC 3691): leave the mailbox without expunging.

import type { Handler } from '../context.js';

export const unselectHandler: Handler = async ({ session }) => {
  session.deselect();
  return { status: 'OK', text: 'UNSELECT completed' };
};
