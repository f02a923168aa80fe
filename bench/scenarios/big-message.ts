// big-message: APPEND and LMTP of 10 MB and 50 MB messages (a short text part
// and a base64 attachment), then FETCH of BODY.PEEK[] (the whole message),
// BODY.PEEK[2] (the attachment as stored) and BINARY.PEEK[2] (decoded,
// RFC 3516), in --big-rounds rounds (default 3). Reported per operation, the
// median over the rounds of: MB/s (message or section size / time
// from sending the command to the tagged OK or the LMTP 250), the server's
// peak memory growth during it and the CPU time its processes used (utime +
// stime from /proc/<pid>/stat: the figure to compare on a busy machine).
//
// Peak memory: before each operation every process of the server (its main
// process and descendants: Dovecot's imap and lmtp processes) gets its peak
// RSS (VmHWM) reset to its current RSS through /proc/<pid>/clear_refs; after
// it, the growth is the sum of (VmHWM - RSS before) over those processes,
// plus the peak of processes started meanwhile. A server that streams keeps
// this near its buffer sizes; one that buffers whole messages grows by
// several times the message size.

import { peakRssMB, processCpuMs, processTree, resetPeakRss, rssMB } from '../../test/support/proc.js';
import type { BenchUser, Endpoint } from '../lib/endpoint.js';
import { ImapClient, ascii, type TaggedResult } from '../lib/imap-client.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import { round3, summarize } from '../lib/stats.js';
import { type Metric, type PointResult, type Scenario } from './types.js';

const USER_ID = 'big001';
const MB = 1024 * 1024;

/** Deterministic bytes (xorshift32): the same attachment on every target and run. */
function pseudoRandom(size: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, size);
}

export interface BigMessage {
  bytes: Buffer;
  /** Size of part 2 as stored (base64 text) and decoded. */
  part2Encoded: number;
  part2Decoded: number;
}

/** A multipart/mixed message of about `totalBytes`: text part, then a base64 attachment. */
export function buildBigMessage(totalBytes: number, seed = 1): BigMessage {
  const boundary = 'petrel-bench-big-boundary';
  const text = 'This message carries a large attachment for the big-message benchmark.\r\n'.repeat(8);
  const head = [
    'From: Big Sender <big@bench.example>',
    'To: <big001@bench.test>',
    `Subject: big message of ${Math.round(totalBytes / MB)} MB`,
    `Message-ID: <big-${totalBytes}-${seed}@bench.example>`,
    'Date: Sun, 22 Nov 2026 08:00:00 +0000',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    text,
    `--${boundary}`,
    'Content-Type: application/octet-stream; name="big.bin"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="big.bin"',
    '',
    '',
  ].join('\r\n');
  const tail = `\r\n--${boundary}--\r\n`;
  // base64 in 76-character lines: 57 raw bytes per 78 bytes on the wire.
  const rawSize = Math.max(57, Math.floor((totalBytes - head.length - tail.length) / 78) * 57);
  const b64 = pseudoRandom(rawSize, seed).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  const body = lines.join('\r\n');
  return {
    bytes: Buffer.concat([Buffer.from(head), Buffer.from(body), Buffer.from(tail)]),
    part2Encoded: body.length,
    part2Decoded: rawSize,
  };
}

/** Peak-memory and CPU probe over the server's processes (see the header comment). */
class PeakProbe {
  private before = new Map<number, number>();
  private cpuBefore = new Map<number, number>();
  private resetOk = true;

  constructor(private readonly root: number | undefined) {}

  async start(): Promise<void> {
    this.before.clear();
    this.cpuBefore.clear();
    if (this.root === undefined) return;
    for (const pid of processTree(this.root)) {
      const rss = rssMB(pid);
      if (!Number.isFinite(rss)) continue;
      this.before.set(pid, rss);
      this.cpuBefore.set(pid, processCpuMs([pid]));
      this.resetOk = resetPeakRss(pid) && this.resetOk;
    }
  }

  /** CPU ms (user + system) the server's processes used since start(); new ones count from 0. NaN without a pid. */
  async cpuMs(): Promise<number> {
    if (this.root === undefined) return NaN;
    let used = 0;
    for (const pid of processTree(this.root)) used += Math.max(0, processCpuMs([pid]) - (this.cpuBefore.get(pid) ?? 0));
    return used;
  }

  /** Growth in MB; NaN when the peaks could not be reset (not root, no /proc). */
  growthMB(): number {
    if (this.root === undefined || !this.resetOk) return NaN;
    let growth = 0;
    for (const pid of processTree(this.root)) {
      const peak = peakRssMB(pid);
      if (!Number.isFinite(peak)) continue;
      const base = this.before.get(pid);
      growth += base === undefined ? peak : Math.max(0, peak - base);
    }
    return growth;
  }
}

