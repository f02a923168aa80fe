// STATUS mailbox (items).

import type { StatusItem } from '../ast.js';
import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

const STATUS_ITEMS: ReadonlySet<string> = new Set<StatusItem>([
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'APPENDLIMIT',
  'MAILBOXID',
  'DELETED-STORAGE',
]);

/** "(" status-att *(SP status-att) ")"; also used by LIST RETURN (STATUS (...)). */
export function statusItems(r: Reader): StatusItem[] {
  return r.list(
    () => {
      const item = r.keyword('status item');
      if (!STATUS_ITEMS.has(item)) r.fail(`Unknown status item ${item}`);
      return item as StatusItem;
    },
    'the status item list',
  );
}

export const statusParsers: Record<string, CommandParser> = {
  STATUS: (r) => {
    r.sp('after STATUS');
    const mailbox = r.mailbox();
    r.sp('after mailbox name');
    return { name: 'STATUS', mailbox, items: statusItems(r) };
  },
};
