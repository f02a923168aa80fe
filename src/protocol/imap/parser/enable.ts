// ENABLE capability... (capabilities are returned upper-cased).

import type { CommandParser } from './types.js';

export const enableParsers: Record<string, CommandParser> = {
  ENABLE: (r) => {
    const capabilities: string[] = [];
    do {
      r.sp('before capability name');
      capabilities.push(r.keyword('capability name'));
    } while (!r.atEnd());
    return { name: 'ENABLE', capabilities };
  },
};
