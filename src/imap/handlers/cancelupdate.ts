// CANCELUPDATE (RFC 5267 4.3.5): stops the update contexts named by their tags.

import type { CommandOf, Handler } from '../context.js';
import { cancelUpdates } from '../search-context.js';

export const cancelUpdateHandler: Handler<CommandOf<'CANCELUPDATE'>> = async ({ session, command }) => {
  const unknown = cancelUpdates(session, command.tags);
  // Like Dovecot: a tag that names no update context is a client error, and nothing is cancelled.
  if (unknown !== null) return { status: 'BAD', text: `No update context for tag ${JSON.stringify(unknown)}` };
  return { status: 'OK', text: 'CANCELUPDATE completed' };
};
