// The metadata commit of APPEND and REPLACE. Message literals are staged in
// the account's own repository (they arrive before the command runs); a
// target in another repository (a shared or another user's mailbox) gets the
// bodies copied into its blob store first. Only the flags the user may set
// there are stored (RFC 4314 4: never a failure for the others).

import type { StagedMessage } from '../mail/ports.js';
import { copyStaged } from '../mail/transfer.js';
import type { AppendResult } from '../mail/types.js';
import type { ExistingRef } from './mailbox-access.js';
import { permittedFlags } from './rights.js';
import type { Session } from './session.js';

export async function commitAppend(
  session: Session,
  target: ExistingRef,
  items: Array<{ staged: StagedMessage; flags: string[]; internalDate: Date }>,
): Promise<AppendResult> {
  const from = session.home.repository;
  const ready = [];
  for (const item of items) {
    ready.push({
      staged: await copyStaged(from, item.staged, target.repository),
      flags: permittedFlags(target.rights, item.flags),
      internalDate: item.internalDate,
    });
  }
  return target.repository.ingest.commit(target.mailbox, ready);
}
