// COPY and UID COPY (RFC 9051 6.4.7) with [COPYUID] (RFC 4315).

import { compressUids } from '../../protocol/imap/sequence.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import type { Session } from '../session.js';
import { MailboxView } from '../view.js';

/** The target of COPY/MOVE: missing -> [TRYCREATE] (RFC 9051 6.4.7). */
export async function targetMailbox(session: Session, wire: string) {
  const mailbox = await session.deps.store.getMailbox(session.account!.id, session.fromWire(wire));
  if (!mailbox) throw new CommandError({ status: 'NO', code: { kind: 'TRYCREATE' }, text: 'Mailbox does not exist' });
  if (!mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  return mailbox;
}

export const copyHandler: Handler<CommandOf<'COPY'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const uids = command.uid ? sel.view.uidsForUidSet(command.set, session.savedSearch) : sel.view.uidsForSeqSet(command.set, session.savedSearch);
  const target = await targetMailbox(session, command.mailbox);
  if (uids.length === 0) return { status: 'OK', text: 'No messages copied' };
  const result = await deps.store.copyMessages(sel.mailbox.id, MailboxView.toUidSet(uids), target.id);
  if (result.targetUids.length === 0) {
    return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'The messages were expunged' };
  }
  session.publishChange(target.id, result.highestModseq);
  if (target.id === sel.mailbox.id) sel.view.dirty = true;
  return {
    status: 'OK',
    code: { kind: 'COPYUID', uidValidity: result.uidValidity, source: compressUids(result.sourceUids), target: compressUids(result.targetUids) },
    text: 'COPY completed',
  };
};
