// The selected-mailbox view of one session: the MSN -> UID map the client
// believes in, the flags it was last told, and the modseq it has caught up to.
// The store's change log is the truth; refresh() pulls it and turns the
// difference into untagged updates, which the session releases only where
// RFC 9051 allows (EXPUNGE never while FETCH/STORE/SEARCH by MSN runs, 7.5.1).

import type { MailStore } from '../mail/ports.js';
import type { MailboxId, UidSet } from '../mail/types.js';
import type { SequenceSet } from '../protocol/imap/ast.js';

/** Untagged updates the view wants the client to learn. */
export type ViewUpdate =
  | { kind: 'EXPUNGE'; seq: number; uid: number }
  | { kind: 'EXISTS'; count: number }
  | { kind: 'FLAGS'; seq: number; uid: number; flags: string[]; modseq: number };

export class InvalidSequenceError extends Error {}

export class MailboxView {
  // Message i (0-based MSN - 1): uids[i], and the flags and modseq the client
  // was last told, as flagSets[flagSet[i]] and modseqs[i]. Typed arrays and
  // interned flag sets: 16 bytes per message, so a session on a mailbox of a
  // million messages holds 16 MB, not a million objects.
  private uids: Uint32Array = new Uint32Array(64);
  private modseqs: Float64Array = new Float64Array(64);
  private flagSet: Uint32Array = new Uint32Array(64);
  private count = 0;
  /** Distinct flag sets (never modified once interned), and their ids by key. */
  private readonly flagSets: string[][] = [];
  private readonly flagSetIds = new Map<string, number>();
  /** UIDs expunged in the store that the client has not been told about yet. */
  private readonly pendingExpunge = new Set<number>();
  /** Expunged by this session, to be reported by expungeOwn() (see expectOwnExpunge). */
  private readonly ownExpunges = new Set<number>();
  /** New message count the client has not been told (EXISTS pending). */
  private existsAnnounced = 0;
  /** UIDs whose flags changed externally and were not reported yet. */
  private readonly pendingFlags = new Set<number>();
  /** Highest modseq whose changes are merged into this view. */
  highestModseq: number;
  /**
   * While expunges are held (pendingExpunge not empty): the highestModseq
   * before the refresh that found the first of them. Everything up to it has
   * been told (or is being told), so it is what HIGHESTMODSEQ may say.
   */
  private heldSince: number | null = null;
  uidNext: number;
  /** Set by the event bus listener: the store has news for us. */
  dirty = false;

  /** A view of `initialUids` with no flags known yet (open() loads them). */
  constructor(
    private readonly store: MailStore,
    readonly mailboxId: MailboxId,
    initialUids: ArrayLike<number>,
    highestModseq: number,
    uidNext: number,
  ) {
    this.reserve(initialUids.length);
    const none = this.intern([]);
    for (let i = 0; i < initialUids.length; i++) this.push(initialUids[i]!, none, 0);
    this.existsAnnounced = this.count;
    this.highestModseq = highestModseq;
    this.uidNext = uidNext;
  }

  /** Loads a view for SELECT/EXAMINE: UIDs, flags and the modseq they are valid at. */
  static async open(store: MailStore, mailboxId: MailboxId): Promise<MailboxView> {
    // The listing comes with the modseq it is valid at: anything changed after it is picked up by the next refresh.
    const listing = await store.listFlags(mailboxId);
    const view = new MailboxView(store, mailboxId, [], listing.highestModseq, listing.uidNext);
    const ids = listing.flagSets.map((flags) => view.intern(flags));
    const n = listing.uids.length;
    view.uids = listing.uids;
    view.modseqs = listing.modseqs;
    view.flagSet = listing.flagSet;
    // Listing ids -> view ids (the same unless the listing repeats a set).
    for (let i = 0; i < n; i++) view.flagSet[i] = ids[view.flagSet[i]!]!;
    view.count = n;
    view.existsAnnounced = n;
    return view;
  }

  get exists(): number {
    return this.count;
  }

  get lastUid(): number {
    return this.count === 0 ? 0 : this.uids[this.count - 1]!;
  }

  uidAt(seq: number): number {
    if (seq < 1 || seq > this.count) throw new InvalidSequenceError(`Invalid message sequence number ${seq}`);
    return this.uids[seq - 1]!;
  }

  /** MSN of a UID, or 0 when the view does not hold it. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** seqOf(uid), trying the MSN `hint` first: the ascending UIDs of a dense set are found without a search. */
  seqOfNear(uid: number, hint: number): number {
    if (hint >= 1 && hint <= this.count && this.uids[hint - 1] === uid) return hint;
    return this.seqOf(uid);
  }

