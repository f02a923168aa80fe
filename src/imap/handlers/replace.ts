// REPLACE and UID REPLACE (RFC 8508): append the new message to the named
// mailbox and remove the given message from the selected one, as one store
// transaction within a repository (../append-commit.ts). The client sees one
// action: the untagged OK [APPENDUID] comes first (RFC 8508 4.3), then
// EXISTS when the target is the selected mailbox, then EXPUNGE (or VANISHED
// with QRESYNC, RFC 8508 4.5); the tagged OK carries HIGHESTMODSEQ with
// CONDSTORE, as after UID EXPUNGE. The append is the one APPEND path
// (CATENATE and UTF8 included); the original is expunged alone, whatever the
// other \Deleted messages.

import { compressUids } from '../../protocol/imap/sequence.js';
import { stageAppendMessage } from '../append-message.js';
import type { CommandOf, Handler } from '../context.js';
import { commitReplace } from '../append-commit.js';
import { expungeCompleted, expungeResponses } from '../expunge-report.js';
import { sameMailbox } from '../mailbox-access.js';
import { requireDeleteAndExpunge } from '../rights.js';
import { targetMailbox } from './copy.js';

export const replaceHandler: Handler<CommandOf<'REPLACE'>> = async ({ session, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const name = command.uid ? 'UID REPLACE' : 'REPLACE';
  const set = { kind: 'set' as const, ranges: [{ start: command.id, end: command.id }] };
  const [uid] = view.uidsForSet(command.uid, set, []);
  if (uid === undefined) return { status: 'NO', text: 'No such message' };
  if (sel.readOnly) return { status: 'NO', code: { kind: 'READ-ONLY' }, text: 'Mailbox is read-only' };
  // The original is expunged: RFC 4314 "t" and "e" on the selected mailbox.
  requireDeleteAndExpunge(sel.ref.rights, 'REPLACE');
  const target = await targetMailbox(session, command.mailbox);
  const msg = command.message;
  const staged = await stageAppendMessage(session, session.home, msg);
  const { appended, expunged } = await commitReplace(session, sel.ref, uid, target, {
    staged,
    flags: msg.flags.filter((f) => f !== '\\Recent'),
    internalDate: msg.date ?? new Date(),
  });
  await session.send({
    kind: 'status',
    status: 'OK',
    code: { kind: 'APPENDUID', uidValidity: appended.uidValidity, uids: compressUids(appended.uids) },
    text: 'Replacement Message ready',
  });
  if (sameMailbox(target, sel.ref)) {
    // The new message's EXISTS before the EXPUNGE, as RFC 8508 3.2 shows; other expunges stay held.
    view.expectOwnExpunge(uid);
    view.dirty = true;
    await session.releaseUpdates(false, false);
  }
  const gone = expungeResponses(session, view.expungeOwn(expunged.uids));
  if (gone.length > 0) await session.send(...gone);
  // RFC 7162 3.2.9 via RFC 8508 4.5: with CONDSTORE the new HIGHESTMODSEQ.
  return expungeCompleted(session, `${name} completed`, expunged.highestModseq, command.uid);
};
