// Pooled socket reads (src/util/pooled-reads.ts): blocks are shared by the
// views copied into them and go back to the pool only when the framer has
// consumed every view and every literal hold is dropped; and on this Node
// an accepted socket can be switched to reading into the landing buffer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PooledReads, READ_BLOCK, SMALL_READ_BLOCK, enablePooledReads, readBlockPool, smallReadBlockPool } from '../../../src/util/pooled-reads.js';

test('small reads share a block; it returns to the pool once every view is consumed and every hold dropped', () => {
  const free0 = smallReadBlockPool.freeCount;
  const reads = new PooledReads(100); // 100 bytes were pushed before
  const v1 = reads.store(Buffer.from('hello'), 5);
  const v2 = reads.store(Buffer.from('world!'), 6);
  assert.equal(v1.toString(), 'hello');
  assert.equal(v2.toString(), 'world!');
  assert.equal(v1.buffer, v2.buffer, 'packed into one block');
  assert.equal(reads.blockCount, 1);
  const release = reads.hold(v2.subarray(2, 4));
  assert.ok(release);
  reads.consumedTo(105); // v1 consumed
  assert.equal(reads.blockCount, 1);
  reads.consumedTo(111); // v2 consumed, the hold remains
  assert.equal(reads.blockCount, 1);
  assert.equal(v2.toString(), 'world!', 'held bytes are untouched');
  release();
  release(); // idempotent
  assert.equal(reads.blockCount, 0, 'an idle connection holds no block');
  assert.equal(smallReadBlockPool.freeCount, free0 + 1);
  assert.equal(reads.hold(Buffer.from('not pooled')), null);
});

test('a read that does not fit the rest of the block starts a new one; skip() keeps positions for unpooled chunks', () => {
  const reads = new PooledReads(0);
  const big = Buffer.alloc(READ_BLOCK - 10, 0x61);
  const v1 = reads.store(big, big.length);
  reads.skip(7); // an unpooled chunk in between
  const v2 = reads.store(Buffer.alloc(20, 0x62), 20);
  assert.notEqual(v1.buffer, v2.buffer);
  assert.equal(reads.blockCount, 2);
  reads.consumedTo(big.length + 7);
  assert.equal(reads.blockCount, 1);
  reads.consumedTo(big.length + 7 + 19);
  assert.equal(reads.blockCount, 1, 'v2 not wholly consumed');
  reads.dispose();
  assert.equal(reads.blockCount, 0);
});

test('a reused block carries no bytes of its earlier use into the views handed out', () => {
  for (const [size, pool, next] of [
    [SMALL_READ_BLOCK, smallReadBlockPool, 3],
    [READ_BLOCK, readBlockPool, SMALL_READ_BLOCK + 1],
  ] as const) {
    const a = new PooledReads(0);
    const block = a.store(Buffer.alloc(size, 0x53), size).buffer;
    a.dispose(); // back to the pool, still full of 0x53
    assert.ok(pool.freeCount > 0);
    const b = new PooledReads(0);
    const data = Buffer.alloc(next, 0x61);
    const v = b.store(data, next);
    assert.equal(v.buffer, block, 'the same memory, reused');
    assert.ok(v.equals(data));
    b.dispose();
  }
});

test('an accepted socket switched to pooled reads delivers every byte in order, pauses and resumes, then ends', async () => {
  const payload = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 11)) & 0xff;
  const received: Buffer[] = [];
  let pauses = 0;
  const done = new Promise<void>((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('data', (d: Buffer) => received.push(Buffer.from(d))); // before the switch (none expected)
      socket.on('error', reject);
      socket.on('end', () => {
        socket.end();
        server.close();
        resolve();
      });
      assert.equal(
        enablePooledReads(socket, (bytes) => {
          received.push(Buffer.from(bytes));
          // Every 10th read stops reading; resumed on the next turn of the loop.
          if (received.length % 10 === 0) {
            pauses++;
            setImmediate(() => socket.resume());
            return false;
          }
          return true;
        }),
        true,
        'Node internals as expected',
      );
    });
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => client.end(payload));
      client.resume();
    });
  });
  await done;
  assert.ok(Buffer.concat(received).equals(payload));
  assert.ok(pauses > 0);
});

test('a socket with unread buffered data is not switched (later reads would overtake it)', async () => {
  await new Promise<void>((resolve) => {
    const server = net.createServer((socket) => {
      socket.pause();
      socket.once('readable', () => {
        assert.ok(socket.readableLength > 0);
        assert.equal(enablePooledReads(socket, () => true), false);
        socket.destroy();
        server.close();
        resolve();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => client.write('x'));
      client.on('error', () => {});
      client.on('close', () => {});
    });
  });
});
