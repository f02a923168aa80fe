// STORE / UID STORE, with the CONDSTORE UNCHANGEDSINCE modifier.
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))

import type { StoreOperation } from '../ast.js';
import type { CommandParser } from './types.js';

export const storeParsers: Record<string, CommandParser> = {
  STORE: (r, uid) => {
    r.sp('after STORE');
    const set = r.sequenceSet();
    r.sp('after sequence set');
    let unchangedSince: number | null = null;
    if (r.peek() === 0x28) {
      r.list(
        () => {
          const mod = r.keyword('STORE modifier');
          if (mod !== 'UNCHANGEDSINCE') r.fail(`Unknown STORE modifier ${mod}`);
          if (unchangedSince !== null) r.fail('UNCHANGEDSINCE given twice');
          r.sp('after UNCHANGEDSINCE');
          unchangedSince = r.number64('mod-sequence');
        },
        'STORE modifiers',
      );
      r.sp('after STORE modifiers');
    }
    let operation: StoreOperation = 'replace';
    if (r.eat(0x2b)) operation = 'add';
    else if (r.eat(0x2d)) operation = 'remove';
    const item = r.keyword('FLAGS, +FLAGS or -FLAGS');
    let silent = false;
    if (item === 'FLAGS.SILENT') silent = true;
    else if (item !== 'FLAGS') r.fail(`Unknown STORE data item '${item}' (expected FLAGS, +FLAGS or -FLAGS, optionally .SILENT)`);
    r.sp(`after ${item}`);
    let flags: string[];
    if (r.peek() === 0x28) {
      flags = r.flagList(false);
    } else {
      flags = [r.flag(false)];
      while (r.eat(0x20)) flags.push(r.flag(false));
    }
    return { name: 'STORE', uid, set, operation, silent, flags, unchangedSince };
  },
};
