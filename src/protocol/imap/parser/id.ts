// ID (RFC 2971): ID ("name" "value" ...) or ID NIL.

import type { CommandParser } from './types.js';

/** RFC 2971: at most 30 field-value pairs. */
const MAX_PAIRS = 30;

export const idParsers: Record<string, CommandParser> = {
  ID: (r) => {
    r.sp('after ID');
    if (r.peek() !== 0x28) {
      if (r.keyword('parameter list or NIL') !== 'NIL') r.fail("Expected '(' or NIL after ID");
      return { name: 'ID', params: null };
    }
    const params: Array<[string, string | null]> = [];
    r.expect(0x28, "'('");
    if (r.eat(0x29)) return { name: 'ID', params };
    for (;;) {
      const field = r.string('field name').toString('utf8');
      r.sp('after ID field name');
      const value = r.nstring('field value');
      params.push([field, value === null ? null : value.toString('utf8')]);
      if (params.length > MAX_PAIRS) r.fail(`Too many ID fields (at most ${MAX_PAIRS})`);
      if (r.eat(0x29)) return { name: 'ID', params };
      r.sp('between ID fields');
    }
  },
};
