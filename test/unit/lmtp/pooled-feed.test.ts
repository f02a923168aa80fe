// The LMTP parser fed from pooled reads (src/lmtp/pooled-feed.ts), read
// by chunksOf as the delivery reads it: reads cut anywhere (on the
// "\r\n.\r\n" that ends the message, in a stuffed dot, several reads in one
// block), the commands after the message, backpressure, and every block back
// in the pool at the end, also when the delivery stops early or the client
// goes away mid-DATA. smtp-server's connection is stood in for by its two
// fields the feed uses; the socket's reads are calls of onRead. Released
// blocks are filled with 0xEE, and each read's bytes are overwritten after
// onRead returns (the landing buffer is reused by the next read), so bytes
// used after their release show up as wrong bytes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { chunksOf, useLinearDataPhase } from '../../../src/lmtp/data-phase.js';
import { chunkHoldsOf, PooledFeed } from '../../../src/lmtp/pooled-feed.js';
import type { BufferPool } from '../../../src/util/buffer-pool.js';
import { readBlockPool, smallReadBlockPool } from '../../../src/util/pooled-reads.js';

const pools: BufferPool[] = [readBlockPool, smallReadBlockPool];
const inUse = () => pools.map((p) => p.inUse);

/** Turns of the event loop until `condition` holds (a condition wait: everything here is in-process). */
async function settle(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    if (condition()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`never happened: ${what}`);
}

interface Options {
  /** chunksOf's consumerCopies: true as with the file blob store. */
  consumerCopies?: boolean;
  /** The delivery waits a turn of the event loop before it reads each chunk (the data stream fills up). */
  slow?: boolean;
  /** The delivery stops after this many chunks (as a failed ingest does) and lets the rest flow. */
  stopAfter?: number;
}

/** A parser fed by a PooledFeed, with the DATA handling of smtp-server's connection and a delivery that reads with chunksOf. */
class Session {
  readonly parser = new SMTPStream();
  readonly connection: { _parser: SMTPStream | false } = { _parser: this.parser };
  readonly commands: string[] = [];
  readonly messages: Buffer[] = [];
  readonly failures: unknown[] = [];
  /** Deliveries not finished. */
  running = 0;
  /** The most big blocks in use at once (all connections: there is only this one). */
  peakBlocks = 0;
  dataStream: ReturnType<SMTPStream['startDataMode']> | null = null;
  private resumed: (() => void) | null = null;
  private readonly landing = Buffer.alloc(300_000);
  readonly feed: PooledFeed;

  constructor(private readonly options: Options = {}) {
    const socket = {
      destroyed: false,
      resume: () => {
        const r = this.resumed;
        this.resumed = null;
        r?.();
      },
    };
    this.feed = new PooledFeed(this.connection, socket, this.parser);
    this.feed.trackDataStreams();
    this.parser.oncommand = (line: Buffer, next?: () => void) => {
      const command = line.toString('latin1');
      this.commands.push(command);
      if (command === 'DATA') this.deliver(this.parser.startDataMode());
      next?.();
    };
  }

  /** As LmtpServer.deliver: the stream read by chunksOf; smtp-server continues with the next command once it has ended. */
  private deliver(stream: ReturnType<SMTPStream['startDataMode']>): void {
    this.dataStream = stream;
    this.running++;
    void (async () => {
      const chunks: Buffer[] = [];
      let n = 0;
      try {
        for await (const chunk of chunksOf(stream, undefined, chunkHoldsOf(stream), this.options.consumerCopies ?? true)) {
          if (this.options.slow) await new Promise((r) => setImmediate(r));
          // With consumerCopies the chunk is only valid until the next one is asked for: copied here, as the blob writer does.
          chunks.push(this.options.consumerCopies === false ? chunk : Buffer.from(chunk));
          if (++n === this.options.stopAfter) break;
        }
        if (n === this.options.stopAfter) {
          // As the delivery after a failed ingest: the rest of the message is read and dropped.
          stream.resume();
          await new Promise((r) => stream.once('end', r));
        } else {
          this.messages.push(Buffer.concat(chunks));
        }
        this.parser.continue();
      } catch (err) {
        this.failures.push(err);
      } finally {
        this.running--;
      }
    })();
  }

