// Moving message bodies between repositories. Blobs are content-addressed,
// so when two repositories share a blob store nothing is copied; otherwise
// the bytes are streamed (never held whole) from one store into the other's
// ingest pipeline, which also re-indexes them.

import type { StagedMessage } from './ports.js';
import type { Repository } from './repository.js';

/** `staged`, made durable in `to`'s blob store as well. */
export async function copyStaged(from: Repository, staged: StagedMessage, to: Repository): Promise<StagedMessage> {
  if (from.blobs === to.blobs) return staged;
  await staged.pendingBody?.store(); // read from `from` below
  return to.ingest.stage(from.blobs.read(staged.blobId), Number.MAX_SAFE_INTEGER);
}
