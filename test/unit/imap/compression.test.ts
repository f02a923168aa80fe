// DeflateStream (COMPRESS=DEFLATE transport): round trip against plain
// node:zlib, sync flush per write, backpressure in both directions (memory
// stays bounded when nobody reads), and invalid input reported, not thrown.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Duplex, PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { DeflateStream } from '../../../src/imap/compression.js';

/** A fake socket: what the DeflateStream writes lands in `sent`; `incoming` feeds it. */
function fakeSocket(options: { readWire?: boolean } = {}): { inner: Duplex; sent: PassThrough; incoming: PassThrough } {
  const sent = new PassThrough({ highWaterMark: 16 * 1024 });
  const incoming = new PassThrough({ highWaterMark: 16 * 1024 });
  const inner = Duplex.from({ readable: incoming, writable: sent });
  if (options.readWire === false) sent.pause();
  return { inner, sent, incoming };
}

const waitFor = async (cond: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 10000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
};

describe('DeflateStream', () => {
  test('each write is sync-flushed: the peer can inflate it at once; peer data is inflated', async () => {
    const { inner, sent, incoming } = fakeSocket();
    const errors: Error[] = [];
    const stream = new DeflateStream(inner, { onInflateError: (e) => errors.push(e) });
    const peerInflate = zlib.createInflateRaw();
    sent.pipe(peerInflate);
    const got: Buffer[] = [];
    peerInflate.on('data', (d: Buffer) => got.push(d));
    stream.write(Buffer.from('* OK Still here\r\n'));
    await waitFor(() => Buffer.concat(got).toString() === '* OK Still here\r\n', 'the flushed line');

    const peerDeflate = zlib.createDeflateRaw();
    peerDeflate.pipe(incoming);
    const read: Buffer[] = [];
    stream.on('data', (d: Buffer) => read.push(d));
    peerDeflate.write('a NOOP\r\n');
    peerDeflate.flush(zlib.constants.Z_SYNC_FLUSH);
    await waitFor(() => Buffer.concat(read).toString() === 'a NOOP\r\n', 'the inflated command');
    assert.deepEqual(errors, []);
    stream.destroy();
  });

  test('writing to a peer that does not read stops at a bounded amount (write() returns false)', async () => {
    const { inner, sent } = fakeSocket({ readWire: false });
    const stream = new DeflateStream(inner, { onInflateError: () => {} });
    // Incompressible data, so the compressed output is as big as the input.
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7919 + (i >> 8) * 31) & 0xff;
    let written = 0;
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) {
      refused = !stream.write(chunk);
      written += chunk.length;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(refused, true, 'write() reports backpressure');
    assert.ok(written < 4 * 1024 * 1024, `stopped after ${written} bytes`);
    // Once the peer reads, drain comes.
    const drained = once(stream, 'drain');
    sent.resume();
    await drained;
    stream.destroy();
  });

  test('a small input that inflates hugely is not inflated faster than it is read', async () => {
    const { inner, incoming } = fakeSocket();
    const stream = new DeflateStream(inner, { onInflateError: () => {} });
    stream.pause();
    const bomb = zlib.deflateRawSync(Buffer.alloc(64 * 1024 * 1024, 0x61), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.ok(bomb.length < 128 * 1024);
    incoming.write(bomb);
    // Give zlib time to run as far as it would go.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.ok(stream.readableLength <= 1024 * 1024, `buffered ${stream.readableLength}`);
    // Reading it all still works.
    let total = stream.readableLength;
    stream.on('data', (d: Buffer) => (total += d.length));
    stream.resume();
    await waitFor(() => total >= 64 * 1024 * 1024, 'all inflated bytes');
    stream.destroy();
  });

  test('invalid compressed input is reported and destroys the stream, without throwing', async () => {
    const { inner, incoming } = fakeSocket();
    const errors: Error[] = [];
    const stream = new DeflateStream(inner, { onInflateError: (e) => errors.push(e) });
    stream.on('error', () => {});
    const closed = once(stream, 'close');
    incoming.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
    await closed;
    assert.equal(errors.length, 1);
    assert.equal(inner.destroyed, true);
  });

  test("the peer's FIN ends the readable side (no 'unexpected end of file')", async () => {
    const { inner, incoming } = fakeSocket();
    const errors: Error[] = [];
    const stream = new DeflateStream(inner, { onInflateError: (e) => errors.push(e) });
    const peerDeflate = zlib.createDeflateRaw();
    peerDeflate.on('data', (d: Buffer) => incoming.write(d));
    const read: Buffer[] = [];
    stream.on('data', (d: Buffer) => read.push(d));
    peerDeflate.write('x LOGOUT\r\n');
    await new Promise<void>((r) => peerDeflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    const ended = once(stream, 'end');
    incoming.end();
    await ended;
    assert.equal(Buffer.concat(read).toString(), 'x LOGOUT\r\n');
    assert.deepEqual(errors, []);
    stream.destroy();
  });
});
