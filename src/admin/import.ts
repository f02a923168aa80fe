// `petrel import maildir`: moves an existing Maildir (cur/ and new/) into one
// mailbox of a user. Every BATCH of messages is committed in one transaction,
// so a batch is all-or-nothing. With the file blob store (the embedded
// server's), a batch's files are read whole a few at a time, indexed and
// hashed in memory, and their blobs made durable together before the commit
// (FsBlobStore.storeBatch: two file-system flushes per batch instead of two
// fsyncs per message), while the next batch is read; other stores, and files over
// 1 MiB, go through the ingest pipeline's stage() one by one. Messages whose
// bytes the mailbox already holds are not imported again, so re-running an
// import that stopped imports the rest.

import * as fs from 'node:fs';
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isMailError } from '../mail/errors.js';
import { blobAddress, stageInMemory } from '../mail/ingest.js';
import { forEachBounded } from '../util/for-each-bounded.js';
import type { BlobStore, IngestPipeline, MailStore, StagedMessage } from '../mail/ports.js';
import type { Repository } from '../mail/repository.js';
import type { MailboxInfo } from '../mail/types.js';
import { accountRepository } from './account-repository.js';
import { AdminError, defineCommand, EXIT } from './types.js';

/** Messages per commit (one transaction each). */
const BATCH = 500;
/** Files read (or staged) at the same time. */
const READ_PARALLEL = 16;
/** UIDs per read when listing what the mailbox already holds. */
const BLOB_COUNT_RANGE = 50_000;
/** Files up to this size are read in one call; larger ones are streamed. */
const READ_WHOLE_MAX = 1024 * 1024;

/** Maildir info flags (the letters after ":2,") and the IMAP flags they stand for. */
const MAILDIR_FLAGS: Record<string, string> = {
  D: '\\Draft',
  F: '\\Flagged',
  P: '$Forwarded',
  R: '\\Answered',
  S: '\\Seen',
  T: '\\Deleted',
};

export interface MaildirEntry {
  file: string;
  flags: string[];
}

/**
 * IMAP flags of a Maildir file name: "1700000000.M1P2.host:2,FRS" -> \Flagged
 * \Answered \Seen. Lowercase letters are Dovecot keywords, by their index in
 * the maildir's dovecot-keywords file (a = 0); unknown letters are ignored.
 */
export function maildirFlags(name: string, keywords: ReadonlyMap<string, string> = new Map()): string[] {
  const info = name.lastIndexOf(':2,');
  if (info < 0) return [];
  const out: string[] = [];
  for (const letter of name.slice(info + 3)) {
    const flag = MAILDIR_FLAGS[letter] ?? keywords.get(letter);
    if (flag && !out.includes(flag)) out.push(flag);
  }
  return out;
}

/** dovecot-keywords ("0 $Label1" per line) -> letter -> keyword; empty when absent. */
async function dovecotKeywords(maildir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = await readFile(join(maildir, 'dovecot-keywords'), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line.trim());
    if (m && Number(m[1]) < 26) out.set(String.fromCharCode(0x61 + Number(m[1])), m[2]!);
  }
  return out;
}

