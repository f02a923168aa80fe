// COPY and UID COPY (RFC 9051 6.4.7) with [COPYUID] (RFC 4315). The target
// needs the "i" right, and keeps only the flags the user may set there
// (RFC 4314 4); it may be in another repository (../cross-copy.ts).

import type { CopyResult } from '../../mail/types.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import { CommandError, type CommandOf, type Handler, type SelectedMailbox } from '../context.js';
import { copyAcross } from '../cross-copy.js';
import { sameMailbox, type ExistingRef } from '../mailbox-access.js';
import { mayChangeAllFlags, permittedFlags } from '../rights.js';
import type { Session } from '../session.js';
import { MailboxView } from '../view.js';

export type TargetRef = ExistingRef;

/** The target of COPY/MOVE/APPEND: missing -> [TRYCREATE] (RFC 9051 6.4.7), "i" right needed. */
export async function targetMailbox(session: Session, wire: string): Promise<TargetRef> {
  const ref = await session.access.require(session.fromWire(wire), 'i', { target: true });
  if (!ref.mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  return ref;
}

/**
 * Copies `uids` of the selected mailbox into `target`: one store call when
 * both are in one repository and every flag may be kept, else through the
 * ingest pipeline of the target. Null when all were expunged meanwhile.
 */
export async function copySelected(session: Session, sel: SelectedMailbox, uids: number[], target: TargetRef): Promise<CopyResult | null> {
  const set = MailboxView.toUidSet(uids);
  if (target.repository === sel.ref.repository && mayChangeAllFlags(target.rights)) {
    const result = await target.repository.store.copyMessages(sel.mailbox.id, set, target.mailbox.id);
    return result.targetUids.length === 0 ? null : result;
  }
  const copied = await copyAcross(sel.ref.repository, sel.mailbox, set, target.repository, target.mailbox, (flags) =>
    permittedFlags(target.rights, flags),
  );
  if (!copied) return null;
  return {
    uidValidity: copied.target.uidValidity,
    sourceUids: copied.sourceUids,
    targetUids: copied.target.uids,
    highestModseq: copied.target.highestModseq,
  };
}

export const copyHandler: Handler<CommandOf<'COPY'>> = async ({ session, command }) => {
  const sel = session.selected!;
  const uids = sel.view.uidsForSet(command.uid, command.set, session.savedSearch);
  const target = await targetMailbox(session, command.mailbox);
  if (uids.length === 0) return { status: 'OK', text: 'No messages copied' };
  const result = await copySelected(session, sel, uids, target);
  if (!result) return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'The messages were expunged' };
  session.publishChange(target, result.highestModseq);
  if (sameMailbox(target, sel.ref)) sel.view.dirty = true;
  return {
    status: 'OK',
    code: { kind: 'COPYUID', uidValidity: result.uidValidity, source: compressUids(result.sourceUids), target: compressUids(result.targetUids) },
    text: 'COPY completed',
  };
};
