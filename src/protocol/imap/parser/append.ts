// APPEND with MULTIAPPEND (RFC 3502), literal8 (RFC 3516) and the RFC 6855
// "UTF8 (literal8)" form:
//   append         = "APPEND" SP mailbox 1*append-message
//   append-message = [SP flag-list] [SP date-time] SP append-data
//   append-data    = literal / literal8 / "UTF8" SP "(" literal8 ")"

import type { AppendMessage } from '../ast.js';
import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

function appendMessage(r: Reader): AppendMessage {
  r.sp('before message data');
  let flags: string[] = [];
  let date: Date | null = null;
  if (r.peek() === 0x28) {
    flags = r.flagList(false);
    r.sp('after flag list');
  }
  if (r.peek() === 0x22) {
    date = r.dateTime();
    r.sp('after date-time');
  }
  if (r.atLiteral()) {
    const { data, binary } = r.literal();
    return { flags, date, data, binary: binary || (!Buffer.isBuffer(data) && data.binary) };
  }
  const word = r.keyword('message literal');
  if (word !== 'UTF8') r.fail(`Expected message literal, found '${word}'`);
  r.sp('after UTF8');
  r.expect(0x28, "'(' after UTF8");
  const { data, binary } = r.literal();
  if (!binary) r.fail('UTF8 message data must be a literal8 (~{n})');
  r.expect(0x29, "')' after the UTF8 message literal");
  return { flags, date, data, binary: true };
}

export const appendParsers: Record<string, CommandParser> = {
  APPEND: (r) => {
    r.sp('after APPEND');
    const mailbox = r.mailbox();
    const messages: AppendMessage[] = [appendMessage(r)];
    while (!r.atEnd()) messages.push(appendMessage(r));
    return { name: 'APPEND', mailbox, messages };
  },
};
