// LIST (with LIST-EXTENDED, RFC 5258 / RFC 9051) and LSUB.

import type { ListReturnOption, ListSelectionOption } from '../ast.js';
import type { Reader } from './reader.js';
import { statusItems } from './status.js';
import type { CommandParser } from './types.js';

const SELECTION: ReadonlySet<string> = new Set<ListSelectionOption>(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);

function returnOption(r: Reader): ListReturnOption {
  const name = r.keyword('LIST return option');
  switch (name) {
    case 'SUBSCRIBED':
    case 'CHILDREN':
    case 'SPECIAL-USE':
      return { kind: name };
    case 'STATUS':
      r.sp('after STATUS');
      return { kind: 'STATUS', items: statusItems(r) };
    default:
      return r.fail(`Unknown LIST return option ${name}`);
  }
}

export const listParsers: Record<string, CommandParser> = {
  LIST: (r) => {
    r.sp('after LIST');
    let extended = false;
    const selection: ListSelectionOption[] = [];
    if (r.peek() === 0x28) {
      extended = true;
      r.list(
        () => {
          const opt = r.keyword('LIST selection option');
          if (!SELECTION.has(opt)) r.fail(`Unknown LIST selection option ${opt}`);
          selection.push(opt as ListSelectionOption);
        },
        'LIST selection options',
        true,
      );
      if (selection.includes('RECURSIVEMATCH') && !selection.includes('SUBSCRIBED')) {
        r.fail('RECURSIVEMATCH requires another selection option such as SUBSCRIBED');
      }
      r.sp('after LIST selection options');
    }
    const reference = r.mailbox();
    r.sp('after reference name');
    let patterns: string[];
    if (r.peek() === 0x28) {
      extended = true;
      patterns = r.list(() => r.listMailbox(), 'the pattern list');
    } else {
      patterns = [r.listMailbox()];
    }
    const returns: ListReturnOption[] = [];
    if (r.eat(0x20)) {
      const word = r.keyword('RETURN');
      if (word !== 'RETURN') r.fail(`Expected RETURN, found '${word}'`);
      extended = true;
      r.sp('after RETURN');
      returns.push(...r.list(() => returnOption(r), 'LIST return options', true));
    }
    return { name: 'LIST', selection, reference, patterns, returns, extended };
  },
  LSUB: (r) => {
    r.sp('after LSUB');
    const reference = r.mailbox();
    r.sp('after reference name');
    return { name: 'LSUB', reference, pattern: r.listMailbox() };
  },
};
