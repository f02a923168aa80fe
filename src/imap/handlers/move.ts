// MOVE and UID MOVE (RFC 6851, RFC 9051 6.4.8): [COPYUID] in an untagged OK
// before the EXPUNGE responses. The source needs the "t" and "e" rights and
// the target "i" (RFC 4314 4, RFC 6851 3.3). Within one repository (and with
// every flag kept) one transaction; across repositories the copy commits
// first and only then are the source messages expunged (../cross-copy.ts).

import { compressUids } from '../../protocol/imap/sequence.js';
import type { Response } from '../../protocol/imap/response.js';
import type { CopyResult, ExpungeResult } from '../../mail/types.js';
import type { CommandOf, Handler } from '../context.js';
import { expungeMoved } from '../cross-copy.js';
import { expungeCompleted, expungeResponses } from '../expunge-report.js';
import { sameMailbox } from '../mailbox-access.js';
import { mayChangeAllFlags, requireDeleteAndExpunge } from '../rights.js';
import { MailboxView } from '../view.js';
import { copySelected, targetMailbox } from './copy.js';

export const moveHandler: Handler<CommandOf<'MOVE'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const uids = view.uidsForSet(command.uid, command.set, session.savedSearch);
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  requireDeleteAndExpunge(sel.ref.rights, 'MOVE');
  const target = await targetMailbox(session, command.mailbox);
  if (uids.length === 0) return { status: 'OK', text: 'No messages moved' };
  let result: CopyResult & { expunged: ExpungeResult };
  if (target.repository === sel.ref.repository && mayChangeAllFlags(target.rights)) {
    result = await deps.store.moveMessages(sel.mailbox.id, MailboxView.toUidSet(uids), target.mailbox.id);
    if (result.targetUids.length === 0) return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'The messages were expunged' };
  } else {
    const copied = await copySelected(session, sel, uids, target);
    if (!copied) return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'The messages were expunged' };
    result = { ...copied, expunged: await expungeMoved(sel.ref.repository, sel.mailbox, copied.sourceUids) };
  }
  const intoSelected = sameMailbox(target, sel.ref);
  const gone = view.expungeOwn(result.expunged.uids);
  // Into another mailbox the view holds all of the source's change (not the new messages of a move into itself).
  if (!intoSelected && result.expunged.uids.length > 0) view.absorbOwnModseqs([result.expunged.highestModseq]);
  session.publishChange(target, result.highestModseq);
  session.publishChange(sel.ref, result.expunged.highestModseq);
  // RFC 9051 6.4.8: moving into the selected mailbox itself is allowed (new UIDs, then EXISTS).
  if (intoSelected) view.dirty = true;
  const out: Response[] = [
    {
      kind: 'status',
      status: 'OK',
      code: { kind: 'COPYUID', uidValidity: result.uidValidity, source: compressUids(result.sourceUids), target: compressUids(result.targetUids) },
      text: 'Moved',
    },
  ];
  // With QRESYNC: VANISHED instead of EXPUNGE (RFC 7162 3.2.10, RFC 6851 4.3).
  out.push(...expungeResponses(session, gone));
  await session.send(...out);
  // RFC 6851 4.4: with CONDSTORE the new HIGHESTMODSEQ.
  return expungeCompleted(session, 'MOVE completed', result.expunged.highestModseq, command.uid);
};
