// Drives an SMTPStream (smtp-server's parser) the way its connection does,
// with a given DATA-phase implementation: the harness of data-phase.test.ts
// and data-phase-whole.test.ts, which compare feedDataStream with the
// library's own.

import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import type { libraryFeedDataStream } from '../../../src/lmtp/data-phase.js';

export type Feed = typeof libraryFeedDataStream;

export interface Outcome {
  /** Every command line, in order (what follows a message's final dot included). */
  commands: string[];
  /** Each message's bytes as the data stream gave them, and the parser's count at its end. */
  messages: Array<{ data: string; dataBytes: number; byteLength: number }>;
}

/**
 * Feeds `input` in chunks of `sizes` (cycled) through an SMTPStream using
 * `feed` for its DATA phase. With `reuseMemory` each chunk is a copy that
 * is overwritten once the parser's write callback ran, as pooled socket
 * reads reuse their memory. Also returns the size of every piece the data
 * streams gave.
 */
export async function parseData(
  feed: Feed,
  input: Buffer,
  sizes: number[],
  options: { reuseMemory?: boolean } = {},
): Promise<{ outcome: Outcome; pieceSizes: number[] }> {
  const parser = new SMTPStream();
  parser._feedDataStream = feed;
  const outcome: Outcome = { commands: [], messages: [] };
  const pieceSizes: number[] = [];
  parser.oncommand = (line: Buffer, next?: () => void) => {
    const command = line.toString('latin1');
    outcome.commands.push(command);
    if (command === 'DATA') {
      const stream = parser.startDataMode();
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => {
        parts.push(Buffer.from(d));
        pieceSizes.push(d.length);
      });
      stream.on('end', () => {
        outcome.messages.push({ data: Buffer.concat(parts).toString('latin1'), dataBytes: parser.dataBytes, byteLength: stream.byteLength });
        parser.continue();
      });
    }
    next?.();
  };
  const finished = new Promise<void>((resolve, reject) => {
    parser.once('finish', () => resolve());
    parser.once('error', reject);
  });
  for (let pos = 0, k = 0; pos < input.length; k++) {
    const n = sizes[k % sizes.length]!;
    if (options.reuseMemory) {
      const piece = Buffer.from(input.subarray(pos, pos + n));
      parser.write(piece, () => piece.fill(0xee));
    } else {
      parser.write(input.subarray(pos, pos + n));
    }
    pos += n;
  }
  parser.end();
  await finished;
  return { outcome, pieceSizes };
}
