// APPEND with MULTIAPPEND (RFC 3502), literal8 (RFC 3516), CATENATE
// (RFC 4469) and the RFC 6855 "UTF8 (literal8)" form:
//   append         = "APPEND" SP mailbox 1*append-message
//   append-message = [SP flag-list] [SP date-time] SP append-data
//   append-data    = literal / literal8 / utf8-literal
//                    / "CATENATE" SP "(" cat-part *(SP cat-part) ")"
//   cat-part       = "TEXT" SP literal / "URL" SP astring / utf8-literal
//   utf8-literal   = "UTF8" SP "(" literal8 ")"
// A TEXT literal may also be a literal8 (binary content, as with BINARY).

import type { AppendMessage, CatenatePart } from '../ast.js';
import { decodeUtf8, type Reader } from './reader.js';
import type { CommandParser } from './types.js';

/** utf8-literal after its "UTF8" keyword. */
function utf8Literal(r: Reader): ReturnType<Reader['literal']> {
  r.sp('after UTF8');
  r.expect(0x28, "'(' after UTF8");
  const lit = r.literal();
  if (!lit.binary) r.fail('UTF8 message data must be a literal8 (~{n})');
  r.expect(0x29, "')' after the UTF8 message literal");
  return lit;
}

function catPart(r: Reader): CatenatePart {
  const word = r.keyword('CATENATE part (TEXT, URL or UTF8)');
  switch (word) {
    case 'TEXT': {
      r.sp('after TEXT');
      const { data, binary } = r.literal();
      return { kind: 'TEXT', data, binary: binary || (!Buffer.isBuffer(data) && data.binary) };
    }
    case 'UTF8': {
      const { data } = utf8Literal(r);
      return { kind: 'TEXT', data, binary: true };
    }
    case 'URL': {
      r.sp('after URL');
      // The connection holds a URL literal in memory (catenate-literal.ts); staged data here means it did not.
      if (r.atLiteral()) {
        const { data } = r.literal();
        if (!Buffer.isBuffer(data)) r.fail('A CATENATE URL literal must be a short string');
        return { kind: 'URL', url: decodeUtf8(data, 'URL') };
      }
      return { kind: 'URL', url: r.astring('URL') };
    }
    default:
      return r.fail(`Expected TEXT, URL or UTF8 in CATENATE, found '${word}'`);
  }
}

/** append-message, from the SP before it. */
export function appendMessage(r: Reader): AppendMessage {
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
  if (word === 'CATENATE') {
    r.sp('after CATENATE');
    const catenate = r.list(() => catPart(r), 'the CATENATE parts');
    return { flags, date, data: Buffer.alloc(0), binary: false, catenate };
  }
  if (word !== 'UTF8') r.fail(`Expected message literal, found '${word}'`);
  const { data } = utf8Literal(r);
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
