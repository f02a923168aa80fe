// COPY and MOVE between repositories (a user's mailbox and a shared or
// another user's mailbox stored elsewhere). The bodies are copied into the
// target's blob store first (nothing when both use the same one), then the
// metadata is committed into the target in one transaction (COPYUID from its
// UIDs); only then is anything done to the source (MOVE: \Deleted and
// expunge of exactly the moved messages). A failure before the target
// commit leaves the source untouched.

import type { StagedMessage } from '../mail/ports.js';
import type { Repository } from '../mail/repository.js';
import { copyStaged } from '../mail/transfer.js';
import type { AppendResult, ExpungeResult, MailboxInfo, UidSet } from '../mail/types.js';

export interface CrossCopyResult {
  sourceUids: number[];
  target: AppendResult;
}

/** Copies the live messages among `uids` of `sourceMailbox` into `target` (flags and internal dates kept). */
export async function copyAcross(
  source: Repository,
  sourceMailbox: MailboxInfo,
  uids: UidSet,
  target: Repository,
  targetMailbox: MailboxInfo,
  flagsFor: (flags: string[]) => string[] = (f) => f,
): Promise<CrossCopyResult | null> {
  const metas = (await source.store.fetchMessages(sourceMailbox.id, uids)).filter((m) => m.expungedModseq === null);
  if (metas.length === 0) return null;
  const items: Array<{ staged: StagedMessage; flags: string[]; internalDate: Date }> = [];
  for (const meta of metas) {
    const staged: StagedMessage = { blobId: meta.blobId, size: meta.size, index: await source.store.getIndex(meta.blobId) };
    items.push({ staged: await copyStaged(source, staged, target), flags: flagsFor(meta.flags), internalDate: meta.internalDate });
  }
  const result = await target.ingest.commit(targetMailbox, items);
  return { sourceUids: metas.map((m) => m.uid), target: result };
}

/** MOVE's second half across repositories: expunges exactly `uids` from the source (they were copied). */
export async function expungeMoved(source: Repository, sourceMailbox: MailboxInfo, uids: number[]): Promise<ExpungeResult> {
  const set: UidSet = uids.map((u) => ({ start: u, end: u }));
  await source.store.storeFlags(sourceMailbox.id, set, 'add', ['\\Deleted']);
  return source.store.expunge(sourceMailbox.id, set);
}
