// CANCELUPDATE (RFC 5267 4.3.5): command-select =/ "CANCELUPDATE" 1*(SP quoted)

import { decodeUtf8 } from './reader.js';
import type { CommandParser } from './types.js';

export const cancelUpdateParsers: Record<string, CommandParser> = {
  CANCELUPDATE: (r) => {
    const tags: string[] = [];
    do {
      r.sp('before a quoted tag');
      if (r.peek() !== 0x22) r.fail('CANCELUPDATE takes quoted tags');
      tags.push(decodeUtf8(r.quoted(), 'tag'));
    } while (r.peek() === 0x20);
    return { name: 'CANCELUPDATE', tags };
  },
};
