// Streaming: APPEND of a 200 MB literal and FETCH BODY[] of it, with the
// server's peak resident memory growing by less than 64 MB: message data flows
// socket -> blob store and blob store -> socket without being held whole.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { after, describe, test } from 'node:test';
import { startServer, type RunningServer } from './harness.js';
import { RawImap } from './wire-clients.js';

const SIZE = 200 * 1024 * 1024;
/**
 * The file blob store keeps to 64 MB (43-51 MB measured). The PostgreSQL one
 * needs more: postgres.js allocates every message it reads and copies each
 * chunk on its way out, so the garbage depends on when the collector runs
 * (54-58 MB in 11 runs alone, 89 MB once in a full CI run). Either bound
 * still fails a server that holds the 200 MB message whole.
 */
const LIMIT_GROWTH = (process.env.PETREL_TEST_BACKEND === 'postgres' ? 128 : 64) * 1024 * 1024;

/** Resets the process's peak RSS to its current RSS (Linux: clear_refs 5), so startup peaks do not hide growth. */
async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Peak resident set size (VmHWM) of a process, in bytes (Linux). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  assert.ok(kb, 'VmHWM in /proc status');
  return Number(kb[1]) * 1024;
}

/** A deterministic 200 MB message: a header, then 1 MB blocks of text lines. */
function* messageChunks(): Generator<Buffer> {
  const header = Buffer.from('From: big@example.org\r\nSubject: big one\r\nContent-Type: text/plain\r\n\r\n');
  yield header;
  const line = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < block.length; i += line.length) line.copy(block, i, 0, Math.min(line.length, block.length - i));
  let left = SIZE - header.length;
  while (left > 0) {
    const n = Math.min(left, block.length);
    yield n === block.length ? block : block.subarray(0, n);
    left -= n;
  }
}

describe('streaming of big messages', () => {
  let server: RunningServer | undefined;
  after(async () => {
    await server?.cleanup();
  });

  test(`APPEND and FETCH of a 200 MB message keep the server under +${LIMIT_GROWTH / 1048576} MB`, async (t) => {
    server = await startServer({
      users: { big: 'pw' },
      env: { PETREL_LIMITS_MAX_MESSAGE_SIZE: String(256 * 1024 * 1024) },
    });
    const pid = server.process.pid!;
    const imap = await RawImap.connect(server.imapPort);
    try {
      assert.match((await imap.command('LOGIN big pw')).tagged, /^OK/);
      await resetPeakRss(pid);
      const baseline = await peakRss(pid);

      const sent = createHash('sha256');
      const tag = imap.nextTag();
      imap.socket.write(`${tag} APPEND INBOX {${SIZE}}\r\n`);
      assert.match(await imap.reader.line(), /^\+ /);
      for (const chunk of messageChunks()) {
        sent.update(chunk);
        if (!imap.socket.write(chunk)) await new Promise((r) => imap.socket.once('drain', r));
      }
      imap.socket.write('\r\n');
      const appended = await imap.collect(tag);
      assert.match(appended.tagged, /^OK \[APPENDUID \d+ 1\]/);

      assert.match((await imap.command('SELECT INBOX')).tagged, /^OK/);
      const received = createHash('sha256');
      let receivedSize = 0;
      const fetched = await imap.command('UID FETCH 1 (BODY.PEEK[])', async (size, reader) => {
        receivedSize = size;
        await reader.bytes(size, (c) => received.update(c));
      });
      assert.match(fetched.tagged, /^OK/);
      assert.equal(receivedSize, SIZE);
      assert.equal(received.digest('hex'), sent.digest('hex'));

      const growth = (await peakRss(pid)) - baseline;
      t.diagnostic(`server peak RSS growth during APPEND + FETCH of 200 MB: ${(growth / 1048576).toFixed(1)} MB`);
      assert.ok(growth < LIMIT_GROWTH, `peak RSS grew by ${(growth / 1048576).toFixed(1)} MB`);
      await imap.command('LOGOUT');
    } finally {
      imap.close();
    }
  });
});
