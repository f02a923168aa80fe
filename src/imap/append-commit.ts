// The metadata commit of APPEND and REPLACE. Message literals are staged in
// the account's own repository (they arrive before the command runs); a
// target in another repository (a shared or another user's mailbox) gets the
// bodies copied into its blob store first. Only the flags the user may set
// there are stored (RFC 4314 4: never a failure for the others).

import type { StagedMessage } from '../mail/ports.js';
import { copyStaged } from '../mail/transfer.js';
import type { AppendResult, ExpungeResult } from '../mail/types.js';
import { expungeMoved } from './cross-copy.js';
import type { ExistingRef } from './mailbox-access.js';
import { permittedFlags } from './rights.js';
import type { Session } from './session.js';

export interface AppendCommitItem {
  staged: StagedMessage;
  flags: string[];
  internalDate: Date;
}

/** A staged message ready for `target`: its body in the target's blob store, only the flags allowed there. */
async function readyFor(session: Session, target: ExistingRef, item: AppendCommitItem): Promise<AppendCommitItem> {
  return {
    staged: await copyStaged(session.home.repository, item.staged, target.repository),
    flags: permittedFlags(target.rights, item.flags),
    internalDate: item.internalDate,
  };
}

export async function commitAppend(session: Session, target: ExistingRef, items: AppendCommitItem[]): Promise<AppendResult> {
  const ready = [];
  for (const item of items) ready.push(await readyFor(session, target, item));
  return target.repository.ingest.commit(target.mailbox, ready);
}

/**
 * REPLACE (RFC 8508): `item` into `target`, the live message `uid` out of
 * `source`. Within one repository one store transaction, with quota on the
 * net change (3.4); EXPUNGED, with nothing stored, if the original went
 * meanwhile. Across repositories the append commits first and then exactly
 * the original is expunged, as a MOVE across repositories does.
 */
export async function commitReplace(
  session: Session,
  source: ExistingRef,
  uid: number,
  target: ExistingRef,
  item: AppendCommitItem,
): Promise<{ appended: AppendResult; expunged: ExpungeResult }> {
  if (target.repository !== source.repository) {
    const appended = await commitAppend(session, target, [item]);
    const expunged = await expungeMoved(source.repository, source.mailbox, [uid]);
    session.publishChange(source, expunged.highestModseq);
    return { appended, expunged };
  }
  const { staged, flags, internalDate } = await readyFor(session, target, item);
  const result = await target.repository.store.replaceMessage(source.mailbox.id, uid, target.mailbox.id, {
    blobId: staged.blobId,
    index: staged.index,
    flags,
    internalDate,
  });
  session.publishChange(target, result.appended.highestModseq);
  session.publishChange(source, result.expunged.highestModseq);
  return result;
}
