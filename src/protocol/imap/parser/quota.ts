// RFC 9208 QUOTA commands:
//   getquota     = "GETQUOTA" SP quota-root-name
//   getquotaroot = "GETQUOTAROOT" SP mailbox
//   setquota     = "SETQUOTA" SP quota-root-name SP setquota-list
//   setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
//   setquota-resource = resource-name SP resource-limit   (resource-limit = number64)

import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

function setquotaList(r: Reader): Array<{ resource: string; limit: number }> {
  r.expect(0x28, '"(" before the resource limits');
  const limits: Array<{ resource: string; limit: number }> = [];
  if (r.eat(0x29)) return limits; // the list may be empty: remove all limits
  for (;;) {
    const resource = r.atom('resource name').toUpperCase();
    r.sp('after resource name');
    limits.push({ resource, limit: r.number64('resource limit') });
    if (r.eat(0x29)) return limits;
    r.sp('between resource limits');
  }
}

export const quotaParsers: Record<string, CommandParser> = {
  GETQUOTA: (r) => {
    r.sp('after GETQUOTA');
    return { name: 'GETQUOTA', root: r.astring('quota root name') };
  },
  GETQUOTAROOT: (r) => {
    r.sp('after GETQUOTAROOT');
    return { name: 'GETQUOTAROOT', mailbox: r.mailbox() };
  },
  SETQUOTA: (r) => {
    r.sp('after SETQUOTA');
    const root = r.astring('quota root name');
    r.sp('after quota root name');
    return { name: 'SETQUOTA', root, limits: setquotaList(r) };
  },
};
