// EXPUNGE (RFC 9051 6.4.3): EXPUNGE responses, highest sequence number first.

import type { UidSet } from '../../mail/types.js';
import type { Response } from '../../protocol/imap/response.js';
import type { Handler, TaggedResult } from '../context.js';
import type { Session } from '../session.js';

export async function expungeSelected(session: Session, uids?: UidSet): Promise<TaggedResult> {
  const sel = session.selected!;
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  const result = await session.deps.store.expunge(sel.mailbox.id, uids);
  if (result.uids.length > 0) session.publishChange(sel.mailbox.id, result.highestModseq);
  const out: Response[] = sel.view.applyOwnExpunge(result.uids).map((seq) => ({ kind: 'EXPUNGE', seq }));
  for (let i = 0; i < out.length; i += 256) await session.send(...out.slice(i, i + 256));
  return { status: 'OK', text: 'EXPUNGE completed' };
}

export const expungeHandler: Handler = ({ session }) => expungeSelected(session);
