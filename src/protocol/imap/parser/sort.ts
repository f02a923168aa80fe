// SORT / UID SORT (RFC 5256 section 3), with DISPLAYFROM/DISPLAYTO (RFC 5957)
// and ESORT's RETURN options (RFC 5267 section 3):
//   ["UID" SP] "SORT" [SP "RETURN" SP "(" [opts] ")"] SP sort-criteria SP charset 1*(SP search-key)

import type { SearchKey, SearchReturnOption, SortCriterion, SortKey } from '../ast.js';
import { decodeUtf8, type Reader } from './reader.js';
import { peekWord, returnOptions, searchKey } from './search.js';
import type { CommandParser } from './types.js';

const SORT_KEYS: ReadonlySet<string> = new Set<SortKey>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

function criterion(r: Reader): SortCriterion {
  let name = r.keyword('sort criterion');
  let reverse = false;
  if (name === 'REVERSE') {
    reverse = true;
    r.sp('after REVERSE');
    name = r.keyword('sort criterion after REVERSE');
  }
  if (!SORT_KEYS.has(name)) r.fail(`Unknown sort criterion ${name}`);
  return { key: name as SortKey, reverse };
}

/** charset = atom / quoted; mandatory for SORT and THREAD. */
export function charsetArg(r: Reader): string {
  return r.peek() === 0x22 ? decodeUtf8(r.quoted(), 'charset name') : r.atom('charset name');
}

/** 1*(SP search-key) after the charset; the keys are ANDed as in SEARCH. */
export function searchCriteria(r: Reader): SearchKey {
  const keys: SearchKey[] = [];
  do keys.push(searchKey(r, 0));
  while (r.eat(0x20));
  return { kind: 'AND', keys };
}

export const sortParsers: Record<string, CommandParser> = {
  SORT: (r, uid) => {
    r.sp('after SORT');
    let returns: SearchReturnOption[] | null = null;
    const m = r.mark();
    if (peekWord(r) === 'RETURN') {
      r.sp('after RETURN');
      // ESORT's options plus CONTEXT=SORT's CONTEXT, UPDATE and PARTIAL (RFC 5267 4).
      returns = returnOptions(r, 'SORT return options');
      r.sp('after SORT return options');
    } else {
      r.restore(m);
    }
    const criteria = r.list(() => criterion(r), 'sort criteria');
    r.sp('after sort criteria');
    const charset = charsetArg(r);
    r.sp('after charset');
    return { name: 'SORT', uid, returns, criteria, charset, key: searchCriteria(r) };
  },
};
