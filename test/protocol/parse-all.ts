// For the parser fuzz tests: frame bytes as the connection does (literals
// accepted in memory) and parse every command found.

import { CommandFramer } from '../../src/protocol/imap/framer.js';
import type { FrameEvent, FramingLimits } from '../../src/protocol/imap/framing-types.js';
import { parseCommand, type ParseResult } from '../../src/protocol/imap/parser/index.js';

const LIMITS: FramingLimits = { maxLineLength: 8192, maxMemoryLiteral: 8192, maxNonSyncLiteral: 8192, maxTagLength: 16 };

export function parseAll(data: Buffer): ParseResult[] {
  const f = new CommandFramer(LIMITS);
  f.push(data);
  const out: ParseResult[] = [];
  let guard = 0;
  for (let ev: FrameEvent | null = f.next(); ev; ev = f.next()) {
    if (++guard > 100_000) throw new Error('framer does not make progress');
    if (ev.kind === 'literal') f.acceptLiteral('memory');
    if (ev.kind === 'command') out.push(parseCommand(ev.parts));
  }
  return out;
}
