// APPEND over pooled socket reads and pooled blob write buffers
// (src/util/pooled-reads.ts, src/util/buffer-pool.ts, the file blob writer):
// memory is reused from one read, one message and one connection to the
// next, so these transcripts prove that no byte of one message ends up in
// another. Blobs are content-addressed: a message stored byte for byte is
// the blob named by the SHA-256 of the bytes sent, holding exactly them.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readBlockPool } from '../../src/util/pooled-reads.js';
import { compressed } from './compress-client.js';
import { Client, startTestServer, type TestServer } from './transcript.js';
import { pseudoRandom } from '../support/pseudo-random.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(async () => {
  await ts.close();
});

/**
 * A message of about `size` bytes, different for every seed: a short text
 * part and a base64 attachment in 76-character lines (an attachment, as in
 * the bench: a top-level base64 text body would be decoded for the search
 * index, which is slow and beside the point here).
 */
function bigMessage(size: number, seed: number): Buffer {
  const head = Buffer.from(
    `From: a@example.org\r\nSubject: pooled ${seed}\r\nContent-Type: multipart/mixed; boundary="b${seed}"\r\n\r\n` +
      `--b${seed}\r\nContent-Type: text/plain\r\n\r\nmessage ${seed}\r\n` +
      `--b${seed}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--b${seed}--\r\n`);
  const b64 = pseudoRandom(Math.max(57, Math.ceil(((size - head.length - tail.length) * 57) / 78)), seed).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return Buffer.concat([head, Buffer.from(lines.join('\r\n')), tail]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The message is stored under the hash of exactly its bytes, and the blob holds exactly them. */
async function assertStored(message: Buffer): Promise<void> {
  const id = sha256(message);
  assert.ok(await ts.blobs.has(id), `no blob under the SHA-256 of the ${message.length} bytes sent`);
  const stored = await ts.blobs.readBuffer(id);
  assert.equal(stored.length, message.length);
  assert.ok(stored.equals(message), 'the blob differs from the bytes sent');
}

/** Sends `data` in pieces of `piece` bytes, each in its own write, waiting for the socket to take each. */
async function sendInPieces(c: Client, data: Buffer, piece: number): Promise<void> {
  // Small writes must not wait for the server's delayed ACK (Nagle).
  c.socket.setNoDelay(true);
  for (let i = 0; i < data.length; i += piece) {
    const ok = c.socket.write(data.subarray(i, i + piece));
    if (!ok) await new Promise((r) => c.socket.once('drain', r));
  }
}

test('big APPENDs on two connections at once, interleaved, then smaller ones: every blob is byte for byte what was sent', async () => {
  const a = await ts.login();
  const b = await ts.login();
  const first = [bigMessage(1_500_000, 1), bigMessage(1_200_001, 2)];
  a.send(`A1 APPEND INBOX {${first[0]!.length}}\r\n`);
  b.send(`B1 APPEND INBOX {${first[1]!.length}}\r\n`);
  await a.expect(['+ Ready for literal']);
  await b.expect(['+ Ready for literal']);
  // Interleaved, in pieces that straddle the 64 KiB blocks: both connections read into the shared pool at once.
  for (let off = 0; off < Math.max(first[0]!.length, first[1]!.length); off += 50_000) {
    await sendInPieces(a, first[0]!.subarray(off, off + 50_000), 7_000);
    await sendInPieces(b, first[1]!.subarray(off, off + 50_000), 13_000);
  }
  a.send('\r\n');
  b.send('\r\n');
  await a.expectMatch(/^A1 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  await b.expectMatch(/^B1 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  for (const m of first) await assertStored(m);
  assert.ok(readBlockPool.freeCount > 0, 'the socket reads went through the pooled blocks (Node internals as expected)');

  // Shorter messages on the same connections now reuse the blocks and write buffers the big ones left behind.
  const second = [bigMessage(300_000, 3), bigMessage(70_000, 4), bigMessage(5_000, 5)];
  for (const [i, m] of second.entries()) {
    const c = i % 2 === 0 ? a : b;
    c.send(`C${i} APPEND INBOX {${m.length}}\r\n`);
    await c.expect(['+ Ready for literal']);
    await sendInPieces(c, m, 65_536);
    c.send('\r\n');
    await c.expectMatch(new RegExp(`^C${i} OK \\[APPENDUID \\d+ \\d+\\] APPEND completed$`));
    await assertStored(m);
  }
  // Commands after a pooled APPEND are framed as before.
  await a.run('n1 NOOP', ['n1 OK NOOP completed']);
  await b.run('n2 LOGOUT', ['* BYE Logging out', 'n2 OK LOGOUT completed']);
});

test('LITERAL+ APPENDs pipelined in one write with the next command, after the switch to pooled reads', async () => {
  const c = await ts.login();
  // The first APPEND switches the connection to pooled reads.
  const m0 = bigMessage(100_000, 10);
  c.send(`P0 APPEND INBOX {${m0.length}}\r\n`);
  await c.expect(['+ Ready for literal']);
  c.send(Buffer.concat([m0, Buffer.from('\r\n')]));
  await c.expectMatch(/^P0 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  const m1 = bigMessage(200_000, 11);
  const m2 = bigMessage(3_000, 12);
  c.send(
    Buffer.concat([
      Buffer.from(`P1 APPEND INBOX {${m1.length}+}\r\n`),
      m1,
      Buffer.from(`\r\nP2 APPEND INBOX {${m2.length}+}\r\n`),
      m2,
      Buffer.from('\r\nP3 NOOP\r\n'),
    ]),
  );
  await c.expectMatch(/^P1 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  await c.expectMatch(/^P2 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  await c.expect(['P3 OK NOOP completed']);
  for (const m of [m0, m1, m2]) await assertStored(m);
  // IDLE reads its DONE line through the same pooled reads.
  c.send('P4 SELECT INBOX\r\n');
  const selected = await c.until('P4');
  const exists = Number(/^\* (\d+) EXISTS$/.exec(selected.find((l) => / EXISTS$/.test(l))!)![1]);
  c.send('P5 IDLE\r\n');
  await c.expect(['+ idling']);
  await ts.deliver('alice', 'INBOX', 'Subject: during IDLE\n\nhi\n');
  await c.expect([`* ${exists + 1} EXISTS`]);
  c.send('DONE\r\n');
  await c.expect(['P5 OK IDLE terminated']);
});

test('a client gone in the middle of a literal leaves the next APPENDs intact', async () => {
  const gone = await ts.login();
  const cut = bigMessage(800_000, 20);
  gone.send(`G1 APPEND INBOX {${cut.length}}\r\n`);
  await gone.expect(['+ Ready for literal']);
  await sendInPieces(gone, cut.subarray(0, 500_000), 65_536);
  gone.destroy();
  const c = await ts.login();
  const m = bigMessage(600_000, 21);
  c.send(`G2 APPEND INBOX {${m.length}}\r\n`);
  await c.expect(['+ Ready for literal']);
  await sendInPieces(c, Buffer.concat([m, Buffer.from('\r\n')]), 30_000);
  await c.expectMatch(/^G2 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  await assertStored(m);
  assert.equal(await ts.blobs.has(sha256(cut)), false);
});

test('COMPRESS=DEFLATE after a pooled APPEND: the socket is read as a stream again and the next APPEND is intact', async () => {
  const c = await ts.login();
  const m0 = bigMessage(150_000, 30);
  c.send(`Z0 APPEND INBOX {${m0.length}}\r\n`);
  await c.expect(['+ Ready for literal']);
  c.send(Buffer.concat([m0, Buffer.from('\r\n')]));
  await c.expectMatch(/^Z0 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  const { client: z } = await compressed(c, 'Z1');
  const m1 = bigMessage(400_000, 31);
  z.send(`Z2 APPEND INBOX {${m1.length}}\r\n`);
  await z.expect(['+ Ready for literal']);
  z.send(Buffer.concat([m1, Buffer.from('\r\n')]));
  await z.expectMatch(/^Z2 OK \[APPENDUID \d+ \d+\] APPEND completed$/);
  await z.run('Z3 NOOP', ['Z3 OK NOOP completed']);
  for (const m of [m0, m1]) await assertStored(m);
});
