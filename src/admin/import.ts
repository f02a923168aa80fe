// `petrel import maildir`: moves an existing Maildir (cur/ and new/) into one
// mailbox of a user through the ingest pipeline. Blobs are staged a few at a
// time in parallel (their fsyncs overlap), and every BATCH of them is
// committed in one transaction, so a batch is all-or-nothing and an import of
// a million messages takes minutes, not the hours one delivery per message would.

import { readFile, readdir, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { isMailError } from '../mail/errors.js';
import type { IngestPipeline, StagedMessage } from '../mail/ports.js';
import type { Repository } from '../mail/repository.js';
import type { MailboxInfo } from '../mail/types.js';
import { accountRepository } from './account-repository.js';
import { AdminError, defineCommand, EXIT } from './types.js';

/** Messages per commit (one transaction each). */
const BATCH = 500;
/** Blobs staged at the same time. */
const STAGE_PARALLEL = 32;
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
  internalDate: Date;
  size: number;
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

/** The messages of a Maildir (cur/ and new/, tmp/ is ignored), in delivery order. NOT a Maildir: AdminError. */
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
  const out: MaildirEntry[] = [];
  // stat() is the slow part for a big maildir: a few at a time.
  for (let i = 0; i < names.length; i += 64) {
    const part = names.slice(i, i + 64);
    const stats = await Promise.all(part.map((n) => stat(join(maildir, n.dir, n.name)).catch(() => null)));
    part.forEach((n, k) => {
      const st = stats[k];
      if (!st?.isFile()) return;
      // Messages in new/ have not been seen by any client, whatever their name says.
      const flags = n.dir === 'new' ? [] : maildirFlags(n.name, keywords);
      out.push({ file: join(maildir, n.dir, n.name), flags, internalDate: st.mtime, size: st.size });
    });
  }
  return out;
}

async function* fileBytes(entry: MaildirEntry): AsyncIterable<Buffer> {
  if (entry.size <= READ_WHOLE_MAX) {
    yield await readFile(entry.file);
    return;
  }
  for await (const chunk of createReadStream(entry.file, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
}

export interface ImportResult {
  imported: number;
  skipped: number;
  firstUid: number | null;
  lastUid: number | null;
}

/**
 * Imports `entries` into `mailbox`, BATCH messages per commit. Messages over
 * maxSize are skipped (reported through `warn`); any other failure stops the
 * import, leaving the batches committed so far.
 */
export async function importEntries(
  ingest: IngestPipeline,
  mailbox: MailboxInfo,
  entries: readonly MaildirEntry[],
  opts: { maxSize: number; warn: (text: string) => void; onBatch?: (result: ImportResult) => void },
): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, skipped: 0, firstUid: null, lastUid: null };
  for (let start = 0; start < entries.length; start += BATCH) {
    const batch = entries.slice(start, start + BATCH);
    const staged: Array<StagedMessage | null> = new Array(batch.length).fill(null);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < batch.length) {
        const k = next++;
        const entry = batch[k]!;
        try {
          staged[k] = await ingest.stage(fileBytes(entry), opts.maxSize);
        } catch (err) {
          if (!isMailError(err, 'TOO_BIG')) throw err;
          opts.warn(`skipped ${entry.file}: larger than ${opts.maxSize} octets (limits.max_message_size)`);
          result.skipped++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAGE_PARALLEL, batch.length) }, lane));
    const messages = [];
    for (let k = 0; k < batch.length; k++) {
      const s = staged[k];
      if (s) messages.push({ staged: s, flags: batch[k]!.flags, internalDate: batch[k]!.internalDate });
    }
    if (messages.length === 0) continue;
    const committed = await ingest.commit(mailbox, messages);
    result.imported += committed.uids.length;
    result.firstUid ??= committed.uids[0] ?? null;
    result.lastUid = committed.uids[committed.uids.length - 1] ?? result.lastUid;
    opts.onBatch?.(result);
  }
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
  summary: `import a Maildir (cur/ and new/) into a user's mailbox, ${BATCH} messages per transaction; flags from the file names, internal date from the mtime`,
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
    let sofar: ImportResult = { imported: 0, skipped: 0, firstUid: null, lastUid: null };
    const uids = (r: ImportResult) => (r.firstUid === null ? '' : ` (uids ${r.firstUid}:${r.lastUid})`);
    let result: ImportResult;
    try {
      result = await importEntries(repo.ingest, mailbox, entries, {
        maxSize: ctx.config.limits.maxMessageSize,
        warn: (text) => ctx.warn(text),
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
      throw new AdminError(`import stopped after ${sofar.imported} of ${entries.length} messages${uids(sofar)}: ${why}`);
    }
    const skipped = result.skipped > 0 ? `, ${result.skipped} skipped` : '';
    return { kind: 'message', text: `imported ${result.imported} messages into ${p.user}/${mailbox.name}${uids(result)}${skipped}` };
  },
});
