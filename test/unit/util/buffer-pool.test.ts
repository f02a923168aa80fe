// BufferPool: reuse, the cap on kept buffers, and the guards against handing one buffer to two owners.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../../src/util/buffer-pool.js';

test('a released buffer is handed out again; at most maxFree are kept', () => {
  const pool = new BufferPool(1024, 2);
  const [a, b, c] = [pool.acquire(), pool.acquire(), pool.acquire()];
  assert.equal(a.length, 1024);
  pool.release(a);
  pool.release(b);
  pool.release(c); // over the cap: left to the collector
  assert.equal(pool.freeCount, 2);
  const again = [pool.acquire(), pool.acquire()];
  assert.ok(again.includes(a) && again.includes(b));
  assert.equal(pool.freeCount, 0);
  assert.notEqual(pool.acquire(), c);
});

test('a buffer released twice, a view or a foreign buffer is refused', () => {
  const pool = new BufferPool(64, 4);
  const a = pool.acquire();
  pool.release(a);
  assert.throws(() => pool.release(a), /released twice/);
  assert.throws(() => pool.release(Buffer.alloc(32)), /not a buffer of this pool/);
  const b = pool.acquire();
  assert.throws(() => pool.release(b.subarray(0, 64 - 1)), /not a buffer of this pool/);
});
