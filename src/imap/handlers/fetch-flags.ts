// FETCH of UID, FLAGS and MODSEQ only: what a client syncing a big mailbox
// asks (FETCH 1:* (UID FLAGS), CHANGEDSINCE resyncs). The session's view
// already holds every message's flags and modseq as of its highest modseq:
// when the store has had no change since (the usual case, e.g. right after
// SELECT) they are answered from the view without reading the store.
// Otherwise the store's compact flag listing (16 bytes a message) is read per
// chunk of UIDs instead of full message metadata. Responses are built and
// sent a few thousand at a time: FETCH 1:* of a million messages streams,
// holding one chunk's compact arrays and one send's responses.

import type { MailStore } from '../../mail/ports.js';
import type { FetchAttribute } from '../../protocol/imap/ast.js';
import type { FetchItem, Response } from '../../protocol/imap/response.js';
import { MailboxView } from '../view.js';

/** UIDs per listing read (a compact 16 bytes each), and responses per send. */
const CHUNK = 50_000;
const SEND = 2000;
const FLAG_ITEMS: ReadonlySet<string> = new Set(['UID', 'FLAGS', 'MODSEQ']);

/** True when every attribute is UID, FLAGS or MODSEQ (none of them sets \Seen or needs the message). */
export function onlyFlagItems(attrs: readonly FetchAttribute[]): boolean {
  return attrs.length > 0 && attrs.every((a) => FLAG_ITEMS.has(a.kind));
}

export interface FlagFetch {
  store: MailStore;
  mailboxId: number;
  view: MailboxView;
  send: (...responses: Response[]) => Promise<void>;
  /** Tests only: smaller chunks and sends, to cross their boundaries with few messages. */
  sizes?: { chunk: number; send: number };
}

/**
 * Sends the FETCH responses of `uids` (ascending) in order. Returns how many
 * could not be answered (gone from the store, or no longer in the view).
 */
export async function fetchFlagItems(
  f: FlagFetch,
  uids: readonly number[],
  attrs: readonly FetchAttribute[],
  changedSince: number | undefined,
): Promise<number> {
  const { chunk: chunkSize, send: sendSize } = f.sizes ?? { chunk: CHUNK, send: SEND };
  const current = uids.length > 0 ? await f.store.getMailboxById(f.mailboxId) : null;
  const viewIsCurrent = current !== null && current.highestModseq === f.view.highestModseq;
  // One FLAGS item per distinct flag set (the view's and the listing's sets are shared arrays):
  // a response per message is garbage enough.
  const flagItems = new Map<readonly string[], FetchItem>();
  const flagsItem = (set: string[]): FetchItem => {
    let item = flagItems.get(set);
    if (!item) flagItems.set(set, (item = { kind: 'FLAGS', flags: set }));
    return item;
  };
  let missing = 0;
  for (let i = 0; i < uids.length; i += chunkSize) {
    const chunk = uids.slice(i, i + chunkSize);
    const flags: Array<string[] | undefined> = new Array(chunk.length);
    const modseqs = new Float64Array(chunk.length);
    const first = chunk[0]!;
    const last = chunk[chunk.length - 1]!;
    const rest: number[] = [];
    if (viewIsCurrent) {
      chunk.forEach((uid, j) => {
        const seq = f.view.seqOf(uid);
        // An expunge not told yet: the view may have missed a flag change made just before it.
        if (seq === 0 || f.view.isPendingExpunge(uid)) {
          rest.push(j);
        } else {
          flags[j] = f.view.flagsAtSeq(seq);
          modseqs[j] = f.view.modseqAtSeq(seq);
        }
      });
    } else if (last - first < 4 * chunk.length) {
      // Dense (1:* and the like): one range of the listing.
      const listing = await f.store.listFlags(f.mailboxId, { start: first, end: last });
      let k = 0;
      chunk.forEach((uid, j) => {
        while (k < listing.uids.length && listing.uids[k]! < uid) k++;
        if (k < listing.uids.length && listing.uids[k] === uid) {
          flags[j] = listing.flagSets[listing.flagSet[k]!]!;
          modseqs[j] = listing.modseqs[k]!;
        } else rest.push(j);
      });
    } else {
      chunk.forEach((_, j) => rest.push(j));
    }
    // Sparse sets, and messages expunged but not yet told to this session (their metadata is still readable).
    if (rest.length > 0) {
      const metas = await f.store.fetchMessages(f.mailboxId, MailboxView.toUidSet(rest.map((j) => chunk[j]!)));
      const byUid = new Map(metas.map((m) => [m.uid, m]));
      for (const j of rest) {
        const m = byUid.get(chunk[j]!);
        if (!m) continue;
        flags[j] = m.flags;
        modseqs[j] = m.modseq;
      }
    }
    // Responses are built and sent SEND at a time: only the compact arrays above span the chunk.
    for (let from = 0; from < chunk.length; from += sendSize) {
      const out: Response[] = [];
      for (let j = from; j < Math.min(chunk.length, from + sendSize); j++) {
        const uid = chunk[j]!;
        const set = flags[j];
        if (set !== undefined && changedSince !== undefined && modseqs[j]! <= changedSince) continue;
        const seq = f.view.seqOf(uid);
        if (set === undefined || seq === 0) {
          missing++;
          continue;
        }
        const items: FetchItem[] = [];
        for (const a of attrs) {
          if (a.kind === 'UID') items.push({ kind: 'UID', uid });
          else if (a.kind === 'FLAGS') items.push(flagsItem(set));
          else items.push({ kind: 'MODSEQ', modseq: modseqs[j]! });
        }
        out.push({ kind: 'FETCH', seq, items });
      }
      if (out.length > 0) await f.send(...out);
    }
  }
  return missing;
}
