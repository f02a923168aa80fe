// Test helpers: frame a wire string (all literals accepted in memory) and parse it.

import { CommandFramer } from '../../../src/protocol/imap/framer.js';
import type { FrameEvent, FramingLimits } from '../../../src/protocol/imap/framing-types.js';
import { parseCommand, type ParseResult } from '../../../src/protocol/imap/parser/index.js';

export const LIMITS: FramingLimits = { maxLineLength: 8192, maxMemoryLiteral: 65536, maxNonSyncLiteral: 4096, maxTagLength: 64 };

/** Runs `chunks` through a framer, answering literal events with `mode`. */
export function frameAll(chunks: Buffer[], limits: FramingLimits = LIMITS, mode: 'memory' | 'reject' = 'memory'): FrameEvent[] {
  const f = new CommandFramer(limits);
  const events: FrameEvent[] = [];
  const drain = (): void => {
    for (let ev = f.next(); ev; ev = f.next()) {
      events.push(ev);
      if (ev.kind === 'literal') {
        if (mode === 'memory') f.acceptLiteral('memory');
        else f.rejectLiteral();
      }
    }
  };
  for (const c of chunks) {
    f.push(c);
    drain();
  }
  return events;
}

/** Frames one command (CRLF added) and parses it. */
export function parse(wire: string | Buffer): ParseResult {
  const bytes = typeof wire === 'string' ? Buffer.from(`${wire}\r\n`, 'utf8') : wire;
  const events = frameAll([bytes]).filter((e) => e.kind !== 'literal');
  if (events.length !== 1 || events[0]!.kind !== 'command') throw new Error(`expected one command, got ${JSON.stringify(events)}`);
  return parseCommand(events[0]!.parts);
}

/** The parsed command, or throws with the parse error. */
export function cmd(wire: string | Buffer): unknown {
  const r = parse(wire);
  if (!r.ok) throw new Error(`parse failed: ${r.text}`);
  return r.command;
}

/** The error text of a failing parse, or throws when it parsed. */
export function err(wire: string | Buffer): string {
  const r = parse(wire);
  if (r.ok) throw new Error(`expected a parse error for ${String(wire)}`);
  return r.text;
}
