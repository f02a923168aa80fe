// Peak memory of one Petrel server while it stores and sends one big message:
// APPEND of a message of each --sizes MB, then FETCH 1 (BODY.PEEK[]) of it,
// over one IMAP session, on the file blob store (--backend fs) or in
// PostgreSQL (--backend postgres: a private PostgreSQL from
// test/support/postgres.ts, message bodies in its blob store). Run by hand:
//
//   node --import tsx bench/blob-memory.ts --backend postgres --sizes 50,200
//   node --import tsx bench/blob-memory.ts --backend fs --sizes 200
//
// Per operation: the growth of the server process's peak RSS (VmHWM, reset
// to the current RSS through /proc/<pid>/clear_refs right before it: needs
// the right to write that file), its RSS right after, its CPU time (utime +
// stime) and the wall time of the command. "APPEND+FETCH" is the larger of
// the two peaks over the RSS before the APPEND, what
// test/e2e/streaming.test.ts asserts (< 64 MB).
// The message is buildBigMessage's (a text part and a base64 attachment).
// The server runs the tree this file is in (test/e2e/harness.ts): to compare
// with another commit, copy this file into a checkout of it and run it there.

import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startServer, stopTestPostgres } from '../test/e2e/harness.js';
import { RawImap } from '../test/e2e/wire-clients.js';
import { peakRssMB, processCpuMs, resetPeakRss, rssMB } from '../test/support/proc.js';
import { buildBigMessage } from './scenarios/big-message.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'postgres' },
    sizes: { type: 'string', default: '50,200' },
  },
});
if (values.backend !== 'fs' && values.backend !== 'postgres') throw new Error('--backend is fs or postgres');
const sizesMB = values.sizes.split(',').map(Number);
if (sizesMB.some((n) => !(n > 0 && n <= 1000))) throw new Error('--sizes: MB, 1 to 1000 each');
if (values.backend === 'postgres') process.env.PETREL_TEST_BACKEND = 'postgres';

interface Probe {
  growthMB: number;
  rssAfterMB: number;
  cpuMs: number;
  wallMs: number;
  peakMB: number;
}

/** Runs `op` with the server's peak RSS reset first; its growth over the RSS before, the RSS after, the CPU and wall time used. */
async function probe(pid: number, op: () => Promise<void>): Promise<Probe> {
  const before = rssMB(pid);
  const cpuBefore = processCpuMs([pid]);
  if (!resetPeakRss(pid)) throw new Error(`cannot reset the peak RSS of ${pid} (/proc/${pid}/clear_refs)`);
  const start = performance.now();
  await op();
  const wallMs = performance.now() - start;
  const peak = peakRssMB(pid);
  return { growthMB: peak - before, rssAfterMB: rssMB(pid), cpuMs: processCpuMs([pid]) - cpuBefore, wallMs, peakMB: peak };
}

const fmt = (n: number) => n.toFixed(1).padStart(7);

/** A fresh server per size (the first big operation of a process costs more than later ones). */
async function measure(sizeMB: number): Promise<void> {
  const message = buildBigMessage(sizeMB * 1024 * 1024).bytes;
  const server = await startServer({
    users: { big: 'pw' },
    env: { PETREL_LIMITS_MAX_MESSAGE_SIZE: String(message.length + 1024 * 1024) },
  });
  const imap = await RawImap.connect(server.imapPort);
  try {
    const pid = server.process.pid!;
    if (!(await imap.command('LOGIN big pw')).tagged.startsWith('OK')) throw new Error('LOGIN failed');
    if (!(await imap.command('SELECT INBOX')).tagged.startsWith('OK')) throw new Error('SELECT failed');
    const startRss = rssMB(pid);
    const append = await probe(pid, async () => {
      const tag = imap.nextTag();
      imap.socket.write(`${tag} APPEND INBOX {${message.length}}\r\n`);
      if (!(await imap.reader.line()).startsWith('+')) throw new Error('no continuation for APPEND');
      // 1 MB writes, waiting for drain: the client sends at the server's pace.
      for (let at = 0; at < message.length; at += 1024 * 1024) {
        if (!imap.socket.write(message.subarray(at, at + 1024 * 1024))) await new Promise((r) => imap.socket.once('drain', r));
      }
      imap.socket.write('\r\n');
      const r = await imap.collect(tag);
      if (!r.tagged.startsWith('OK')) throw new Error(`APPEND: ${r.tagged}`);
    });
    const sent = createHash('sha256').update(message).digest('hex');
    const fetch = await probe(pid, async () => {
      const received = createHash('sha256');
      const r = await imap.command('FETCH 1 (BODY.PEEK[])', (size, reader) => reader.bytes(size, (c) => received.update(c)));
      if (!r.tagged.startsWith('OK')) throw new Error(`FETCH: ${r.tagged}`);
      if (received.digest('hex') !== sent) throw new Error('FETCH returned other bytes than were appended');
    });
    const both = Math.max(append.peakMB, fetch.peakMB) - startRss;
    for (const [name, p] of [['APPEND', append], ['FETCH BODY[]', fetch]] as const)
      console.log(`${String(sizeMB).padStart(6)}  ${name.padEnd(14)}${fmt(p.growthMB)}  ${fmt(p.rssAfterMB)}  ${fmt(p.cpuMs)}  ${fmt(p.wallMs)}`);
    console.log(`${String(sizeMB).padStart(6)}  ${'APPEND+FETCH'.padEnd(14)}${fmt(both)}`);
    await imap.command('LOGOUT');
  } finally {
    imap.close();
    await server.cleanup();
  }
}

try {
  console.log(`backend ${values.backend}; a fresh server per size; MB (peak growth, RSS after), ms (server CPU, wall)`);
  console.log('  size  operation       growth  RSS after   CPU ms  wall ms');
  for (const sizeMB of sizesMB) await measure(sizeMB);
} finally {
  await stopTestPostgres();
}
