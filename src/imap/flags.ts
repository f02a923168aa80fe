// Flags a client may set (STORE, APPEND). The grammar lets any "\atom"
// through as flag-extension, but RFC 9051 (9, "flag-extension") reserves
// those for future standards: a server must not invent them, so a client
// asking to set one gets a BAD, as Dovecot and Cyrus answer.

import type { Command } from '../protocol/imap/ast.js';

const SETTABLE_SYSTEM_FLAGS = new Set(['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']);

/** The first flag of a STORE/APPEND that is an unknown system flag, or null. */
export function unknownSystemFlag(command: Command): string | null {
  let flags: string[] = [];
  if (command.name === 'STORE') flags = command.flags;
  else if (command.name === 'APPEND') flags = command.messages.flatMap((m) => m.flags);
  // \Recent is the server's; the parser already refuses it.
  return flags.find((f) => f.startsWith('\\') && f !== '\\Recent' && !SETTABLE_SYSTEM_FLAGS.has(f)) ?? null;
}
