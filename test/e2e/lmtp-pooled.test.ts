// LMTP deliveries over pooled socket reads (src/lmtp/pooled-feed.ts,
// src/util/pooled-reads.ts): the server's reads land in blocks that go back
// to a pool and are handed out again, so these deliveries prove that every
// stored message is byte for byte what was sent (dots undone), that the
// commands pipelined after a message are read as before, and that every
// block goes back to the pool: after the deliveries, and after a client
// that goes away in the middle of DATA. Released blocks are filled with
// 0xEE here, so a view used after its block was released shows as wrong
// bytes in a stored message.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import type { BufferPool } from '../../src/util/buffer-pool.js';
import { readBlockPool, smallReadBlockPool } from '../../src/util/pooled-reads.js';
import { waitFor } from '../support/postgres.js';
import { pseudoRandom } from '../support/pseudo-random.js';
import { messagesIn, startLmtpFixture, stopLmtpFixture, type LmtpFixture } from './lmtp-fixture.js';
import { LmtpClient } from './wire-clients.js';

const pools: BufferPool[] = [readBlockPool, smallReadBlockPool];

/** Fills every released block with 0xEE before it goes back (restored by the returned function). */
function poisonReleases(): () => void {
  const restores = pools.map((pool) => {
    const release = pool.release;
    pool.release = function (this: BufferPool, buf: Buffer) {
      buf.fill(0xee);
      release.call(this, buf);
    };
    return () => {
      delete (pool as { release?: unknown }).release;
    };
  });
  return () => restores.forEach((r) => r());
}

const inUse = () => pools.map((p) => p.inUse);

/**
 * A message of about `size` bytes whose lines often start with a dot (so
 * dot-stuffing falls on every block boundary sooner or later), some of them
 * only a dot, of every length, different for every seed.
 */
function dottedMessage(size: number, seed: number): Buffer {
  const noise = pseudoRandom(size, seed);
  const lines = [`From: s@example.net`, `Subject: pooled ${seed}`, ''];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const n = noise[i % noise.length]!;
    const length = n % 7 === 0 ? 0 : (n * 7 + i) % 180;
    const text = noise.subarray(i % (noise.length - 200), (i % (noise.length - 200)) + length).toString('base64').slice(0, length);
    const line = n % 3 === 0 ? '.' + text : n % 11 === 0 ? '..' + text : text;
    lines.push(line);
    total += line.length + 2;
  }
  return Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
}

