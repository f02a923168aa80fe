// MOVE and UID MOVE (RFC 6851, RFC 9051 6.4.8): [COPYUID] in an untagged OK
// before the EXPUNGE responses.

import { compressUids } from '../../protocol/imap/sequence.js';
import type { Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler } from '../context.js';
import { MailboxView } from '../view.js';
import { targetMailbox } from './copy.js';
import { expungeResponses } from './expunge.js';

export const moveHandler: Handler<CommandOf<'MOVE'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const uids = command.uid ? view.uidsForUidSet(command.set, session.savedSearch) : view.uidsForSeqSet(command.set, session.savedSearch);
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  const target = await targetMailbox(session, command.mailbox);
  if (uids.length === 0) return { status: 'OK', text: 'No messages moved' };
  const result = await deps.store.moveMessages(sel.mailbox.id, MailboxView.toUidSet(uids), target.id);
  if (result.targetUids.length === 0) return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'The messages were expunged' };
  session.publishChange(target.id, result.highestModseq);
  session.publishChange(sel.mailbox.id, result.expunged.highestModseq);
  // RFC 9051 6.4.8: moving into the selected mailbox itself is allowed (new UIDs, then EXISTS).
  if (target.id === sel.mailbox.id) view.dirty = true;
  const out: Response[] = [
    {
      kind: 'status',
      status: 'OK',
      code: { kind: 'COPYUID', uidValidity: result.uidValidity, source: compressUids(result.sourceUids), target: compressUids(result.targetUids) },
      text: 'Moved',
    },
  ];
  // With QRESYNC: VANISHED instead of EXPUNGE (RFC 7162 3.2.10, RFC 6851 4.3).
  out.push(...expungeResponses(session, view.expungeOwn(result.expunged.uids)));
  await session.send(...out);
  if (session.condstore) {
    // RFC 6851 4.4: the new HIGHESTMODSEQ, after catching up with the log so it covers only what was told.
    await session.releaseUpdates(command.uid, true);
    const modseq = session.selected?.view.safeModseq ?? result.expunged.highestModseq;
    return { status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq }, text: 'MOVE completed' };
  }
  return { status: 'OK', text: 'MOVE completed' };
};
