// EXPUNGE (RFC 9051 6.4.3): EXPUNGE responses, highest sequence number first;
// with QRESYNC one VANISHED response instead and the new HIGHESTMODSEQ in the
// tagged OK (RFC 7162 3.2.7, 3.2.9).

import type { UidSet } from '../../mail/types.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import type { Response } from '../../protocol/imap/response.js';
import type { Handler, TaggedResult } from '../context.js';
import { contextRemovals } from '../search-context.js';
import type { Session } from '../session.js';

/** The responses telling the client that these messages (MSN, UID, highest MSN first) are gone. */
export function expungeResponses(session: Session, gone: Array<{ seq: number; uid: number }>): Response[] {
  if (gone.length === 0) return [];
  // RFC 5267 4.3.4: update contexts learn of it first (REMOVEFROM before EXPUNGE).
  const removals = contextRemovals(session, gone);
  // VANISHED with QRESYNC (RFC 7162 3.2.10) and with UIDONLY (RFC 9586 3.4).
  if (session.qresync || session.uidOnly) return [...removals, { kind: 'VANISHED', earlier: false, uids: compressUids(gone.map((g) => g.uid)) }];
  return [...removals, ...gone.map((g): Response => ({ kind: 'EXPUNGE', seq: g.seq }))];
}

export async function expungeSelected(session: Session, uids?: UidSet): Promise<TaggedResult> {
  const sel = session.selected!;
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  if (!sel.ref.rights.includes('e')) return { status: 'NO', code: { kind: 'NOPERM' }, text: 'Permission denied (EXPUNGE needs the "e" right)' };
  const result = await session.deps.store.expunge(sel.mailbox.id, uids);
  if (result.uids.length > 0) session.publishChange(sel.ref, result.highestModseq);
  const out = expungeResponses(session, sel.view.expungeOwn(result.uids));
  for (let i = 0; i < out.length; i += 256) await session.send(...out.slice(i, i + 256));
  if (result.uids.length > 0 && session.condstore) {
    // Catch up with the log first, so the HIGHESTMODSEQ covers only what the client was told.
    await session.releaseUpdates(true, true);
    const modseq = session.selected?.view.safeModseq ?? result.highestModseq;
    return { status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq }, text: 'EXPUNGE completed' };
  }
  return { status: 'OK', text: 'EXPUNGE completed' };
}

export const expungeHandler: Handler = ({ session }) => expungeSelected(session);
