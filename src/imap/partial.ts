// PARTIAL (RFC 9394; RFC 5267 4.4): a window of a result list. The first
// result is 1; negative ranges count from the last result (-1 is the last).
// "500:400" is "400:500". Positions past the end simply select nothing.

export interface PartialRange {
  start: number;
  end: number;
}

/** The 0-based indexes of `length` results that the range selects, ascending. */
export function partialIndexes(length: number, range: PartialRange): number[] {
  const lo = Math.min(Math.abs(range.start), Math.abs(range.end));
  const hi = Math.max(Math.abs(range.start), Math.abs(range.end));
  const out: number[] = [];
  if (range.start > 0) {
    for (let i = lo - 1; i < Math.min(hi, length); i++) out.push(i);
  } else {
    // -lo is the lo-th result from the end: index length - lo.
    for (let i = Math.max(0, length - hi); i <= length - lo; i++) out.push(i);
  }
  return out;
}

/** The results the range selects, in the list's order. */
export function partialSlice<T>(results: readonly T[], range: PartialRange): T[] {
  return partialIndexes(results.length, range).map((i) => results[i]!);
}
