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
  private uids = new Uint32Array(64);
  private count = 0;
  /** Flags and modseq the client was last told, by UID. */
  private readonly flags = new Map<number, { flags: string[]; modseq: number }>();
  /** UIDs expunged in the store that the client has not been told about yet. */
  private readonly pendingExpunge = new Set<number>();
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

  constructor(
    private readonly store: MailStore,
    readonly mailboxId: MailboxId,
    initialUids: number[],
    highestModseq: number,
    uidNext: number,
  ) {
    for (const uid of initialUids) this.push(uid);
    this.existsAnnounced = this.count;
    this.highestModseq = highestModseq;
    this.uidNext = uidNext;
  }

  /** Loads a view for SELECT/EXAMINE: UIDs, flags and the modseq they are valid at. */
  static async open(store: MailStore, mailboxId: MailboxId): Promise<MailboxView> {
    // Read the modseq first: anything changed after it is picked up by the next refresh.
    const before = await store.getMailboxById(mailboxId);
    const uids = await store.listUids(mailboxId);
    const view = new MailboxView(store, mailboxId, uids, before?.highestModseq ?? 0, before?.uidNext ?? 1);
    if (uids.length > 0) {
      const metas = await store.fetchMessages(mailboxId, [{ start: 1, end: Infinity }]);
      for (const m of metas) if (m.expungedModseq === null) view.flags.set(m.uid, { flags: m.flags, modseq: m.modseq });
    }
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

  flagsOf(uid: number): string[] {
    return this.flags.get(uid)?.flags ?? [];
  }

  /** The modseq the client was last told (or would be told) for a UID; 0 when unknown. */
  modseqOf(uid: number): number {
    return this.flags.get(uid)?.modseq ?? 0;
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

  /** Resolves a sequence set of MSNs to UIDs (ascending). BAD-worthy when a number is out of range. */
  uidsForSeqSet(set: SequenceSet, saved: number[]): number[] {
    if (set.kind === 'saved') return saved.filter((u) => this.seqOf(u) !== 0);
    const out = new Set<number>();
    for (const r of set.ranges) {
      const a = r.start === '*' ? this.count : r.start;
      const b = r.end === '*' ? this.count : r.end;
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      if (lo < 1 || hi > this.count) throw new InvalidSequenceError('Invalid message sequence number');
      for (let s = lo; s <= hi; s++) out.add(this.uids[s - 1]!);
    }
    return [...out].sort((x, y) => x - y);
  }

  /** Resolves a UID set to the UIDs of it the view holds (ascending); nonexistent UIDs are ignored (RFC 9051). */
  uidsForUidSet(set: SequenceSet, saved: number[]): number[] {
    if (set.kind === 'saved') return saved.filter((u) => this.seqOf(u) !== 0);
    const last = this.lastUid;
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const uid = this.uids[i]!;
      for (const r of set.ranges) {
        const a = r.start === '*' ? last : r.start;
        const b = r.end === '*' ? last : r.end;
        if (uid >= Math.min(a, b) && uid <= Math.max(a, b)) {
          out.push(uid);
          break;
        }
      }
    }
    return out;
  }

  /** Our own flag change: the client gets it from the command's response, so do not echo it later. */
  applyOwnFlags(uid: number, flags: string[], modseq: number): void {
    if (this.seqOf(uid) === 0) return;
    this.flags.set(uid, { flags, modseq });
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

  /** Pulls the change log and records what the client must be told. */
  async refresh(): Promise<void> {
    this.dirty = false;
    const changes = await this.store.changesSince(this.mailboxId, this.highestModseq);
    const last = this.lastUid;
    for (const uid of changes.expunged) {
      if (this.seqOf(uid) === 0) continue;
      if (this.pendingExpunge.size === 0) this.heldSince = this.highestModseq;
      this.pendingExpunge.add(uid);
    }
    for (const c of changes.changed) {
      if (c.uid > this.lastUid) {
        this.push(c.uid);
        this.flags.set(c.uid, { flags: c.flags, modseq: c.modseq });
        continue;
      }
      if (c.uid > last) continue;
      const known = this.flags.get(c.uid);
      if (!known || this.pendingExpunge.has(c.uid)) continue;
      if (known.modseq >= c.modseq) continue;
      const same = sameFlags(known.flags, c.flags);
      this.flags.set(c.uid, { flags: c.flags, modseq: c.modseq });
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
      const f = this.flags.get(uid);
      if (seq === 0 || !f) continue;
      if (!allowExpunge && this.pendingExpunge.has(uid)) continue;
      out.push({ kind: 'FLAGS', seq, uid, flags: f.flags, modseq: f.modseq });
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

  private push(uid: number): void {
    if (this.count === this.uids.length) {
      const grown = new Uint32Array(this.uids.length * 2);
      grown.set(this.uids);
      this.uids = grown;
    }
    this.uids[this.count++] = uid;
  }

  private removeAt(seq: number): void {
    const uid = this.uids[seq - 1]!;
    this.uids.copyWithin(seq - 1, seq, this.count);
    this.count--;
    this.flags.delete(uid);
    this.pendingFlags.delete(uid);
  }
}

function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((f) => s.has(f));
}
