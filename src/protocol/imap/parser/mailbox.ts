// CREATE (with RFC 6154 USE), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE.

import type { CommandParser } from './types.js';
import type { Reader } from './reader.js';

const USE_ATTRS = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash', '\\Important'];
const USE_BY_LOWER = new Map(USE_ATTRS.map((a) => [a.toLowerCase(), a]));

function useAttr(r: Reader): string {
  r.expect(0x5c, 'special-use attribute such as \\Sent');
  const name = `\\${r.atom('special-use attribute')}`;
  return USE_BY_LOWER.get(name.toLowerCase()) ?? name;
}

function oneMailbox(name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE'): CommandParser {
  return (r) => {
    r.sp(`after ${name}`);
    return { name, mailbox: r.mailbox() };
  };
}

export const mailboxParsers: Record<string, CommandParser> = {
  CREATE: (r) => {
    r.sp('after CREATE');
    const mailbox = r.mailbox();
    const specialUse: string[] = [];
    if (r.eat(0x20)) {
      // create-params = "(" create-param *(SP create-param) ")"
      r.list(
        () => {
          const param = r.keyword('CREATE parameter');
          if (param !== 'USE') r.fail(`Unknown CREATE parameter ${param}`);
          r.sp('after USE');
          specialUse.push(...r.list(() => useAttr(r), 'the USE list', true));
        },
        'CREATE parameters',
      );
    }
    return { name: 'CREATE', mailbox, specialUse };
  },
  DELETE: oneMailbox('DELETE'),
  SUBSCRIBE: oneMailbox('SUBSCRIBE'),
  UNSUBSCRIBE: oneMailbox('UNSUBSCRIBE'),
  RENAME: (r) => {
    r.sp('after RENAME');
    const from = r.mailbox();
    r.sp('after mailbox name');
    const to = r.mailbox();
    return { name: 'RENAME', from, to };
  },
};
