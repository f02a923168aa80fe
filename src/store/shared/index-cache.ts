// Parsed message indexes are immutable (their blob is content-addressed), so
// a small in-process cache of them is always valid; forgetting a blob drops it.

import type { BlobId } from '../../mail/types.js';
import type { MessageIndex } from '../../mime/types.js';

export class IndexCache {
  private readonly entries = new Map<BlobId, MessageIndex>();

  constructor(private readonly capacity = 256) {}

  get(blobId: BlobId): MessageIndex | undefined {
    return this.entries.get(blobId);
  }

  /** Parses and remembers the stored JSON of an index. */
  add(blobId: BlobId, json: string): MessageIndex {
    return this.put(blobId, JSON.parse(json) as MessageIndex);
  }

  /** Remembers an index already in hand (an index is plain data: the same as its stored JSON parsed). */
  put(blobId: BlobId, index: MessageIndex): MessageIndex {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(blobId, index);
    return index;
  }

  delete(blobId: BlobId): void {
    this.entries.delete(blobId);
  }
}
