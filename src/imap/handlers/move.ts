// MOVE and UID MOVE (RFC 6851, RFC 9051 6.4.8): [COPYUID] in an untagged OK
// before the EXPUNGE responses.

import { compressUids } from '../../protocol/imap/sequence.js';
import type { Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler } from '../context.js';
import { MailboxView } from '../view.js';
import { targetMailbox } from './copy.js';

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
  for (const seq of view.applyOwnExpunge(result.expunged.uids)) out.push({ kind: 'EXPUNGE', seq });
  await session.send(...out);
  return { status: 'OK', text: 'MOVE completed' };
};
