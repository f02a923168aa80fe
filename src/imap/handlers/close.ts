// CLOSE (RFC 9051 6.4.1): silently expunge \Deleted messages when read-write, then deselect.

import type { Handler } from '../context.js';

export const closeHandler: Handler = async ({ session, deps }) => {
  const sel = session.selected!;
  // Deselect first: no EXPUNGE responses may follow a CLOSE.
  session.deselect();
  // RFC 4314 4: without "e" the expunge is skipped, and CLOSE still succeeds.
  if (!sel.readOnly && sel.ref.rights.includes('e')) {
    const result = await deps.store.expunge(sel.mailbox.id);
    if (result.uids.length > 0) session.publishChange(sel.ref, result.highestModseq);
  }
  return { status: 'OK', text: 'CLOSE completed' };
};
