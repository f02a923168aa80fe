// CLOSE (RFC 9051 6.4.1): silently expunge \Deleted messages when read-write, then deselect.

import type { Handler } from '../context.js';

export const closeHandler: Handler = async ({ session, deps }) => {
  const sel = session.selected!;
  // Deselect first: no EXPUNGE responses may follow a CLOSE.
  session.deselect();
  if (!sel.readOnly) {
    const result = await deps.store.expunge(sel.mailbox.id);
    if (result.uids.length > 0) session.publishChange(sel.mailbox.id, result.highestModseq);
  }
  return { status: 'OK', text: 'CLOSE completed' };
};
