// UID EXPUNGE (RFC 4315 2.1, RFC 9051 6.4.9): only \Deleted messages among the given UIDs.

import type { CommandOf, Handler } from '../context.js';
import { MailboxView } from '../view.js';
import { expungeSelected } from './expunge.js';

export const uidExpungeHandler: Handler<CommandOf<'UID EXPUNGE'>> = async ({ session, command }) => {
  const sel = session.selected!;
  const uids = sel.view.uidsForUidSet(command.set, session.savedSearch);
  if (uids.length === 0) return { status: 'OK', text: 'EXPUNGE completed' };
  return expungeSelected(session, MailboxView.toUidSet(uids));
};
