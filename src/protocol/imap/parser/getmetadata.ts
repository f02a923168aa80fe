// GETMETADATA (RFC 5464 4.2, 5):
//   getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
//   getmetadata-options = "(" getmetadata-option *(SP getmetadata-option) ")"
//   maxsize-opt = "MAXSIZE" SP number
//   scope-opt   = "DEPTH" SP ("0" / "1" / "infinity")
//   entries     = entry / "(" entry *(SP entry) ")"
// The RFC's own examples put the options after the mailbox
// ('GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment)'); clients copied
// them, so that order is accepted too (an entry list starts with "/", an
// option list with a letter). Other options are a BAD (RFC 4466 tagged-ext).

import type { MetadataDepthOption } from '../ast.js';
import { readEntry } from './metadata-entry.js';
import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

interface Options {
  maxSize: number | null;
  depth: MetadataDepthOption;
}

function options(r: Reader): Options {
  const out: Options = { maxSize: null, depth: 0 };
  const seen = new Set<string>();
  r.list(
    () => {
      const label = r.keyword('GETMETADATA option');
      if (seen.has(label)) r.fail(`GETMETADATA option ${label} given twice`);
      seen.add(label);
      r.sp(`after ${label}`);
      if (label === 'MAXSIZE') out.maxSize = r.number('MAXSIZE value');
      else if (label === 'DEPTH') {
        const depth = r.atom('DEPTH value').toLowerCase();
        if (depth !== '0' && depth !== '1' && depth !== 'infinity') r.fail(`DEPTH must be 0, 1 or infinity, not '${depth}'`);
        out.depth = depth === 'infinity' ? 'infinity' : Number(depth) as 0 | 1;
      } else r.fail(`Unknown GETMETADATA option ${label}`);
    },
    'GETMETADATA options',
  );
  return out;
}

/** At "(": is it an option list (a label) rather than an entry list? */
function atOptionList(r: Reader): boolean {
  if (r.peek() !== 0x28) return false;
  const m = r.mark();
  r.eat(0x28);
  const next = r.peek();
  r.restore(m);
  return (next >= 0x41 && next <= 0x5a) || (next >= 0x61 && next <= 0x7a);
}

function entries(r: Reader): string[] {
  if (r.peek() === 0x28) return r.list(() => readEntry(r, false), 'entry list');
  return [readEntry(r, false)];
}

export const getmetadataParsers: Record<string, CommandParser> = {
  GETMETADATA: (r) => {
    r.sp('after GETMETADATA');
    let opts: Options | null = null;
    if (r.peek() === 0x28) {
      opts = options(r);
      r.sp('after GETMETADATA options');
    }
    const mailbox = r.mailbox();
    r.sp('after mailbox name');
    if (opts === null && atOptionList(r)) {
      opts = options(r);
      r.sp('after GETMETADATA options');
    }
    const list = entries(r);
    return { name: 'GETMETADATA', mailbox, maxSize: opts?.maxSize ?? null, depth: opts?.depth ?? 0, entries: list };
  },
};
