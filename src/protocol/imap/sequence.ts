// Sequence sets (RFC 9051 sequence-set / uid-set): parse, format, and build
// compact sets from UID lists. Pure.

import type { SeqNumber, SeqRange, SequenceSet } from './ast.js';

/** Largest nz-number (unsigned 32-bit). */
export const MAX_UINT32 = 0xffffffff;

function parseSeqNumber(text: string): SeqNumber | null {
  if (text === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const n = Number(text);
  return n <= MAX_UINT32 ? n : null;
}

/**
 * Parses "1:3,5,7:*" or "$". Returns null when the text is not a valid
 * sequence-set (empty, zero, above 2^32-1, stray characters).
 */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text === '$') return { kind: 'saved' };
  if (text.length === 0) return null;
  const ranges: SeqRange[] = [];
  for (const item of text.split(',')) {
    const colon = item.indexOf(':');
    if (colon < 0) {
      const n = parseSeqNumber(item);
      if (n === null) return null;
      ranges.push({ start: n, end: n });
    } else {
      const a = parseSeqNumber(item.slice(0, colon));
      const b = parseSeqNumber(item.slice(colon + 1));
      if (a === null || b === null) return null;
      ranges.push({ start: a, end: b });
    }
  }
  return { kind: 'set', ranges };
}

/** Formats a set as on the wire; a single-number range is written once ("5", not "5:5"). */
export function formatSequenceSet(set: SequenceSet): string {
  if (set.kind === 'saved') return '$';
  return set.ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}:${r.end}`)).join(',');
}

/** Sorts and deduplicates numbers and joins neighbours into ranges: [5,1,2,3] -> 1:3,5. */
export function compressUids(uids: readonly number[]): SequenceSet {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const ranges: SeqRange[] = [];
  for (const n of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && typeof last.end === 'number' && n === last.end + 1) last.end = n;
    else ranges.push({ start: n, end: n });
  }
  return { kind: 'set', ranges };
}

/**
 * Tests membership with '*' standing for `star` (the largest number in use).
 * Ranges are unordered: 4:2 equals 2:4.
 */
export function sequenceSetHas(set: SequenceSet, n: number, star: number): boolean {
  if (set.kind === 'saved') return false;
  for (const r of set.ranges) {
    const a = r.start === '*' ? star : r.start;
    const b = r.end === '*' ? star : r.end;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}