  /** The flags the client was last told for a UID ([] when the view does not hold it). Do not modify. */
  flagsOf(uid: number): string[] {
    const seq = this.seqOf(uid);
    return seq === 0 ? [] : this.flagSets[this.flagSet[seq - 1]!]!;
  }

  /**
   * The flags the client knows for a UID: null when the view does not hold
   * it or holds a change the client has not been told yet.
   */
  toldFlags(uid: number): string[] | null {
    if (this.seqOf(uid) === 0 || this.pendingFlags.has(uid)) return null;
    return this.flagsOf(uid);
  }

  /** The flags the view holds for the message at MSN `seq` (which must exist), told or pending. Do not modify. */
  flagsAtSeq(seq: number): string[] {
    return this.flagSets[this.flagSet[seq - 1]!]!;
  }

  /** The modseq the view holds for the message at MSN `seq` (which must exist). */
  modseqAtSeq(seq: number): number {
    return this.modseqs[seq - 1]!;
  }

  /** The modseq the client was last told (or would be told) for a UID; 0 when unknown. */
  modseqOf(uid: number): number {
    const seq = this.seqOf(uid);
    return seq === 0 ? 0 : this.modseqs[seq - 1]!;
  }

  /**
   * Copies of the columns of the messages at MSNs from..to (inclusive, which
   * must exist): their UIDs, flag set ids (into flagSetList) and modseqs, as
   * the view holds them (told or pending).
   */
  columns(from: number, to: number): { uids: Uint32Array; flagSet: Uint32Array; modseqs: Float64Array } {
    return {
      uids: this.uids.slice(from - 1, to),
      flagSet: this.flagSet.slice(from - 1, to),
      modseqs: this.modseqs.slice(from - 1, to),
    };
  }

  /** The flag sets the ids of columns() refer to. Do not modify; later sets may be added. */
  get flagSetList(): ReadonlyArray<readonly string[]> {
    return this.flagSets;
  }

  /** Keywords (non-system flags) set on any message the view holds, sorted: SELECT's FLAGS. */
  keywordsInUse(): string[] {
    const used = new Uint8Array(this.flagSets.length);
    for (let i = 0; i < this.count; i++) used[this.flagSet[i]!] = 1;
    const out = new Set<string>();
    this.flagSets.forEach((flags, id) => {
      if (used[id]) for (const f of flags) if (!f.startsWith('\\')) out.add(f);
    });
    return [...out].sort();
  }

  /** MSN of the first message without \Seen, 0 when all are seen (RFC 3501 [UNSEEN n]). */
  firstUnseen(): number {
    const unseen = this.flagSets.map((flags) => !flags.includes('\\Seen'));
    for (let i = 0; i < this.count; i++) if (unseen[this.flagSet[i]!]) return i + 1;
    return 0;
  }

  /** The highest modseq the view holds for any message (0 when empty). */
  maxModseq(): number {
    let max = 0;
    for (let i = 0; i < this.count; i++) if (this.modseqs[i]! > max) max = this.modseqs[i]!;
    return max;
  }

  /** Expunges are known but not yet sent (held while sequence numbers are in use). */
  get holdsExpunges(): boolean {
    return this.pendingExpunge.size > 0;
  }

  /**
   * The HIGHESTMODSEQ that may be reported now: no change at or below it is
   * still unsent, so a client resyncing from it loses nothing (RFC 7162 3.2).
   */
  get safeModseq(): number {
    return this.pendingExpunge.size > 0 && this.heldSince !== null ? this.heldSince : this.highestModseq;
  }

  isPendingExpunge(uid: number): boolean {
    return this.pendingExpunge.has(uid);
  }

  /** All UIDs the client knows, ascending. */
  allUids(): number[] {
    return Array.from(this.uids.subarray(0, this.count));
  }

  /** A command's message set: UIDs for the UID form (`uid`), else MSNs (see the two below). */
  uidsForSet(uid: boolean, set: SequenceSet, saved: number[]): number[] {
    return uid ? this.uidsForUidSet(set, saved) : this.uidsForSeqSet(set, saved);
  }

  /** Resolves a sequence set of MSNs to UIDs (ascending). BAD-worthy when a number is out of range. */
  uidsForSeqSet(set: SequenceSet, saved: number[]): number[] {
    if (set.kind === 'saved') return saved.filter((u) => this.seqOf(u) !== 0);
    const spans: Array<[number, number]> = [];
    for (const r of set.ranges) {
      const a = r.start === '*' ? this.count : r.start;
      const b = r.end === '*' ? this.count : r.end;
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      if (lo < 1 || hi > this.count) throw new InvalidSequenceError('Invalid message sequence number');
      spans.push([lo - 1, hi]);
    }
    // MSN order is UID order: merged index spans give the UIDs ascending, without duplicates.
    return this.collect(spans);
  }