/** The message as sent in DATA (dots stuffed), without the final ".\r\n". */
function stuffed(message: Buffer): Buffer {
  return Buffer.from(message.toString('latin1').replace(/^\./gm, '..'), 'latin1');
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type Fixture = LmtpFixture;
const startFixture = (options: { blobs?: (real: FsBlobStore) => FsBlobStore } = {}): Promise<Fixture> =>
  startLmtpFixture({ maxMessageSize: 16 * 1024 * 1024, ...options });
const stopFixture = stopLmtpFixture;

function assertSame(stored: Buffer | undefined, expected: Buffer, what: string): void {
  assert.ok(stored, `${what}: not stored`);
  assert.equal(stored.length, expected.length, `${what}: length`);
  assert.equal(sha256(stored), sha256(expected), `${what}: bytes differ`);
}

/** Greeting, then LHLO, MAIL, RCPT TO `rcpt` and DATA pipelined: resolves at the 354. */
async function startData(c: LmtpClient, rcpt: string): Promise<void> {
  await c.reply();
  await c.write(`LHLO mta.test\r\nMAIL FROM:<s@example.net>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
  for (let i = 0; i < 3; i++) assert.match(await c.reply(), /^250[ -]/);
  assert.match(await c.reply(), /^354 /);
}

/** One transaction on a new connection: DATA with `message` whole, then QUIT; returns the reply to the message (QUIT's 221 checked). */
async function deliverAndQuit(port: number, rcpt: string, message: Buffer): Promise<string> {
  const c = await LmtpClient.connect(port);
  try {
    await startData(c, rcpt);
    await c.write(Buffer.concat([stuffed(message), Buffer.from('.\r\nQUIT\r\n')]));
    const reply = await c.reply();
    assert.match(await c.reply(), /^221 /);
    return reply;
  } finally {
    c.close();
  }
}

/** The store with each writer's write() replaced by `write(writer, chunk)` (the rest is the real writer's). */
function withWrite(real: FsBlobStore, write: (writer: ReturnType<FsBlobStore['beginWrite']>, chunk: Buffer) => Promise<void>): FsBlobStore {
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'beginWrite') {
        return () => {
          const writer = target.beginWrite();
          return new Proxy(writer, {
            get(w, wp) {
              if (wp === 'write') return (chunk: Buffer) => write(w, chunk);
              const value = Reflect.get(w, wp) as unknown;
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(w) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('LMTP over pooled socket reads', () => {
  let f: Fixture;
  let unpoison: () => void;
  let base: number[];
  before(async () => {
    f = await startFixture();
    unpoison = poisonReleases();
    base = inUse();
  });
  after(async () => {
    unpoison();
    await stopFixture(f);
  });

  test('big dot-stuffed messages with commands pipelined after their final dot are stored exactly; every block goes back', async () => {
    const first = dottedMessage(3_000_000, 1);
    const second = dottedMessage(700_000, 2);
    const third = dottedMessage(40_000, 3);
    const c = await LmtpClient.connect(f.port);
    try {
      assert.match(await c.reply(), /^220 /);
      await c.write('LHLO mta.test\r\n');
      assert.match(await c.reply(), /^250[ -]/);
      await c.write('MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n');
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^354 /);
      // The message in pieces of odd sizes, then its end and the next transaction in one write.
      const wire = stuffed(first);
      for (let pos = 0, k = 0; pos < wire.length; k++) {
        const n = [65_537, 300_001, 4_099, 262_144][k % 4]!;
        await c.write(wire.subarray(pos, pos + n));
        pos += n;
      }
      await c.write('.\r\nMAIL FROM:<t@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n');
      assert.match(await c.reply(), /^250 2\.\d\.\d /, 'first message');
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^354 /);
      // All of the second message, its end, the third transaction and its message in one write.
      await c.write(Buffer.concat([stuffed(second), Buffer.from('.\r\nMAIL FROM:<u@example.net>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n')]));
      assert.match(await c.reply(), /^250 2\.\d\.\d /, 'second message');
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^354 /);
      await c.write(Buffer.concat([stuffed(third), Buffer.from('.\r\nNOOP\r\nQUIT\r\n')]));
      assert.match(await c.reply(), /^250 2\.\d\.\d /, 'third message');
      assert.match(await c.reply(), /^250[ -]/);
      assert.match(await c.reply(), /^221 /);
    } finally {
      c.close();
    }
    assertSame((await messagesIn(f, f.alice)).at(-1), Buffer.concat([Buffer.from('Return-Path: <s@example.net>\r\n'), first]), 'first');
    const bobs = await messagesIn(f, f.bob);
    assertSame(bobs.at(-2), Buffer.concat([Buffer.from('Return-Path: <t@example.net>\r\n'), second]), 'second');
    assertSame(bobs.at(-1), Buffer.concat([Buffer.from('Return-Path: <u@example.net>\r\n'), third]), 'third');
    await waitFor(() => inUse().every((n, i) => n === base[i]), 5000, 'the read blocks to go back to the pools');
    assert.ok(readBlockPool.freeCount > 0, 'the reads went through the pooled blocks (Node internals as expected)');
  });

  test('a client that goes away in the middle of DATA: nothing stored, every block goes back, the next delivery is exact', async () => {
    const before = (await messagesIn(f, f.alice)).length;
    const message = dottedMessage(2_000_000, 4);
    const c = await LmtpClient.connect(f.port);
    try {
      await startData(c, 'alice@example.org');
      await c.write(stuffed(message).subarray(0, 1_234_567));
    } finally {
      c.close();
    }
    await waitFor(() => inUse().every((n, i) => n === base[i]), 5000, 'the read blocks to go back to the pools');
    assert.equal((await messagesIn(f, f.alice)).length, before, 'nothing stored');

    // The blocks it left (filled with 0xEE) are read into again.
    const again = dottedMessage(1_500_000, 5);
    assert.match(await deliverAndQuit(f.port, 'alice@example.org', again), /^250 2\.\d\.\d /);
    assertSame((await messagesIn(f, f.alice)).at(-1), Buffer.concat([Buffer.from('Return-Path: <s@example.net>\r\n'), again]), 'after the dropped one');
    await waitFor(() => inUse().every((n, i) => n === base[i]), 5000, 'the read blocks to go back to the pools');
  });
});

describe('LMTP over pooled socket reads, blob writer slower than the client', () => {
  test('the server stops reading while the writer is behind: a few blocks in use, not the message', async () => {
    let writes = 0;
    let peakBlocks = 0;
    /** Each write of the blob writer returns only after a few turns of the event loop (the client, in this process, keeps sending meanwhile). */
    const slowWriter = (real: FsBlobStore): FsBlobStore =>
      withWrite(real, async (w, chunk) => {
        writes++;
        peakBlocks = Math.max(peakBlocks, readBlockPool.inUse);
        await w.write(chunk);
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      });
    const f = await startFixture({ blobs: slowWriter });
    const base = readBlockPool.inUse;
    const message = dottedMessage(8_000_000, 6);
    try {
      assert.match(await deliverAndQuit(f.port, 'bob@example.org', message), /^250 2\.\d\.\d /);
      assertSame((await messagesIn(f, f.bob)).at(-1), Buffer.concat([Buffer.from('Return-Path: <s@example.net>\r\n'), message]), 'slowly written');
      assert.ok(writes > 20, `the message went through the slow writer (${writes} writes)`);
      // 8 MB is 31 blocks of 256 KiB: held by the parser, the data stream and the chunk being written, a handful at most.
      assert.ok(peakBlocks - base <= 6, `at most 6 blocks in use while the writer is behind (${peakBlocks - base})`);
    } finally {
      await stopFixture(f);
    }
  });
});

describe('LMTP over pooled socket reads, failures', () => {
  /** The largest number of big read blocks in use at once from now on (read at each acquire). */
  function trackPeak(): { peak: () => number; stop: () => void } {
    let peak = readBlockPool.inUse;
    const acquire = readBlockPool.acquire;
    readBlockPool.acquire = function (this: BufferPool) {
      const buf = acquire.call(this);
      peak = Math.max(peak, readBlockPool.inUse);
      return buf;
    };
    return { peak: () => peak, stop: () => delete (readBlockPool as { acquire?: unknown }).acquire };
  }

  test('a blob writer that fails at once: the rest of the message is read and released block by block, not held', async () => {
    const failingWriter = (real: FsBlobStore): FsBlobStore =>
      withWrite(real, () => Promise.reject(Object.assign(new Error('no space left'), { code: 'ENOSPC' })));
    const f = await startFixture({ blobs: failingWriter });
    const base = inUse();
    const tracker = trackPeak();
    try {
      // 8 MB is 31 blocks of 256 KiB.
      assert.match(await deliverAndQuit(f.port, 'alice@example.org', dottedMessage(8_000_000, 7)), /^4\d\d /, 'a temporary failure for the recipient');
      assert.ok(tracker.peak() - base[0]! <= 8, `a few blocks in use at most, not the message (${tracker.peak() - base[0]!})`);
      assert.deepEqual(await messagesIn(f, f.alice), []);
    } finally {
      tracker.stop();
    }
    await waitFor(() => inUse().every((n, i) => n === base[i]), 5000, 'the read blocks to go back to the pools');
    await stopFixture(f);
  });

  test('a command line too long ends the connection: its read blocks go back to the pools', async () => {
    const f = await startFixture();
    const base = inUse();
    const c = await LmtpClient.connect(f.port);
    try {
      await c.reply();
      assert.match(await c.command('LHLO mta.test'), /^250/);
      await c.write(Buffer.alloc(40_000, 'x'));
      assert.match(await c.reply(), /^421 /);
    } finally {
      c.close();
    }
    await waitFor(() => inUse().every((n, i) => n === base[i]), 5000, 'the read blocks to go back to the pools');
    await stopFixture(f);
  });
});
