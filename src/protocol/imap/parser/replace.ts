// REPLACE and UID REPLACE (RFC 8508 5):
//   replace = "REPLACE" SP seq-number SP mailbox append-message
//   uid     =/ "UID" SP replace
// append-message is APPEND's, CATENATE and UTF8 forms included (RFC 8508 4.2).

import type { SeqNumber } from '../ast.js';
import { appendMessage } from './append.js';
import type { CommandParser } from './types.js';

export const replaceParsers: Record<string, CommandParser> = {
  REPLACE: (r, uid) => {
    r.sp('after REPLACE');
    const id: SeqNumber = r.eat(0x2a) ? '*' : r.nzNumber(uid ? 'UID' : 'message sequence number');
    r.sp('after the message number');
    const mailbox = r.mailbox();
    const message = appendMessage(r);
    return { name: 'REPLACE', uid, id, mailbox, message };
  },
};
