// What a session that expunged messages itself (EXPUNGE, UID EXPUNGE, MOVE,
// REPLACE) tells its client: the EXPUNGE responses, highest sequence number
// first, or with QRESYNC/UIDONLY one VANISHED (RFC 7162 3.2.10, RFC 9586
// 3.4); and with CONDSTORE the new HIGHESTMODSEQ in the tagged OK (RFC 7162
// 3.2.9, RFC 6851 4.4, RFC 8508 4.5).

import { compressUids } from '../protocol/imap/sequence.js';
import type { Response } from '../protocol/imap/response.js';
import type { TaggedResult } from './context.js';
import { contextRemovals } from './search-context.js';
import type { Session } from './session.js';

/** The responses telling the client that these messages (MSN, UID, highest MSN first) are gone. */
export function expungeResponses(session: Session, gone: Array<{ seq: number; uid: number }>): Response[] {
  if (gone.length === 0) return [];
  // RFC 5267 4.3.4: update contexts learn of it first (REMOVEFROM before EXPUNGE).
  const removals = contextRemovals(session, gone);
  // VANISHED with QRESYNC (RFC 7162 3.2.10) and with UIDONLY (RFC 9586 3.4).
  if (session.qresync || session.uidOnly) return [...removals, { kind: 'VANISHED', earlier: false, uids: compressUids(gone.map((g) => g.uid)) }];
  return [...removals, ...gone.map((g): Response => ({ kind: 'EXPUNGE', seq: g.seq }))];
}

/**
 * The tagged OK `text` after the expunge responses went out. With CONDSTORE
 * it carries the new HIGHESTMODSEQ, read after catching up with the log so
 * it covers only what the client was told (`allowExpunge`: whether others'
 * expunges may go out now); `storeModseq` (the store's answer) serves when
 * no mailbox is selected any more. A view that absorbed the expunge
 * (MailboxView.absorbOwnModseqs) is caught up already: no read of the log.
 */
export async function expungeCompleted(session: Session, text: string, storeModseq: number, allowExpunge: boolean): Promise<TaggedResult> {
  if (!session.condstore) return { status: 'OK', text };
  const behind = (session.selected?.view.highestModseq ?? 0) < storeModseq;
  await session.releaseUpdates(allowExpunge, behind);
  const modseq = session.selected?.view.safeModseq ?? storeModseq;
  return { status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq }, text };
}
