// The one ingest pipeline (LMTP, APPEND, cross-repository COPY, `petrel
// deliver`): stream the bytes into the BlobStore and the indexer in one pass,
// then insert the metadata, then publish the change.
//
// Crash safety: the blob is committed (fsynced, renamed into place) before the
// metadata transaction starts, so a committed message never lacks its body.
// (Bodies in PostgreSQL: the blob's commit is asynchronous and the
// metadata's, in the same WAL after it, makes both durable; an append whose
// body a fail-over lost in between fails: see BlobWriter.commit. A small
// body staged with `pendingBody` (LMTP, `petrel deliver`) is stored by the
// append's own statement instead, in the same transaction as its message.)
// A crash between the two leaves an orphan blob no row refers to, which the
// garbage collector's orphan sweep removes after its grace period
// (src/blob/gc.ts). The grace period must be longer than the time between
// stage() and commit(): a staged blob that was deduplicated against an
// unreferenced blob is only protected from the GC for that long.

import { createHash } from 'node:crypto';
import { MessageIndexer } from '../mime/indexer.js';
import { MailError, isMailError } from './errors.js';
import type { BlobStore, EventBus, IngestPipeline, MailStore, PendingBody, StagedMessage } from './ports.js';
import { DEFAULT_REPOSITORY } from './repository.js';
import type { AccountId, AppendItem, AppendResult, BlobId, MailboxInfo } from './types.js';

export interface IngestDeps {
  store: MailStore;
  blobs: BlobStore;
  events: EventBus;
  /** Default limit of stage() when the caller gives none, octets. */
  maxMessageSize: number;
  /** Name of the repository the store belongs to, for change events. Default DEFAULT_REPOSITORY. */
  repository?: string;
}

export class Ingest implements IngestPipeline {
  private readonly repository: string;

  constructor(private readonly deps: IngestDeps) {
    this.repository = deps.repository ?? DEFAULT_REPOSITORY;
  }

  /**
   * Each chunk goes to the indexer and then to the blob writer; the next
   * chunk is pulled only when the writer has accepted this one (backpressure
   * reaches the source). On TOO_BIG the partial blob is discarded at once and
   * the rest of the source is read and dropped, so a protocol stream (an LMTP
   * DATA stream, an APPEND literal) is left at its end, not half-read.
   * `pendingBody`: a small body may be left for the append to store (the
   * BlobWriter's commitPending, if it has one); the caller must then commit
   * the message, or store the body before it is read.
   */
  async stage(source: AsyncIterable<Buffer>, maxSize?: number, options: { pendingBody?: boolean } = {}): Promise<StagedMessage> {
    const limit = maxSize ?? this.deps.maxMessageSize;
    const writer = this.deps.blobs.beginWrite();
    const indexer = new MessageIndexer();
    const iterator = source[Symbol.asyncIterator]();
    let size = 0;
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        const chunk = next.value;
        size += chunk.length;
        if (size > limit) {
          await writer.abort();
          await drain(iterator);
          throw new MailError('TOO_BIG', `message larger than ${limit} octets`);
        }
        indexer.write(chunk);
        await writer.write(chunk);
      }
      const index = indexer.finish();
      const { blobId, size: stored, pending }: { blobId: BlobId; size: number; pending?: PendingBody } =
        options.pendingBody === true && writer.commitPending ? await writer.commitPending() : await writer.commit();
      const staged: StagedMessage = { blobId, size: stored, index, headerEightBit: indexer.headerEightBit };
      if (pending) staged.pendingBody = pending;
      return staged;
    } catch (err) {
      await writer.abort();
      if (!isMailError(err, 'TOO_BIG')) await iterator.return?.().catch(() => undefined);
      throw err;
    }
  }

  async commit(
    mailbox: MailboxInfo,
    messages: Array<{ staged: StagedMessage; flags: string[]; internalDate: Date }>,
  ): Promise<AppendResult> {
    const items = [];
    for (const m of messages) {
      const { blobId, index, pendingBody } = m.staged;
      const item: AppendItem = { blobId, index, flags: m.flags, internalDate: m.internalDate };
      // Only a body of this repository's blob store may be stored by its mail store's append, and only by a store that does.
      if (pendingBody?.owner === this.deps.blobs && this.deps.store.storesPendingBodies === true) item.pendingBody = pendingBody;
      else await pendingBody?.store();
      items.push(item);
    }
    const result = await this.deps.store.appendMessages(mailbox.id, items);
    if (result.uids.length > 0) {
      this.deps.events.publish({
        kind: 'mailbox-changed',
        repository: this.repository,
        accountId: mailbox.accountId,
        mailboxId: mailbox.id,
        modseq: result.highestModseq,
      });
    }
    return result;
  }

  async deliver(
    accountId: AccountId,
    mailboxName: string,
    source: AsyncIterable<Buffer>,
    options: { flags?: string[]; internalDate?: Date; maxSize?: number } = {},
  ): Promise<AppendResult & { mailbox: MailboxInfo }> {
    // Resolve the mailbox first: nothing is stored for a missing one.
    const mailbox = await this.deliveryMailbox(accountId, mailboxName);
    const staged = await this.stage(source, options.maxSize, { pendingBody: true });
    const result = await this.commit(mailbox, [
      { staged, flags: options.flags ?? [], internalDate: options.internalDate ?? new Date() },
    ]);
    // The mailbox as it is after the append (uidNext, highestModseq moved).
    return { ...result, mailbox: (await this.deps.store.getMailboxById(mailbox.id)) ?? mailbox };
  }

  private async deliveryMailbox(accountId: AccountId, name: string): Promise<MailboxInfo> {
    const { store, events } = this.deps;
    const found = await store.getMailbox(accountId, name);
    if (found) {
      if (!found.selectable) throw new MailError('NOT_SELECTABLE', `mailbox ${found.name} is not selectable`);
      return found;
    }
    if (name.toLowerCase() !== 'inbox') throw new MailError('NOT_FOUND', `mailbox ${name} does not exist`);
    try {
      const created = await store.createMailbox(accountId, 'INBOX');
      events.publish({ kind: 'mailboxes-changed', repository: this.repository, accountId });
      return created;
    } catch (err) {
      // Another delivery created it first.
      if (!isMailError(err, 'ALREADY_EXISTS')) throw err;
      const again = await store.getMailbox(accountId, 'INBOX');
      if (!again) throw err;
      return again;
    }
  }
}

async function drain(iterator: AsyncIterator<Buffer>): Promise<void> {
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
  }
}

/** The content address of a message held in memory (SHA-256, hex: the id a blob writer's commit gives it). */
export function blobAddress(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Index and content address of a message held in memory, as Ingest.stage() would make them. */
export function stageInMemory(bytes: Buffer, blobId = blobAddress(bytes)): StagedMessage {
  const indexer = new MessageIndexer();
  indexer.write(bytes);
  const index = indexer.finish();
  return { blobId, size: bytes.length, index, headerEightBit: indexer.headerEightBit };
}