/** Delivery order of Maildir names: by the leading seconds, then the rest (as Dovecot assigns UIDs). */
function compareNames(a: string, b: string): number {
  const ta = Number.parseInt(a, 10);
  const tb = Number.parseInt(b, 10);
  if (Number.isFinite(ta) && Number.isFinite(tb) && ta !== tb) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The messages of a Maildir (cur/ and new/, tmp/ is ignored), in delivery
 * order. NOT a Maildir: AdminError. Not stat()ed here: the import looks at
 * each file when it opens it (a million stat calls up front cost a minute).
 */
export async function listMaildir(maildir: string): Promise<MaildirEntry[]> {
  const keywords = await dovecotKeywords(maildir);
  const names: Array<{ dir: string; name: string }> = [];
  let found = 0;
  for (const dir of ['cur', 'new']) {
    let entries: string[];
    try {
      entries = await readdir(join(maildir, dir));
    } catch {
      continue;
    }
    found++;
    for (const name of entries) if (!name.startsWith('.')) names.push({ dir, name });
  }
  if (found === 0) throw new AdminError(`${maildir} is not a Maildir (no cur/ or new/ directory)`, EXIT.USAGE);
  names.sort((x, y) => compareNames(x.name, y.name));
  // Messages in new/ have not been seen by any client, whatever their name says.
  return names.map((n) => ({ file: join(maildir, n.dir, n.name), flags: n.dir === 'new' ? [] : maildirFlags(n.name, keywords) }));
}

/** A Maildir file as opened: its internal date (mtime) and size, and its bytes when it is small enough to read whole. */
interface OpenedFile {
  internalDate: Date;
  size: number;
  bytes: Buffer | null;
}

/**
 * open, fstat, read, close on the callback API (a FileHandle costs several
 * times the CPU per small file); null when the name is not a regular file
 * or has gone (as when listed and not found).
 */
function readMaildirFile(file: string, wholeMax: number): Promise<OpenedFile | null> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r', (err, fd) => {
      if (err) return err.code === 'ENOENT' ? resolve(null) : reject(err);
      const finish = (error: Error | null, value: OpenedFile | null) =>
        fs.close(fd, (closeErr) => (error || closeErr ? reject(error ?? closeErr) : resolve(value)));
      fs.fstat(fd, (statErr, st) => {
        if (statErr) return finish(statErr, null);
        if (!st.isFile()) return finish(null, null);
        const opened: OpenedFile = { internalDate: st.mtime, size: st.size, bytes: null };
        if (st.size > wholeMax) return finish(null, opened);
        const buf = Buffer.allocUnsafe(st.size);
        const readAt = (off: number): void => {
          if (off === buf.length) return finish(null, { ...opened, bytes: buf });
          fs.read(fd, buf, off, buf.length - off, off, (readErr, n) => {
            if (readErr) return finish(readErr, null);
            if (n === 0) return finish(null, { ...opened, size: off, bytes: buf.subarray(0, off) }); // shrank meanwhile
            readAt(off + n);
          });
        };
        readAt(0);
      });
    });
  });
}

async function* oneChunk(bytes: Buffer): AsyncIterable<Buffer> {
  yield bytes;
}

async function* fileBytes(file: string): AsyncIterable<Buffer> {
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
}

export interface ImportResult {
  imported: number;
  skipped: number;
  /** Messages whose bytes the mailbox already held (an earlier run of the same import): not imported again. */
  alreadyThere: number;
  firstUid: number | null;
  lastUid: number | null;
}

/** A message of the batch: staged, or (read whole, file blob store) only hashed until it is known to be new (staged null). */
interface ReadMessage {
  entry: MaildirEntry;
  internalDate: Date;
  blobId: string;
  staged: StagedMessage | null;
  /** The bytes, when read whole. */
  bytes: Buffer | null;
}

/** A message of the batch to import, staged. */
interface BatchMessage {
  entry: MaildirEntry;
  internalDate: Date;
  staged: StagedMessage;
  /** The bytes, when read whole: their blob is stored with the batch's (BlobStore.storeBatch). */
  bytes: Buffer | null;
}

/**
 * How many live messages of the mailbox have each blob (content address):
 * a message of the Maildir whose bytes are already there is not imported
 * again, as many times as the mailbox holds it. Read in UID ranges so a
 * million-message mailbox is never listed in one go.
 */
async function blobCounts(store: MailStore, mailbox: MailboxInfo): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const current = await store.getMailboxById(mailbox.id);
  const last = (current ?? mailbox).uidNext - 1;
  for (let start = 1; start <= last; start += BLOB_COUNT_RANGE) {
    const rows = await store.fetchMessages(mailbox.id, [{ start, end: Math.min(last, start + BLOB_COUNT_RANGE - 1) }]);
    for (const r of rows) if (r.expungedModseq === null) counts.set(r.blobId, (counts.get(r.blobId) ?? 0) + 1);
  }
  return counts;
}