  /** Reads `input` in pieces of the given sizes (cycled), as the socket would: each read's bytes are valid only during onRead. */
  async read(input: Buffer, sizes: number[]): Promise<void> {
    for (let pos = 0, k = 0; pos < input.length; k++) {
      const n = Math.min(sizes[k % sizes.length]!, input.length - pos);
      input.copy(this.landing, 0, pos, pos + n);
      const more = this.feed.onRead(this.landing.subarray(0, n));
      this.landing.fill(0xdd, 0, n);
      this.peakBlocks = Math.max(this.peakBlocks, readBlockPool.inUse);
      pos += n;
      if (!more) await new Promise<void>((r) => (this.resumed = r));
    }
  }

  /** The client's FIN after everything was read; resolves once the parser has handled all. */
  async end(): Promise<void> {
    const finished = new Promise<void>((resolve, reject) => {
      this.parser.once('finish', resolve);
      this.parser.once('error', reject);
    });
    this.feed.onEnd();
    await finished;
    await settle(() => this.running === 0, 'the delivery to end');
  }
}

/** Fills every released block with 0xEE before it goes back (restored by the returned function). */
function poisonReleases(): () => void {
  for (const pool of pools) {
    const release = pool.release;
    pool.release = function (this: BufferPool, buf: Buffer) {
      buf.fill(0xee);
      release.call(this, buf);
    };
  }
  return () => {
    for (const pool of pools) delete (pool as { release?: unknown }).release;
  };
}

/** The session's bytes on the wire for a message (lines without CR/LF): dots stuffed, the final dot, then more commands. */
function wire(lines: string[]): { input: Buffer; message: Buffer } {
  const message = Buffer.from(lines.map((l) => l + '\r\n').join(''), 'latin1');
  const data = lines.map((l) => (l.startsWith('.') ? '.' + l : l) + '\r\n').join('');
  const input = Buffer.from(`LHLO mta.test\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n${data}.\r\nRSET\r\nNOOP\r\nQUIT\r\n`, 'latin1');
  return { input, message };
}

const COMMANDS = ['LHLO mta.test', 'MAIL FROM:<a@b.example>', 'RCPT TO:<c@d.example>', 'DATA', 'RSET', 'NOOP', 'QUIT'];

/** Lines rich in dots, of every length up to a few KB. */
function bigLines(count: number, seed: number): string[] {
  const lines: string[] = [];
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const len = x % 5 === 0 ? 0 : (x >>> 8) % 3000;
    const body = String.fromCharCode(97 + (i % 26)).repeat(len);
    lines.push(x % 3 === 0 ? '.' + body : x % 7 === 0 ? '..' + body : body);
  }
  return lines;
}

