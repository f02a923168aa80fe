// The compact listing of a mailbox's flags (MailStore.listFlags), built the
// same way by every backend from (uid, modseq, system_flags, keywords) rows:
// typed arrays instead of an object per message, and each distinct flag set
// formatted once. A mailbox of a million messages has a few dozen distinct
// sets, so SELECT costs one scan and 16 bytes per message.

import { formatFlags, keywordsFromColumn } from '../../mail/flags.js';
import type { FlagListing } from '../../mail/ports.js';

/**
 * What both SQL backends select over the live messages of one mailbox, in
 * one scan: the count, one string "uid,modseq,flags,uid,modseq,flags,..."
 * and the rare rows with keywords as "uid keywords" lines (keywords are
 * atoms: no control characters). One value instead of a row per message:
 * the drivers build a JS array or object per row, which costs more than the
 * scan itself; parsing digits here is ~2.5x faster. In the order the rows
 * are scanned: SQLite scans its primary key (mailbox_id, uid), already in
 * order; PostgreSQL's rows come in heap order from a sequential scan, and
 * sorting inside the aggregate (ORDER BY uid) took a third of a
 * 1,000,000-message SELECT (the sort spilled to disk at the default
 * work_mem; PostgreSQL 15 sorts even rows an index scan gives in order).
 * The parse sorts when the rows were not ascending.
 */
export function packedFlagsColumns(): string {
  return `count(*) AS n, string_agg(uid || ',' || modseq || ',' || system_flags, ',') AS packed,
    string_agg(uid || ' ' || keywords, '\n') FILTER (WHERE keywords <> '') AS keyworded`;
}

/** The uid bounds of a listing, as SQL integers (no range: every uid). */
export function listingRange(range?: { start: number; end: number }): [number, number] {
  if (!range) return [0, MAX_UID];
  return [Math.max(0, range.start), Math.min(MAX_UID, range.end)];
}

/** UIDs are 32-bit (RFC 9051 nz-number); also stands for "*" / Infinity in a range. */
const MAX_UID = 0xffffffff;

/** Builds the listing from the columns of packedFlagsColumns(). */
export function listingFromPacked(count: number, packed: string | null, keyworded: string | null): FlagListing {
  const listing = new FlagListingBuilder(count);
  listing.addPacked(packed, keyworded);
  return listing.finish();
}

export class FlagListingBuilder {
  private uids: Uint32Array;
  private modseqs: Float64Array;
  private flagSet: Uint32Array;
  private count = 0;
  private ascending = true;
  /** Set id by system flag bits, for rows without keywords (almost all of them). */
  private readonly bySystem = new Map<number, number>();
  /** Set id by "bits keywords-column", for rows with keywords. */
  private readonly byColumns = new Map<string, number>();
  private readonly flagSets: string[][] = [];

  /** `expected`: the number of rows to come, when known (the arrays are sized for it; more still fit). */
  constructor(expected = 1024) {
    const n = Math.max(16, expected);
    this.uids = new Uint32Array(n);
    this.modseqs = new Float64Array(n);
    this.flagSet = new Uint32Array(n);
  }

  /** The rows of one packedFlagsColumns() aggregate (a whole listing or one chunk of it). */
  addPacked(packed: string | null, keyworded: string | null): void {
    if (packed === null) return;
    const keywords = new Map<number, string>();
    if (keyworded) {
      for (const line of keyworded.split('\n')) {
        const sp = line.indexOf(' ');
        keywords.set(Number(line.slice(0, sp)), line.slice(sp + 1));
      }
    }
    const field = [0, 0, 0];
    let k = 0;
    let value = 0;
    for (let i = 0; i <= packed.length; i++) {
      const c = i < packed.length ? packed.charCodeAt(i) : 44;
      if (c !== 44 /* , */) {
        value = value * 10 + (c - 48);
        continue;
      }
      field[k++] = value;
      value = 0;
      if (k < 3) continue;
      k = 0;
      this.add(field[0]!, field[1]!, field[2]!, keywords.get(field[0]!) ?? '');
    }
  }

  /** Rows in any order; finish() sorts them by uid when they were not ascending. */
  add(uid: number, modseq: number, systemFlags: number, keywords: string): void {
    if (this.count === this.uids.length) this.grow();
    if (this.count > 0 && uid <= this.uids[this.count - 1]!) this.ascending = false;
    let id = keywords === '' ? this.bySystem.get(systemFlags) : this.byColumns.get(`${systemFlags} ${keywords}`);
    if (id === undefined) {
      id = this.flagSets.length;
      this.flagSets.push(formatFlags({ system: systemFlags, keywords: keywordsFromColumn(keywords) }));
      if (keywords === '') this.bySystem.set(systemFlags, id);
      else this.byColumns.set(`${systemFlags} ${keywords}`, id);
    }
    const i = this.count++;
    this.uids[i] = uid;
    this.modseqs[i] = modseq;
    this.flagSet[i] = id;
  }

  finish(): FlagListing {
    const n = this.count;
    if (!this.ascending) return this.inUidOrder(n);
    // Sized right (the expected count was exact): the arrays themselves, not a second copy of them.
    if (n === this.uids.length) return { uids: this.uids, modseqs: this.modseqs, flagSet: this.flagSet, flagSets: this.flagSets };
    return {
      uids: this.uids.slice(0, n),
      modseqs: this.modseqs.slice(0, n),
      flagSet: this.flagSet.slice(0, n),
      flagSets: this.flagSets,
    };
  }

  /** The rows in UID order, copied by plain loops (TypedArray.from with a map function took seconds for a million). */
  private inUidOrder(n: number): FlagListing {
    const order = uidOrder(this.uids, n);
    const uids = new Uint32Array(n);
    const modseqs = new Float64Array(n);
    const flagSet = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      uids[k] = this.uids[i]!;
      modseqs[k] = this.modseqs[i]!;
      flagSet[k] = this.flagSet[i]!;
    }
    return { uids, modseqs, flagSet, flagSets: this.flagSets };
  }

  private grow(): void {
    const n = this.uids.length * 2;
    const uids = new Uint32Array(n);
    uids.set(this.uids);
    const modseqs = new Float64Array(n);
    modseqs.set(this.modseqs);
    const flagSet = new Uint32Array(n);
    flagSet.set(this.flagSet);
    this.uids = uids;
    this.modseqs = modseqs;
    this.flagSet = flagSet;
  }
}

/**
 * The indexes of uids[0, n) in ascending UID order. A mailbox's UIDs are
 * distinct and usually dense: each goes straight to its slot between the
 * lowest and the highest (linear; a PostgreSQL listing after any flag change
 * comes out of order). Sparse UIDs, or a repeated one, are sorted.
 */
function uidOrder(uids: Uint32Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const uid = uids[i]!;
    if (uid < min) min = uid;
    if (uid > max) max = uid;
  }
  const span = max - min + 1; // NaN when n is 0: sorted below
  if (span <= 4 * n + 1024) {
    const slot = new Int32Array(span).fill(-1);
    for (let i = 0; i < n; i++) slot[uids[i]! - min] = i;
    let k = 0;
    for (let j = 0; j < span; j++) {
      const i = slot[j]!;
      if (i >= 0) order[k++] = i;
    }
    if (k === n) return order;
  }
  const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => uids[a]! - uids[b]!);
  for (let k = 0; k < n; k++) order[k] = sorted[k]!;
  return order;
}
