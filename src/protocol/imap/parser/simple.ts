// Commands without arguments, and UID EXPUNGE.

import type { Command } from '../ast.js';
import type { CommandParser } from './types.js';

const noArgs =
  (command: Command): CommandParser =>
  () =>
    command;

export const simpleParsers: Record<string, CommandParser> = {
  CAPABILITY: noArgs({ name: 'CAPABILITY' }),
  NOOP: noArgs({ name: 'NOOP' }),
  LOGOUT: noArgs({ name: 'LOGOUT' }),
  STARTTLS: noArgs({ name: 'STARTTLS' }),
  IDLE: noArgs({ name: 'IDLE' }),
  CHECK: noArgs({ name: 'CHECK' }),
  CLOSE: noArgs({ name: 'CLOSE' }),
  UNSELECT: noArgs({ name: 'UNSELECT' }),
  NAMESPACE: noArgs({ name: 'NAMESPACE' }),
  EXPUNGE: (r, uid) => {
    if (!uid) return { name: 'EXPUNGE' };
    r.sp('after UID EXPUNGE');
    return { name: 'UID EXPUNGE', set: r.sequenceSet() };
  },
};
