// parseCommand: a framed command (text segments and literals) -> a typed
// command, or a clear error for the tagged BAD. Commands and keywords are
// case-insensitive. No I/O.

import type { Command } from '../ast.js';
import type { CommandPart } from '../framing-types.js';
import { appendParsers } from './append.js';
import { authParsers } from './auth.js';
import { cancelUpdateParsers } from './cancelupdate.js';
import { notifyParsers } from './notify.js';
import { compressParsers } from './compress.js';
import { copyMoveParsers } from './copy-move.js';
import { enableParsers } from './enable.js';
import { fetchParsers } from './fetch.js';
import { idParsers } from './id.js';
import { listParsers } from './list.js';
import { mailboxParsers } from './mailbox.js';
import { aclParsers } from './acl.js';
import { quotaParsers } from './quota.js';
import { getmetadataParsers } from './getmetadata.js';
import { setmetadataParsers } from './setmetadata.js';
import { replaceParsers } from './replace.js';
import { ParseError, Reader } from './reader.js';
import { searchParsers } from './search.js';
import { selectParsers } from './select.js';
import { sortParsers } from './sort.js';
import { simpleParsers } from './simple.js';
import { statusParsers } from './status.js';
import { storeParsers } from './store.js';
import { threadParsers } from './thread.js';
import type { CommandParser } from './types.js';

export type ParseResult = { ok: true; tag: string; command: Command } | { ok: false; tag: string | null; text: string };

export { ParseError } from './reader.js';

const PARSERS: Record<string, CommandParser> = {
  ...simpleParsers,
  ...authParsers,
  ...mailboxParsers,
  ...selectParsers,
  ...listParsers,
  ...statusParsers,
  ...appendParsers,
  ...enableParsers,
  ...idParsers,
  ...fetchParsers,
  ...searchParsers,
  ...storeParsers,
  ...copyMoveParsers,
  ...compressParsers,
  ...sortParsers,
  ...threadParsers,
  ...quotaParsers,
  ...aclParsers,
  ...getmetadataParsers,
  ...setmetadataParsers,
  ...replaceParsers,
  ...cancelUpdateParsers,
  ...notifyParsers,
};

/** Commands that have a UID form. */
const UID_COMMANDS = new Set(['COPY', 'MOVE', 'FETCH', 'SEARCH', 'STORE', 'EXPUNGE', 'SORT', 'THREAD', 'REPLACE']);

/** tag = 1*<any ASTRING-CHAR except "+"> */
const isTagChar = (b: number): boolean =>
  b > 0x20 && b < 0x7f && !(b === 0x28 || b === 0x29 || b === 0x7b || b === 0x25 || b === 0x2a || b === 0x22 || b === 0x5c || b === 0x2b);

const isNameChar = (b: number): boolean => b > 0x20 && b < 0x7f && b !== 0x28 && b !== 0x29 && b !== 0x7b && b !== 0x22;

export function parseCommand(parts: CommandPart[]): ParseResult {
  const r = new Reader(parts);
  if (r.atEnd()) return { ok: false, tag: null, text: 'Empty command line' };
  let tag: string;
  try {
    tag = r.token(isTagChar, 'tag');
  } catch {
    return { ok: false, tag: null, text: 'Missing or invalid tag' };
  }
  const afterTag = r.peek();
  if (afterTag !== 0x20 && afterTag !== -1) return { ok: false, tag: null, text: 'Invalid character in tag' };
  if (r.atEnd()) return { ok: false, tag, text: 'Missing command' };
  try {
    r.sp('after tag');
    let name = r.token(isNameChar, 'command name').toUpperCase();
    let uid = false;
    if (name === 'UID') {
      r.sp('after UID');
      name = r.token(isNameChar, 'command name after UID').toUpperCase();
      if (!UID_COMMANDS.has(name)) return { ok: false, tag, text: `Unknown command UID ${name}` };
      uid = true;
    }
    const parser = Object.hasOwn(PARSERS, name) ? PARSERS[name] : undefined;
    if (!parser) return { ok: false, tag, text: `Unknown command ${name}` };
    const command = parser(r, uid);
    r.end(name);
    return { ok: true, tag, command };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, tag, text: err.message };
    throw err;
  }
}
