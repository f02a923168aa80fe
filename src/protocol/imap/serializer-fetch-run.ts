// A FetchRun (response.ts) -> bytes. A response is a line whose only
// variable parts are its MSN (or UID), the UID and MODSEQ numbers and its
// flag set: the text between the numbers is made once per flag set, and
// each line is one string concatenation of a few parts. Concatenation and
// number formatting run in V8's built-in code even before the JIT has
// compiled this loop, which is what the first FETCH of a fresh server runs:
// writing the digits byte by byte into a Buffer measured a little faster
// once compiled, but 1.5 to 2 times slower before.

import type { FetchRun, FetchRunItem } from './response.js';
import type { WireWriter } from './wire.js';

/**
 * The text of a line around its numbers, for one flag set: parts[0] follows
 * the MSN (or UID), parts[k] follows the k-th number; the last part ends
 * the line.
 */
function lineParts(items: readonly FetchRunItem[], uidFetch: boolean, flags: readonly string[]): string[] {
  const parts: string[] = [];
  let text = uidFetch ? ' UIDFETCH (' : ' FETCH (';
  items.forEach((item, k) => {
    if (k > 0) text += ' ';
    if (item === 'FLAGS') {
      text += `FLAGS (${flags.join(' ')})`;
      return;
    }
    text += item === 'UID' ? 'UID ' : 'MODSEQ (';
    parts.push(text);
    text = item === 'UID' ? '' : ')';
  });
  parts.push(`${text})\r\n`);
  return parts;
}

export function writeFetchRun(w: WireWriter, run: FetchRun): void {
  const { uids, flagSet, modseqs, items, uidFetch, firstSeq } = run;
  const numbers = items.filter((i) => i !== 'FLAGS');
  const column = (k: number) => (numbers[k] === 'MODSEQ' ? modseqs : uids);
  // The columns of the numbers after the MSN (or UID), in line order.
  const first = column(0);
  const second = column(1);
  const partsOf: Array<string[] | undefined> = new Array(run.flagSets.length);
  let out = '';
  for (let i = 0; i < uids.length; i++) {
    const id = flagSet[i]!;
    const p = (partsOf[id] ??= lineParts(items, uidFetch, run.flagSets[id]!));
    const key = uidFetch ? uids[i]! : firstSeq + i;
    if (numbers.length === 0) out += '* ' + key + p[0];
    else if (numbers.length === 1) out += '* ' + key + p[0] + first[i]! + p[1];
    else if (numbers.length === 2) out += '* ' + key + p[0] + first[i]! + p[1] + second[i]! + p[2];
    else {
      // An item named twice or more (FETCH n (UID MODSEQ UID)).
      out += '* ' + key + p[0];
      for (let k = 0; k < numbers.length; k++) out += column(k)[i]! + p[k + 1]!;
    }
  }
  w.raw(out);
}