/**
 * Imports `entries` into `mailbox`, BATCH messages per commit. Messages over
 * maxSize are skipped (reported through `warn`); messages whose bytes the
 * mailbox already holds are not imported again (re-running an import that
 * stopped part-way imports the rest); any other failure stops the import,
 * leaving the batches committed so far.
 *
 * With the file blob store, a batch's files are read whole (a few at a time),
 * indexed and hashed in memory, and their blobs made durable together
 * (BlobStore.storeBatch) before the batch's one metadata commit; larger files,
 * and other blob stores, go through the ingest pipeline's stage() one by one.
 */
export async function importEntries(
  ingest: IngestPipeline,
  mailbox: MailboxInfo,
  entries: readonly MaildirEntry[],
  opts: {
    maxSize: number;
    warn: (text: string) => void;
    onBatch?: (result: ImportResult) => void;
    /** The repository's blob store: the batch path when it is the file store. */
    blobs?: BlobStore;
    /** The repository's store: messages already in the mailbox are skipped. */
    store?: MailStore;
  },
): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, skipped: 0, alreadyThere: 0, firstUid: null, lastUid: null };
  // A store with a batch path (the file blob store) takes each batch's blobs from memory at once.
  const batchStore = opts.blobs?.storeBatch ? opts.blobs : null;
  const existing = opts.store ? await blobCounts(opts.store, mailbox) : new Map<string, number>();
  const tooBig = (entry: MaildirEntry) => {
    opts.warn(`skipped ${entry.file}: larger than ${opts.maxSize} octets (limits.max_message_size)`);
    result.skipped++;
  };
  const readBatch = async (batch: readonly MaildirEntry[]): Promise<BatchMessage[]> => {
    const read: Array<ReadMessage | null> = new Array(batch.length).fill(null);
    await forEachBounded(batch, READ_PARALLEL, async (entry, k) => {
      const opened = await readMaildirFile(entry.file, READ_WHOLE_MAX);
      if (!opened) return;
      if (opened.size > opts.maxSize) return tooBig(entry);
      const { bytes, internalDate } = opened;
      if (bytes && batchStore) {
        // Indexed below, once known not to be in the mailbox already (a re-run skips most).
        read[k] = { entry, internalDate, blobId: blobAddress(bytes), staged: null, bytes };
        return;
      }
      try {
        const source = bytes ? oneChunk(bytes) : fileBytes(entry.file);
        const staged = await ingest.stage(source, opts.maxSize);
        read[k] = { entry, internalDate, blobId: staged.blobId, staged, bytes: null };
      } catch (err) {
        if (!isMailError(err, 'TOO_BIG')) throw err;
        tooBig(entry);
      }
    });
    const messages: BatchMessage[] = [];
    for (const m of read) {
      if (!m) continue;
      const held = existing.get(m.blobId) ?? 0;
      if (held > 0) {
        existing.set(m.blobId, held - 1);
        result.alreadyThere++;
        continue;
      }
      const staged = m.staged ?? stageInMemory(m.bytes!, m.blobId);
      messages.push({ entry: m.entry, internalDate: m.internalDate, staged, bytes: m.bytes });
    }
    return messages;
  };
  const makeDurable = async (messages: BatchMessage[]): Promise<BatchMessage[]> => {
    await batchStore?.storeBatch!(messages.flatMap((m) => (m.bytes ? [{ blobId: m.staged.blobId, bytes: m.bytes }] : [])));
    return messages;
  };
  const commit = async (messages: BatchMessage[]): Promise<void> => {
    if (messages.length === 0) return;
    const committed = await ingest.commit(
      mailbox,
      messages.map((m) => ({ staged: m.staged, flags: m.entry.flags, internalDate: m.internalDate })),
    );
    result.imported += committed.uids.length;
    result.firstUid ??= committed.uids[0] ?? null;
    result.lastUid = committed.uids[committed.uids.length - 1] ?? result.lastUid;
    opts.onBatch?.(result);
  };
  // Two stages: the next batch is read and indexed while this one's blobs
  // are flushed (syncfs waits on the disk, not on this thread); commits stay
  // in order, each after its own batch's blobs are durable.
  let durable: Promise<BatchMessage[]> | null = null;
  for (let start = 0; start < entries.length; start += BATCH) {
    let messages: BatchMessage[];
    try {
      messages = await readBatch(entries.slice(start, start + BATCH));
    } catch (err) {
      // The batch before is whole: commit it, as if this one had come later.
      if (durable) await commit(await durable);
      throw err;
    }
    if (durable) await commit(await durable);
    durable = makeDurable(messages);
    durable.catch(() => {}); // awaited on the next turn or below
  }
  if (durable) await commit(await durable);
  return result;
}

