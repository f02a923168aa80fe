// LOGIN and AUTHENTICATE.

import type { CommandParser } from './types.js';

const isBase64Char = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2f || b === 0x3d;

export const authParsers: Record<string, CommandParser> = {
  LOGIN: (r) => {
    r.sp('after LOGIN');
    const username = r.astring('user name');
    r.sp('after user name');
    const password = r.astring('password');
    return { name: 'LOGIN', username, password };
  },
  AUTHENTICATE: (r) => {
    r.sp('after AUTHENTICATE');
    const mechanism = r.keyword('SASL mechanism name');
    let initialResponse: string | null = null;
    if (r.eat(0x20)) {
      const text = r.token(isBase64Char, 'initial response (base64 or =)');
      // "=" stands for an empty initial response (RFC 4959).
      if (text === '=') initialResponse = '';
      else if (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) initialResponse = text;
      else r.fail('Invalid base64 in initial response');
    }
    return { name: 'AUTHENTICATE', mechanism, initialResponse };
  },
};
