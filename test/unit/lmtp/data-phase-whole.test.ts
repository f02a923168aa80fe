// feedDataStream writes a chunk whole when its last 4 bytes hold no CR or
// LF (src/lmtp/data-phase.ts), and then checks the next chunk's first bytes
// itself: an LF at its start followed by a stuffed dot is the case smtp-server's
// own scan (from offset 2 of the kept bytes and the chunk) would miss. These
// compare it with the library on messages made of long lines that end or
// start chunks at every offset around "\n..", "\n.", "\r\n.\r\n" and short
// chunks after a whole one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { feedDataStream, libraryFeedDataStream } from '../../../src/lmtp/data-phase.js';
import { parseData, type Feed, type Outcome } from './data-phase-harness.js';

interface WholeOutcome extends Outcome {
  /** Pieces of at most 4 bytes the data stream gave (bytes kept back and written on their own; not compared). */
  tinyPieces: number;
}

/** Chunks in memory reused after each write, as pooled socket reads give them. */
async function parse(feed: Feed, input: Buffer, sizes: number[]): Promise<WholeOutcome> {
  const { outcome, pieceSizes } = await parseData(feed, input, sizes, { reuseMemory: true });
  return { ...outcome, tinyPieces: pieceSizes.filter((n) => n <= 4).length };
}

async function same(input: Buffer, sizes: number[]): Promise<WholeOutcome> {
  const library = await parse(libraryFeedDataStream, input, sizes);
  const linear = await parse(feedDataStream, input, sizes);
  const strip = (o: WholeOutcome) => ({ commands: o.commands, messages: o.messages });
  assert.deepEqual(strip(linear), strip(library), JSON.stringify(sizes));
  return linear;
}

const session = (body: string) => Buffer.from(`MAIL FROM:<a@b.example>\r\nDATA\r\n${body}\r\n.\r\nRSET\r\nQUIT\r\n`, 'latin1');

test('chunks cut at every offset around a line start after a long line: same as the library', async () => {
  const starts = ['\n..x', '\n.x', '\n..', '\n.\n', '\r\n..x', '\r\n.x', '\n...', '\r\n.\r\n', '\n\n..', 'x\n..'];
  for (const start of starts) {
    const body = 'a'.repeat(40) + start + 'b'.repeat(40) + '\r\n' + 'c'.repeat(40);
    const input = session(body);
    const at = input.indexOf('a'.repeat(40)) + 40;
    for (let cut = at - 5; cut <= at + start.length + 1; cut++) {
      // One chunk up to the cut (written whole when it ends in "a"s), then chunks of every small size.
      for (const next of [1, 2, 3, 4, 5, 17, 1000]) await same(input, [cut, next, 1000]);
    }
  }
});

test('a message of long lines read in big chunks is mostly written whole, without 4-byte pieces kept back', async () => {
  const body = Array.from({ length: 200 }, (_, i) => 'line ' + String(i).padStart(3, '0') + ' ' + 'z'.repeat(70)).join('\r\n');
  const input = session(body);
  const linear = await same(input, [1021]);
  // 16 chunks; one whose last 4 bytes hold the CRLF of a line keeps them back (about 1 in 20).
  assert.ok(linear.tinyPieces <= 3, `${linear.tinyPieces} pieces of at most 4 bytes`);
});

test('random long-line messages and chunkings: same as the library (property)', async () => {
  const piece = fc.oneof(
    fc.constantFrom('\n', '\r\n', '.', '..', '\n..', '\r\n..', '\n.', '\r\n.', '\r\n.\r\n'),
    fc.integer({ min: 10, max: 120 }).map((n) => 'q'.repeat(n)),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 8 }), async (body, sizes) => {
      await same(session(body.join('')), sizes);
    }),
    { numRuns: 1000 },
  );
});
