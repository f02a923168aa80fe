// FETCH of UID, FLAGS and MODSEQ only: what a client syncing a big mailbox
// asks (FETCH 1:* (UID FLAGS), CHANGEDSINCE resyncs). Reads the store's
// compact flag listing (16 bytes a message) per chunk of UIDs instead of full
// message metadata, and builds and sends the responses a few thousand at a
// time: FETCH 1:* of a million messages streams, holding one chunk's compact
// arrays and one send's responses.

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
  let missing = 0;
  for (let i = 0; i < uids.length; i += chunkSize) {
    const chunk = uids.slice(i, i + chunkSize);
    const flags: Array<string[] | undefined> = new Array(chunk.length);
    const modseqs = new Float64Array(chunk.length);
    const first = chunk[0]!;
    const last = chunk[chunk.length - 1]!;
    const rest: number[] = [];
    if (last - first < 4 * chunk.length) {
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
        const items: FetchItem[] = attrs.map((a) =>
          a.kind === 'UID' ? { kind: 'UID', uid } : a.kind === 'FLAGS' ? { kind: 'FLAGS', flags: set } : { kind: 'MODSEQ', modseq: modseqs[j]! },
        );
        out.push({ kind: 'FETCH', seq, items });
      }
      if (out.length > 0) await f.send(...out);
    }
  }
  return missing;
}
