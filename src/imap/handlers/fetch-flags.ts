// FETCH of UID, FLAGS and MODSEQ only: what a client syncing a big mailbox
// asks (FETCH 1:* (UID FLAGS), CHANGEDSINCE resyncs). The session's view
// already holds every message's flags and modseq as of its highest modseq:
// when the store has had no change since (the usual case, e.g. right after
// SELECT) they are answered from the view without reading the store.
// Otherwise the store's compact flag listing (16 bytes a message) is read per
// chunk of UIDs instead of full message metadata. The answers go out as
// FetchRun responses (columns, written as bytes by the serializer without an
// object per message), a few thousand messages per send: FETCH 1:* of a
// million messages streams, holding one chunk's compact arrays and one send's
// bytes.

import type { MailStore } from '../../mail/ports.js';
import type { FetchAttribute } from '../../protocol/imap/ast.js';
import type { FetchItem, FetchRun, FetchRunItem, Response } from '../../protocol/imap/response.js';
import { MailboxView } from '../view.js';

/** UIDs per listing read (a compact 16 bytes each), and messages per send. */
const CHUNK = 50_000;
const SEND = 5000;
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
  /** RFC 9586 3.3: UIDFETCH responses (UIDONLY is on); the session converts response objects itself, not runs. */
  uidFetch: boolean;
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
  const { view } = f;
  const current = uids.length > 0 ? await f.store.getMailboxById(f.mailboxId) : null;
  const viewIsCurrent = current !== null && current.highestModseq === view.highestModseq;
  const items = attrs.map((a) => a.kind as FetchRunItem);
  if (viewIsCurrent && changedSince === undefined && !view.holdsExpunges) {
    const firstSeq = consecutiveSeqs(view, uids);
    if (firstSeq !== 0) {
      await sendFromView(f, items, firstSeq, firstSeq + uids.length - 1, sendSize);
      return 0;
    }
  }
  const sets = new FlagSetIds();
  let missing = 0;
  for (let i = 0; i < uids.length; i += chunkSize) {
    const chunk = uids.slice(i, i + chunkSize);
    const { seqs, flags, modseqs } = await chunkFlags(f, chunk, viewIsCurrent);
    // Responses are built and sent SEND messages at a time: only the compact arrays above span the chunk.
    for (let from = 0; from < chunk.length; from += sendSize) {
      const to = Math.min(chunk.length, from + sendSize);
      const batch = new SendBatch(items, f.uidFetch, sets.list, to - from);
      for (let j = from; j < to; j++) {
        const set = flags[j];
        const modseq = modseqs[j]!;
        if (set !== undefined && changedSince !== undefined && modseq <= changedSince) continue;
        const seq = seqs[j]!;
        if (set === undefined || seq === 0) {
          missing++;
          continue;
        }
        // A MODSEQ read from the store ahead of the view goes as a response object: the session
        // follows those to catch the view up after the command (RFC 7162 3.2), not runs.
        if (modseq > view.highestModseq) batch.addResponse(fetchResponse(items, seq, chunk[j]!, set, modseq));
        else batch.add(seq, chunk[j]!, sets.id(set), modseq);
      }
      const out = batch.finish();
      if (out.length > 0) await f.send(...out);
    }
  }
  return missing;
}

/**
 * The MSN, flags and modseq of each UID of `chunk` (ascending): from the
 * view when it is current, else from the store's listing; flags undefined
 * when the store no longer has the message, MSN 0 when the view does not.
 */