describe('LMTP parser fed from pooled reads', () => {
  let unpoison: () => void;
  let base: number[];
  before(() => {
    assert.ok(useLinearDataPhase(), 'the checked smtp-server version (the feed is only used with it)');
    unpoison = poisonReleases();
    base = inUse();
  });
  after(() => unpoison());

  async function run(lines: string[], sizes: number[], options: Options = {}): Promise<Session> {
    const s = new Session(options);
    const { input, message } = wire(lines);
    await s.read(input, sizes);
    await s.end();
    assert.deepEqual(s.failures, []);
    assert.deepEqual(s.commands, COMMANDS);
    if (options.stopAfter === undefined) {
      assert.equal(s.messages.length, 1);
      assert.ok(s.messages[0]!.equals(message), 'the message as sent, dots undone');
    }
    assert.equal(s.feed.reads.blockCount, 0, 'the connection holds no block');
    assert.deepEqual(inUse(), base, 'every block is back in its pool');
    return s;
  }

  test('random messages and cuts: the same message and commands, every block back', async () => {
    const line = fc.oneof(
      fc.constantFrom('', '.', '..', '...', '.\r', 'x.', ' .'),
      fc.tuple(fc.constantFrom('', '.', '..'), fc.integer({ min: 0, max: 400 })).map(([dots, n]) => dots + 'y'.repeat(n)),
    );
    const sizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 7, max: 700 }), fc.integer({ min: 16_000, max: 70_000 })), {
      minLength: 1,
      maxLength: 12,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 300 }), sizes, fc.boolean(), fc.boolean(), async (lines, cuts, slow, consumerCopies) => {
        await run(lines, cuts, { slow, consumerCopies });
      }),
      { numRuns: 150 },
    );
  });

  test('a big message read in blocks of every size, cut at each byte of the final "\\r\\n.\\r\\n" and of a stuffed dot', async () => {
    const lines = bigLines(600, 7); // about 900 KB
    const { input } = wire(lines);
    const end = input.indexOf('\r\n.\r\nRSET');
    const stuffedDot = input.lastIndexOf('\r\n..', end - 1);
    for (const seam of [end, stuffedDot]) {
      for (let k = 0; k <= 5; k++) {
        const cut = seam + k;
        // Reads of 256 KiB up to the cut (several blocks), then one of the rest of the seam, then the rest.
        const s = new Session({ slow: k % 2 === 0 });
        const { message } = wire(lines);
        await s.read(input.subarray(0, cut), [262_144, 70_001, 3]);
        await s.read(input.subarray(cut), [k + 1, 262_144]);
        await s.end();
        assert.deepEqual(s.failures, []);
        assert.deepEqual(s.commands, COMMANDS);
        assert.ok(s.messages[0]!.equals(message), `cut at seam + ${k}`);
        assert.deepEqual(inUse(), base, 'every block is back in its pool');
      }
    }
  });

  test('a delivery that keeps its chunks (a blob store whose writer does not copy) gets copies', async () => {
    await run(bigLines(300, 3), [262_144, 9_999], { consumerCopies: false, slow: true });
  });

  test('a delivery that stops early: the rest of the message is dropped as it comes, the commands after it run', async () => {
    const s = await run(bigLines(2000, 5), [262_144, 50_000], { stopAfter: 2, slow: true });
    assert.ok(s.peakBlocks - base[0]! <= 4, `at most 4 blocks of 256 KiB in use at once for 3 MB (${s.peakBlocks - base[0]!})`);
  });

  test('backpressure: a slow delivery of 3 MB holds a few blocks at a time', async () => {
    const s = await run(bigLines(2000, 6), [262_144], { slow: true });
    assert.ok(s.peakBlocks - base[0]! <= 4, `at most 4 blocks of 256 KiB in use at once (${s.peakBlocks - base[0]!})`);
  });

  test('the client goes away mid-DATA, pieces still waiting in the data stream: every block back', async () => {
    const s = new Session({ slow: true });
    const { input } = wire(bigLines(600, 9));
    // Half the message, then no more reads: the delivery is slow, so the data stream holds pieces and the parser a read.
    await s.read(input.subarray(0, input.length >> 1), [262_144, 100_000]);
    const stream = s.dataStream;
    assert.ok(stream);
    assert.ok(stream.readableLength + stream.writableLength > 0 || s.parser.writableLength > 0, 'bytes still wait (the case tested)');
    // What smtp-server does when the socket closes (SMTPConnection._onClose).
    s.parser.isClosed = true;
    s.connection._parser = false;
    stream.destroy(new Error('Connection closed before the message was received in full'));
    await settle(() => s.running === 0 && inUse().every((n, i) => n === base[i]), 'the blocks to go back');
    assert.equal(s.failures.length, 1, 'the delivery failed');
    assert.equal(s.feed.reads.blockCount, 0);
    // Later reads (the rest of the connection's bytes) are dropped without a block.
    assert.equal(s.feed.onRead(Buffer.from('RSET\r\n')), true);
    assert.deepEqual(inUse(), base);
  });
});
