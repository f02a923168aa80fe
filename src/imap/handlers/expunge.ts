// EXPUNGE (RFC 9051 6.4.3): EXPUNGE responses, highest sequence number first;
// with QRESYNC one VANISHED response instead and the new HIGHESTMODSEQ in the
// tagged OK (RFC 7162 3.2.7, 3.2.9; ../expunge-report.ts).

import type { UidSet } from '../../mail/types.js';
import type { Handler, TaggedResult } from '../context.js';
import { expungeCompleted, expungeResponses } from '../expunge-report.js';
import type { Session } from '../session.js';

export async function expungeSelected(session: Session, uids?: UidSet): Promise<TaggedResult> {
  const sel = session.selected!;
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  if (!sel.ref.rights.includes('e')) return { status: 'NO', code: { kind: 'NOPERM' }, text: 'Permission denied (EXPUNGE needs the "e" right)' };
  const result = await session.deps.store.expunge(sel.mailbox.id, uids);
  const gone = sel.view.expungeOwn(result.uids);
  if (result.uids.length > 0) {
    sel.view.absorbOwnModseqs([result.highestModseq]);
    session.publishChange(sel.ref, result.highestModseq);
  }
  const out = expungeResponses(session, gone);
  for (let i = 0; i < out.length; i += 256) await session.send(...out.slice(i, i + 256));
  if (result.uids.length === 0) return { status: 'OK', text: 'EXPUNGE completed' };
  return expungeCompleted(session, 'EXPUNGE completed', result.highestModseq, true);
}

export const expungeHandler: Handler = ({ session }) => expungeSelected(session);