async function chunkFlags(
  f: FlagFetch,
  chunk: readonly number[],
  viewIsCurrent: boolean,
): Promise<{ seqs: Uint32Array; flags: Array<readonly string[] | undefined>; modseqs: Float64Array }> {
  const { view } = f;
  const n = chunk.length;
  // The ascending UIDs of a dense set sit at consecutive MSNs, so the hint saves the search.
  const seqs = new Uint32Array(n);
  for (let j = 0, seq = 0; j < n; j++) seqs[j] = seq = view.seqOfNear(chunk[j]!, seq + 1);
  const flags: Array<readonly string[] | undefined> = new Array(n);
  const modseqs = new Float64Array(n);
  const first = chunk[0]!;
  const last = chunk[n - 1]!;
  const rest: number[] = [];
  if (viewIsCurrent) {
    const holdsExpunges = view.holdsExpunges;
    for (let j = 0; j < n; j++) {
      const seq = seqs[j]!;
      // An expunge not told yet: the view may have missed a flag change made just before it.
      if (seq === 0 || (holdsExpunges && view.isPendingExpunge(chunk[j]!))) {
        rest.push(j);
      } else {
        flags[j] = view.flagsAtSeq(seq);
        modseqs[j] = view.modseqAtSeq(seq);
      }
    }
  } else if (last - first < 4 * n) {
    // Dense (1:* and the like): one range of the listing.
    const listing = await f.store.listFlags(f.mailboxId, { start: first, end: last });
    let k = 0;
    for (let j = 0; j < n; j++) {
      const uid = chunk[j]!;
      while (k < listing.uids.length && listing.uids[k]! < uid) k++;
      if (k < listing.uids.length && listing.uids[k] === uid) {
        flags[j] = listing.flagSets[listing.flagSet[k]!]!;
        modseqs[j] = listing.modseqs[k]!;
      } else rest.push(j);
    }
  } else {
    for (let j = 0; j < n; j++) rest.push(j);
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
  return { seqs, flags, modseqs };
}

/**
 * The MSN of uids[0] when `uids` (ascending, all in the view) sit at
 * consecutive MSNs, as after 1:* or any single range; else 0. Distinct
 * ascending UIDs of the view from MSN a to MSN a + n - 1 can only be those n.
 */
function consecutiveSeqs(view: MailboxView, uids: readonly number[]): number {
  if (uids.length === 0) return 0;
  const first = view.seqOf(uids[0]!);
  return first !== 0 && view.seqOf(uids[uids.length - 1]!) === first + uids.length - 1 ? first : 0;
}

/**
 * The messages at MSNs from..to straight from the view's columns, sendSize
 * per run and send: no work per message here. Only when the view is
 * current and holds no expunge not told (whose flags it may have missed).
 */
async function sendFromView(f: FlagFetch, items: readonly FetchRunItem[], from: number, to: number, sendSize: number): Promise<void> {
  for (let first = from; first <= to; first += sendSize) {
    const last = Math.min(to, first + sendSize - 1);
    const { uids, flagSet, modseqs } = f.view.columns(first, last);
    await f.send({ kind: 'FETCH-RUN', items, uidFetch: f.uidFetch, firstSeq: first, uids, flagSet, flagSets: f.view.flagSetList, modseqs });
  }
}

/** The FETCH response object of one message (the session turns it into UIDFETCH when UIDONLY is on). */
function fetchResponse(items: readonly FetchRunItem[], seq: number, uid: number, flags: readonly string[], modseq: number): Response {
  const out: FetchItem[] = items.map((kind) =>
    kind === 'UID' ? { kind, uid } : kind === 'FLAGS' ? { kind, flags: [...flags] } : { kind, modseq },
  );
  return { kind: 'FETCH', seq, items: out };
}

/**
 * Ids of the distinct flag sets of one FETCH, for its runs. The view's and
 * the listing's sets are shared arrays (found by identity, the last one
 * first: neighbours often share a set); other arrays by their content.
 */
class FlagSetIds {
  readonly list: Array<readonly string[]> = [];
  private readonly byArray = new Map<readonly string[], number>();
  private readonly byContent = new Map<string, number>();
  private last: readonly string[] | null = null;
  private lastId = 0;

  id(set: readonly string[]): number {
    if (set === this.last) return this.lastId;
    let id = this.byArray.get(set);
    if (id === undefined) {
      const key = set.join(' ');
      id = this.byContent.get(key);
      if (id === undefined) {
        id = this.list.length;
        this.list.push(set);
        this.byContent.set(key, id);
      }
      this.byArray.set(set, id);
    }
    this.last = set;
    this.lastId = id;
    return id;
  }
}

/**
 * The responses of one send, in order: runs of messages at consecutive MSNs
 * over columns of `capacity` rows, broken where the MSNs skip or a message
 * must go as a response object.
 */
class SendBatch {
  private readonly out: Response[] = [];
  private readonly uids: Uint32Array;
  private readonly flagSet: Uint32Array;
  private readonly modseqs: Float64Array;
  /** Rows [runStart, count) form the run not yet closed; its first message has MSN runSeq. */
  private runStart = 0;
  private runSeq = 0;
  private count = 0;

  constructor(
    private readonly items: readonly FetchRunItem[],
    private readonly uidFetch: boolean,
    private readonly flagSets: ReadonlyArray<readonly string[]>,
    capacity: number,
  ) {
    this.uids = new Uint32Array(capacity);
    this.flagSet = new Uint32Array(capacity);
    this.modseqs = new Float64Array(capacity);
  }

  add(seq: number, uid: number, flagSetId: number, modseq: number): void {
    if (seq !== this.runSeq + (this.count - this.runStart)) {
      this.closeRun();
      this.runSeq = seq;
    }
    const i = this.count++;
    this.uids[i] = uid;
    this.flagSet[i] = flagSetId;
    this.modseqs[i] = modseq;
  }

  addResponse(r: Response): void {
    this.closeRun();
    this.out.push(r);
  }

  finish(): Response[] {
    this.closeRun();
    return this.out;
  }

  private closeRun(): void {
    const from = this.runStart;
    const to = this.count;
    this.runStart = to;
    if (to === from) return;
    const run: FetchRun = {
      kind: 'FETCH-RUN',
      items: this.items,
      uidFetch: this.uidFetch,
      firstSeq: this.runSeq,
      uids: this.uids.subarray(from, to),
      flagSet: this.flagSet.subarray(from, to),
      flagSets: this.flagSets,
      modseqs: this.modseqs.subarray(from, to),
    };
    this.out.push(run);
  }
}