/** The target mailbox; created (with its parents) when missing. */
async function targetMailbox(repo: Repository, accountId: number, name: string): Promise<MailboxInfo> {
  const found = await repo.store.getMailbox(accountId, name);
  if (found) {
    if (!found.selectable) throw new AdminError(`mailbox ${JSON.stringify(name)} is not selectable`);
    return found;
  }
  const created = await repo.store.createMailbox(accountId, name);
  repo.events.publish({ kind: 'mailboxes-changed', repository: repo.name, accountId });
  return created;
}

export const importMaildir = defineCommand({
  name: ['import', 'maildir'],
  summary: `import a Maildir (cur/ and new/) into a user's mailbox, ${BATCH} messages per transaction; flags from the file names, internal date from the mtime; messages already there are skipped`,
  params: [
    { name: 'path', type: 'string', positional: true, required: true, description: 'the Maildir directory (holding cur/ and new/)' },
    { name: 'user', type: 'string', description: 'user name (required)' },
    { name: 'mailbox', type: 'string', description: 'target mailbox, created when missing (default INBOX)' },
  ] as const,
  async run(ctx, p) {
    if (!p.user) throw new AdminError('missing --user NAME', EXIT.USAGE);
    const entries = await listMaildir(p.path);
    const { account, repo } = await accountRepository(ctx, p.user);
    const mailbox = await targetMailbox(repo, account.id, p.mailbox ?? 'INBOX');
    let reported = 0;
    let sofar: ImportResult = { imported: 0, skipped: 0, alreadyThere: 0, firstUid: null, lastUid: null };
    const uids = (r: ImportResult) => (r.firstUid === null ? '' : ` (uids ${r.firstUid}:${r.lastUid})`);
    let result: ImportResult;
    try {
      result = await importEntries(repo.ingest, mailbox, entries, {
        maxSize: ctx.config.limits.maxMessageSize,
        warn: (text) => ctx.warn(text),
        blobs: repo.blobs,
        store: repo.store,
        // Each commit tells running servers itself (the pipeline publishes the change).
        onBatch: (r) => {
          sofar = { ...r };
          if (r.imported - reported >= 50_000) {
            reported = r.imported;
            ctx.warn(`imported ${r.imported} of ${entries.length} messages`);
          }
        },
      });
    } catch (err) {
      // Committed batches stay: say how far it got, so the operator can import the rest.
      const why = err instanceof Error ? err.message : String(err);
      throw new AdminError(
        `import stopped after ${sofar.imported} of ${entries.length} messages${uids(sofar)}: ${why} (run it again to import the rest)`,
      );
    }
    const skipped =
      (result.skipped > 0 ? `, ${result.skipped} skipped` : '') +
      (result.alreadyThere > 0 ? `, ${result.alreadyThere} already there` : '');
    return { kind: 'message', text: `imported ${result.imported} messages into ${p.user}/${mailbox.name}${uids(result)}${skipped}` };
  },
});
