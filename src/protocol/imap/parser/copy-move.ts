// COPY and MOVE (and their UID forms).

import type { CommandParser } from './types.js';

function copyLike(name: 'COPY' | 'MOVE'): CommandParser {
  return (r, uid) => {
    r.sp(`after ${name}`);
    const set = r.sequenceSet();
    r.sp('after sequence set');
    const mailbox = r.mailbox();
    return { name, uid, set, mailbox };
  };
}

export const copyMoveParsers: Record<string, CommandParser> = {
  COPY: copyLike('COPY'),
  MOVE: copyLike('MOVE'),
};