  /** Resolves a UID set to the UIDs of it the view holds (ascending); nonexistent UIDs are ignored (RFC 9051). */
  uidsForUidSet(set: SequenceSet, saved: number[]): number[] {
    if (set.kind === 'saved') return saved.filter((u) => this.seqOf(u) !== 0);
    const last = this.lastUid;
    const spans: Array<[number, number]> = [];
    for (const r of set.ranges) {
      const a = r.start === '*' ? last : r.start;
      const b = r.end === '*' ? last : r.end;
      spans.push([this.lowerBound(Math.min(a, b)), this.lowerBound(Math.max(a, b) + 1)]);
    }
    return this.collect(spans);
  }

  /** The UIDs at the index spans [from, to), merged, ascending. */
  private collect(spans: Array<[number, number]>): number[] {
    // One span (1:*, n:m): a built-in copy, not a loop the first FETCH would run uncompiled.
    if (spans.length === 1) return Array.from(this.uids.subarray(spans[0]![0], Math.max(spans[0]![0], spans[0]![1])));
    spans.sort((x, y) => x[0] - y[0]);
    const out: number[] = [];
    let end = 0;
    for (const [from, to] of spans) {
      for (let i = Math.max(from, end); i < to; i++) out.push(this.uids[i]!);
      end = Math.max(end, to);
    }
    return out;
  }