/** The median; of an even count (--big-rounds 4), the mean of the middle two. */
function medianOf(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The size of the one literal in the response to a single-message FETCH. */
function literalSize(r: TaggedResult): number {
  let size = 0;
  for (const u of r.untagged) for (const l of u.literals) size += l.length;
  return size;
}

interface OpSamples {
  mbps: number[];
  peakMB: number[];
  cpuMs: number[];
  bytes: number;
}

export const bigMessageScenario: Scenario = {
  name: 'big-message',

  userIds: () => [USER_ID],

  async prepare() {
    // The INBOX starts empty; every point appends its own messages.
  },

  points: (o) => o.bigSizesMB.map((s) => `${s} MB`),

  async runPoint(ep: Endpoint, point, o): Promise<PointResult> {
    const size = Number.parseFloat(point) * MB;
    const user: BenchUser = ep.users.get(USER_ID)!;
    const msg = buildBigMessage(size, Math.round(size));
    const probe = new PeakProbe(ep.pid);
    const ops: Record<string, OpSamples> = {};
    const record = async (op: string, bytes: number, ms: number): Promise<void> => {
      const s = (ops[op] ??= { mbps: [], peakMB: [], cpuMs: [], bytes });
      s.mbps.push(bytes / MB / (ms / 1000));
      s.peakMB.push(probe.growthMB());
      s.cpuMs.push(await probe.cpuMs());
    };
    const timeoutMs = Math.max(o.timeoutMs, 120_000);

    const client = await ImapClient.connect({ ...ep.imap, timeoutMs });
    const lmtp = await LmtpClient.connect({ ...ep.lmtp, timeoutMs });
    try {
      await client.command(`LOGIN "${user.login}" "${user.password}"`);
      // Warm-up: APPENDs and deliveries of three 10 MB messages, so the
      // server's session and delivery processes exist and have done their
      // first-time work, including compiling the per-chunk code (64 KB socket
      // reads): a JIT-compiled server would otherwise pay that inside the
      // measured operations (64 KB messages, one or two chunks each, did not
      // warm it; one 4 MB message left TurboFan compiling in the first rounds,
      // a helper's `perf` showed on 2026-11-23).
      for (const seed of [7, 8, 9]) {
        const warm = buildBigMessage(10 * MB, seed).bytes;
        await client.append('INBOX', warm);
        await lmtp.deliver('big@bench.example', [user.address], warm);
      }
      await client.command('SELECT INBOX');

      // Rounds from --big-rounds (default 3): wall times swing 2x between rounds on a shared VM, more rounds steady the median.
      for (let rep = 0; rep < o.bigRounds; rep++) {
        // A distinct header per copy: a content-addressed store must not be flattered by duplicates.
        const appended = Buffer.concat([Buffer.from(`X-Bench-Copy: append-${rep}-${Date.now()}\r\n`), msg.bytes]);
        await probe.start();
        let t0 = performance.now();
        await client.append('INBOX', appended);
        await record('APPEND', appended.length, performance.now() - t0);

        const delivered = Buffer.concat([Buffer.from(`X-Bench-Copy: lmtp-${rep}-${Date.now()}\r\n`), msg.bytes]);
        await probe.start();
        t0 = performance.now();
        const [reply] = await lmtp.deliver('big@bench.example', [user.address], delivered);
        const lmtpMs = performance.now() - t0;
        if (reply?.code !== 250) throw new Error(`LMTP delivery of ${point} refused: ${reply?.code} ${reply?.text}`);
        await record('LMTP', delivered.length, lmtpMs);

        // The newest message (the delivery); NOOP first so the session knows it.
        await client.command('NOOP');
        for (const [op, item] of [
          ['FETCH BODY[]', 'BODY.PEEK[]'],
          ['FETCH BODY[2]', 'BODY.PEEK[2]'],
          ['FETCH BINARY[2]', 'BINARY.PEEK[2]'],
        ] as const) {
          await probe.start();
          t0 = performance.now();
          const r = await client.command(`FETCH * (${item})`);
          const ms = performance.now() - t0;
          const got = literalSize(r);
          const want = op === 'FETCH BODY[]' ? delivered.length : op === 'FETCH BODY[2]' ? msg.part2Encoded : msg.part2Decoded;
          // A delivered message gains the server's trace headers (Return-Path, Received): BODY[] is a little longer.
          const ok = op === 'FETCH BODY[]' ? got >= want && got - want < 4096 : got === want;
          if (!ok) {
            throw new Error(`${op}: got ${got} bytes, expected ${want} (${r.untagged.map((u) => ascii(u.line).slice(0, 120)).join(' | ')})`);
          }
          await record(op, got, ms);
        }
        o.log(`  ${point} round ${rep + 1}/${o.bigRounds}: ${Object.entries(ops).map(([k, v]) => `${k} ${v.mbps.at(-1)!.toFixed(0)} MB/s`).join(', ')}`);
      }
      // Keep the mailbox small for the next point.
      await client.command('STORE 1:* +FLAGS.SILENT (\\Deleted)');
      await client.command('EXPUNGE');
    } finally {
      await client.logout().catch(() => undefined);
      await lmtp.quit();
    }

    const metrics: Metric[] = [];
    const details: Record<string, unknown> = { messageBytes: msg.bytes.length, part2Encoded: msg.part2Encoded, part2Decoded: msg.part2Decoded };
    for (const [op, s] of Object.entries(ops)) {
      const median = medianOf(s.mbps);
      const peak = Math.max(...s.peakMB);
      metrics.push({ name: `${op} MB/s`, value: round3(median), better: 'higher' });
      metrics.push({ name: `${op} peak MB`, value: round3(peak), better: 'lower' });
      const cpu = medianOf(s.cpuMs);
      if (Number.isFinite(cpu)) metrics.push({ name: `${op} server CPU ms`, value: round3(cpu), better: 'lower' });
      details[op] = { mbps: s.mbps.map(round3), peakMB: s.peakMB.map(round3), cpuMs: s.cpuMs, bytes: s.bytes, ms: summarize(s.mbps.map((v) => (s.bytes / MB / v) * 1000)) };
    }
    return { point, metrics, details };
  },
};