  /** Index of the first UID >= uid (count when none). */
  private lowerBound(uid: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Our own flag change: the client gets it from the command's response, so do not echo it later. */
  applyOwnFlags(uid: number, flags: string[], modseq: number): void {
    const seq = this.seqOf(uid);
    if (seq === 0) return;
    this.flagSet[seq - 1] = this.intern(flags);
    this.modseqs[seq - 1] = modseq;
    this.pendingFlags.delete(uid);
  }

  /** Our own EXPUNGE/MOVE: removes the UIDs now and returns the MSNs to report, highest first. */
  applyOwnExpunge(uids: number[]): number[] {
    return this.expungeOwn(uids).map((e) => e.seq);
  }

  /** As applyOwnExpunge, with the UID of each reported message (for VANISHED). */
  expungeOwn(uids: number[]): Array<{ seq: number; uid: number }> {
    const out: Array<{ seq: number; uid: number }> = [];
    for (const uid of [...uids].sort((a, b) => b - a)) {
      this.ownExpunges.delete(uid);
      const seq = this.seqOf(uid);
      if (seq === 0) continue;
      this.removeAt(seq);
      this.pendingExpunge.delete(uid);
      if (seq <= this.existsAnnounced) {
        out.push({ seq, uid });
        this.existsAnnounced--;
      }
    }
    if (this.pendingExpunge.size === 0) this.heldSince = null;
    return out;
  }

  /**
   * Our own expunge, committed, whose EXPUNGE expungeOwn() sends after other
   * updates (REPLACE: EXISTS first): refresh() must not hold it as another
   * session's. Only for an expunge already committed.
   */
  expectOwnExpunge(uid: number): void {
    this.ownExpunges.add(uid);
  }

  /**
   * Our own write, already applied to the view (applyOwnFlags, expungeOwn),
   * took these MODSEQs. Each writer takes the mailbox's next MODSEQ, so when
   * they follow the view's highest without a gap no other change came
   * between: the view is up to date with them, and the event our write
   * publishes does not make it read the change log again. After a gap the
   * view stays where it is and the event marks it dirty as before. Within
   * one UIDVALIDITY only: a mailbox given a new one after a fail-over
   * (rollback.ts) publishes an event with MODSEQ 0, which ends the session.
   */
  absorbOwnModseqs(modseqs: Iterable<number>): void {
    for (const modseq of [...new Set(modseqs)].sort((a, b) => a - b)) {
      if (modseq !== this.highestModseq + 1) return;
      this.highestModseq = modseq;
    }
  }

  /** Pulls the change log and records what the client must be told. */
  async refresh(): Promise<void> {
    this.dirty = false;
    const changes = await this.store.changesSince(this.mailboxId, this.highestModseq);
    const last = this.lastUid;
    for (const uid of changes.expunged) {
      if (this.seqOf(uid) === 0 || this.ownExpunges.has(uid)) continue;
      if (this.pendingExpunge.size === 0) this.heldSince = this.highestModseq;
      this.pendingExpunge.add(uid);
    }
    for (const c of changes.changed) {
      if (c.uid > this.lastUid) {
        this.push(c.uid, this.intern(c.flags), c.modseq);
        continue;
      }
      if (c.uid > last) continue;
      const seq = this.seqOf(c.uid);
      if (seq === 0 || this.pendingExpunge.has(c.uid)) continue;
      if (this.modseqs[seq - 1]! >= c.modseq) continue;
      const same = sameFlags(this.flagSets[this.flagSet[seq - 1]!]!, c.flags);
      this.flagSet[seq - 1] = this.intern(c.flags);
      this.modseqs[seq - 1] = c.modseq;
      if (!same) this.pendingFlags.add(c.uid);
    }
    this.highestModseq = Math.max(this.highestModseq, changes.highestModseq);
    this.uidNext = Math.max(this.uidNext, changes.uidNext);
  }

  /**
   * Takes the updates that may be sent now. With `allowExpunge` false the
   * expunges stay pending (and the EXISTS count still includes those messages).
   */
  takeUpdates(allowExpunge: boolean): ViewUpdate[] {
    const out: ViewUpdate[] = [];
    if (allowExpunge && this.pendingExpunge.size > 0) {
      const gone = [...this.pendingExpunge].sort((a, b) => b - a);
      this.pendingExpunge.clear();
      this.heldSince = null;
      const announced = this.existsAnnounced;
      for (const uid of gone) {
        const seq = this.seqOf(uid);
        if (seq === 0) continue;
        this.removeAt(seq);
        // A message the client never heard of (EXISTS not sent yet) needs no EXPUNGE.
        if (seq <= announced) {
          out.push({ kind: 'EXPUNGE', seq, uid });
          this.existsAnnounced--;
        }
      }
    }
    if (this.count !== this.existsAnnounced) {
      out.push({ kind: 'EXISTS', count: this.count });
      this.existsAnnounced = this.count;
    }
    for (const uid of [...this.pendingFlags].sort((a, b) => a - b)) {
      const seq = this.seqOf(uid);
      if (seq === 0) continue;
      if (!allowExpunge && this.pendingExpunge.has(uid)) continue;
      out.push({ kind: 'FLAGS', seq, uid, flags: this.flagSets[this.flagSet[seq - 1]!]!, modseq: this.modseqs[seq - 1]! });
    }
    this.pendingFlags.clear();
    return out;
  }

  /** Converts UIDs to a UidSet of ranges for the store. */
  static toUidSet(uids: number[]): UidSet {
    const out: Array<{ start: number; end: number }> = [];
    for (const u of uids) {
      const last = out[out.length - 1];
      if (last && last.end + 1 === u) last.end = u;
      else out.push({ start: u, end: u });
    }
    return out;
  }

  /** The id of a flag set, interning it (as a copy) on first sight. */
  private intern(flags: readonly string[]): number {
    const key = flags.length === 0 ? '' : flags.length === 1 ? flags[0]! : [...flags].sort().join(' ');
    let id = this.flagSetIds.get(key);
    if (id === undefined) {
      id = this.flagSets.length;
      this.flagSets.push([...flags]);
      this.flagSetIds.set(key, id);
    }
    return id;
  }

  private reserve(n: number): void {
    if (n <= this.uids.length) return;
    let size = Math.max(this.uids.length, 64); // a listing of an empty mailbox has length 0
    while (size < n) size *= 2;
    const uids = new Uint32Array(size);
    uids.set(this.uids.subarray(0, this.count));
    const modseqs = new Float64Array(size);
    modseqs.set(this.modseqs.subarray(0, this.count));
    const flagSet = new Uint32Array(size);
    flagSet.set(this.flagSet.subarray(0, this.count));
    this.uids = uids;
    this.modseqs = modseqs;
    this.flagSet = flagSet;
  }

  private push(uid: number, flagSetId: number, modseq: number): void {
    this.reserve(this.count + 1);
    const i = this.count++;
    this.uids[i] = uid;
    this.flagSet[i] = flagSetId;
    this.modseqs[i] = modseq;
  }

  private removeAt(seq: number): void {
    const uid = this.uids[seq - 1]!;
    this.uids.copyWithin(seq - 1, seq, this.count);
    this.modseqs.copyWithin(seq - 1, seq, this.count);
    this.flagSet.copyWithin(seq - 1, seq, this.count);
    this.count--;
    this.pendingFlags.delete(uid);
  }
}

function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((f) => s.has(f));
}
