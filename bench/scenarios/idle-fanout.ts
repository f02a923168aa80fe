// idle-fanout: N connections (10,000, 50,000) logged in and in IDLE on INBOX,
// spread over U users (N/U sessions per user, as many devices of one user
// would hold), from several loopback source addresses (127.0.0.2, ...: the
// ephemeral ports of one address to one server port run out at ~28,000).
// Then one LMTP delivery to each user's INBOX, and the time from that
// delivery's 250 until each session of the user has seen "* n EXISTS".
//
// Memory: the server's whole process tree (Dovecot forks an imap process per
// session) as summed PSS, before the connections and with all of them in
// IDLE; per idle connection = (after - before) / N.
//
// The connections are held by worker processes (bench/lib/fanout-worker.ts),
// each below the open-files limit, with a few bytes of state per connection.
// A point that this machine cannot hold (file descriptors, pids, memory) is
// reported as "not run" with the reason rather than attempted.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memAvailableMB, openFileLimit, processTree, treeMemory, type TreeMemory } from '../../test/support/proc.js';
import type { BenchUser, ConnectionNeeds, Endpoint } from '../lib/endpoint.js';
import type { FanoutFromWorker, FanoutOpen, FanoutToWorker } from '../lib/fanout-worker.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import { withOpenFiles } from '../lib/process.js';
import { round3, runLimited, summarize } from '../lib/stats.js';
import { userIdList, type BenchOptions, type Metric, type PointResult, type Scenario } from './types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const WORKER = path.join(HERE, '..', 'lib', 'fanout-worker.ts');
/** Connections per source address (Linux gives ~28,000 ephemeral ports per address and destination). */
const PER_SOURCE = 5_000;
/** Connections per worker process at most (each needs a descriptor; stay clear of the common 20,000-65,536 limits). */
const PER_WORKER = 15_000;
/** Logins in flight per worker. */
const SETUP_CONCURRENCY = 64;
const LMTP_LANES = 4;
const SEEN_TIMEOUT_MS = 10_000;
/** Stop opening connections when the machine has less than this available (MB). */
const MEMORY_FLOOR_MB = Math.max(3072, (os.totalmem() / 2 ** 20) * 0.15);

function sourcesFor(n: number): string[] {
  const count = Math.max(1, Math.ceil(n / PER_SOURCE));
  if (count > 250) throw new Error(`${n} connections need ${count} source addresses`);
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
}

export function fanoutNeeds(o: BenchOptions): ConnectionNeeds {
  const n = Math.max(...o.idleConnections);
  return { total: n, perUser: Math.ceil(n / o.fanoutUsers), perIp: Math.ceil(n / sourcesFor(n).length) };
}

/** Descriptors a connection-holding process needs besides its connections (listeners, logs, store files). */
const OWN_FILES = 100;

/**
 * Why this machine cannot hold n sessions of this server, or null. A server
 * whose connections are spread over processes (Petrel's workers) can hold as
 * many as their open-file limits together allow; Dovecot's master stands for
 * its anvil and log processes, which hold a descriptor per session.
 */
export async function cannotHold(ep: Endpoint, n: number): Promise<string | null> {
  if (ep.pid === undefined) return null;
  const holders = ep.connectionHolders ? await ep.connectionHolders() : [ep.pid];
  const limits = holders.map((pid) => openFileLimit(pid));
  const capacity = limits.reduce((sum, l) => sum + Math.max(0, l.soft - OWN_FILES), 0);
  if (holders.length && capacity < n) {
    const who = holders.length === 1 ? 'the server process' : `the ${holders.length} server processes that hold connections`;
    const soft = limits.map((l) => l.soft).join(' + ');
    const hard = limits.map((l) => l.hard).join(' + ');
    return `${who} may open ${soft} files (ulimit -n; hard ${hard}), ${n} connections need more (raise the hard limit: see bench/README.md)`;
  }
  if (ep.name === 'dovecot') {
    // A process per session: pids and the per-process descriptors of anvil and log count too.
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    const running = processTree(1).length;
    if (Number.isFinite(pidMax) && running + n + 500 > pidMax) {
      return `a process per session: ${n} sessions need ${n} imap processes, kernel.pid_max is ${pidMax} with ${running} running`;
    }
  }
  return null;
}

interface Worker {
  child: ChildProcess;
  /** Global connection index of each of its connections. */
  conns: number[];
  ready: number;
  failed: number;
  done: boolean;
  firstError: string | null;
  seenWaiter: ((seen: number[]) => void) | null;
}

function startWorker(openFiles: number): ChildProcess {
  // bash raises the soft open-files limit before node starts (exec keeps the IPC channel).
  const w = withOpenFiles(openFiles, process.execPath, ['--import', 'tsx', WORKER]);
  return spawn(w.cmd, w.args, { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function tell(w: Worker, m: FanoutToWorker): void {
  if (w.child.connected) w.child.send(m);
}

function smallMessage(user: BenchUser, i: number): Buffer {
  return Buffer.from(
    [
      `From: Fan-out <fanout@bench.example>`,
      `To: <${user.address}>`,
      `Subject: fan-out ${i}`,
      `Message-ID: <fanout-${i}-${Date.now()}@bench.example>`,
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `Delivery ${i} to every session of ${user.login}.`,
      'x'.repeat(900),
      '',
    ].join('\r\n'),
  );
}

function notRun(point: string, reason: string): PointResult {
  return { point, metrics: [{ name: 'connections in IDLE', value: NaN, better: 'higher' }], details: { notRun: reason } };
}

export const idleFanoutScenario: Scenario = {
  name: 'idle-fanout',

  userIds: (o) => userIdList('fan', o.fanoutUsers),

  connectionNeeds: fanoutNeeds,

  async prepare() {
    // Mailboxes start empty.
  },

  points: (o) => o.idleConnections.map((n) => `${n} idle`),

  async runPoint(ep, point, o): Promise<PointResult> {
    const n = Number.parseInt(point, 10);
    const users = userIdList('fan', o.fanoutUsers).map((id) => ep.users.get(id)!);
    const u = users.length;
    const why = await cannotHold(ep, n);
    if (why) {
      o.log(`  not run: ${why}`);
      return notRun(point, why);
    }
    const sources = sourcesFor(n);
    const ownLimit = openFileLimit('self').hard;
    const perWorker = Math.min(PER_WORKER, Math.max(1000, ownLimit - 500));
    const workerCount = Math.max(n >= 2000 ? 2 : 1, Math.ceil(n / perWorker));
    const memBefore: TreeMemory | null = ep.pid !== undefined ? treeMemory(ep.pid) : null;
    const memAvailableBefore = memAvailableMB();

    const workers: Worker[] = [];
    for (let k = 0; k < workerCount; k++) {
      const conns: number[] = [];
      // All sessions of a user in one worker (it logs the user in once, then the rest).
      for (let c = 0; c < n; c++) if ((c % u) % workerCount === k) conns.push(c);
      const child = startWorker(conns.length + 200);
      const w: Worker = { child, conns, ready: 0, failed: 0, done: false, firstError: null, seenWaiter: null };
      child.on('message', (m: FanoutFromWorker) => {
        if (m.type === 'progress') {
          w.ready = m.ready;
          w.failed = m.failed;
          w.done = m.done;
          w.firstError ??= m.firstError;
        } else if (m.type === 'seen') {
          w.seenWaiter?.(m.seenAt);
          w.seenWaiter = null;
        }
      });
      child.on('exit', () => {
        w.done = true;
        w.seenWaiter?.([]);
      });
      workers.push(w);
    }
    const collect = (w: Worker): Promise<number[]> =>
      new Promise((resolve) => {
        if (!w.child.connected) return resolve([]);
        w.seenWaiter = resolve;
        tell(w, { type: 'collect' });
      });

    try {
      // Connection c: user c mod U, from source address c mod sources.
      const setupStart = Date.now();
      for (const w of workers) {
        const open: FanoutOpen = {
          type: 'open',
          host: ep.imap.host,
          port: ep.imap.port,
          logins: users.map((x) => x.login),
          password: users[0]!.password,
          userOf: w.conns.map((c) => c % u),
          sourceOf: w.conns.map((c) => sources[c % sources.length]!),
          concurrency: SETUP_CONCURRENCY,
          // Generous: a server that hashes passwords slowly (scrypt) queues the first logins.
          timeoutMs: Math.max(o.timeoutMs, 300_000),
        };
        tell(w, open);
      }
      let stoppedForMemory: string | null = null;
      let lastLog = 0;
      while (!workers.every((w) => w.done)) {
        await new Promise((r) => setTimeout(r, 250));
        const avail = memAvailableMB();
        if (!stoppedForMemory && avail < MEMORY_FLOOR_MB) {
          stoppedForMemory = `stopped opening connections: MemAvailable ${Math.round(avail)} MB < ${Math.round(MEMORY_FLOOR_MB)} MB`;
          o.log(`  ${stoppedForMemory}`);
          for (const w of workers) tell(w, { type: 'close' });
          break;
        }
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          const ready = workers.reduce((a, w) => a + w.ready, 0);
          const failed = workers.reduce((a, w) => a + w.failed, 0);
          o.log(`  ${ready} in IDLE, ${failed} failed, MemAvailable ${Math.round(avail)} MB`);
        }
      }
      if (stoppedForMemory) {
        const ready = workers.reduce((a, w) => a + w.ready, 0);
        return notRun(point, `${stoppedForMemory} after ${ready} of ${n} sessions in IDLE`);
      }
      const setupS = (Date.now() - setupStart) / 1000;
      const ready = workers.reduce((a, w) => a + w.ready, 0);
      const failed = workers.reduce((a, w) => a + w.failed, 0);
      const firstError = workers.find((w) => w.firstError)?.firstError ?? null;
      o.log(`  ${ready} of ${n} in IDLE after ${setupS.toFixed(1)} s${failed ? `, ${failed} failed (first: ${firstError})` : ''}`);
      // Let the server settle (allocations of the last logins, freed login buffers) before measuring.
      await new Promise((r) => setTimeout(r, 3000));
      const memIdle: TreeMemory | null = ep.pid !== undefined ? treeMemory(ep.pid) : null;

      // One delivery per user, paced, over a few LMTP connections.
      const ack = new Float64Array(u);
      let failedDeliveries = 0;
      const gapMs = 1000 / o.fanoutRate;
      const deliverStart = Date.now();
      let next = 0;
      await runLimited(LMTP_LANES, LMTP_LANES, async () => {
        const lmtp = await LmtpClient.connect({ ...ep.lmtp, timeoutMs: o.timeoutMs });
        try {
          while (next < u) {
            const i = next++;
            const wait = deliverStart + i * gapMs - Date.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            const user = users[i]!;
            const [reply] = await lmtp.deliver('fanout@bench.example', [user.address], smallMessage(user, i));
            if (reply?.code === 250) ack[i] = Date.now();
            else failedDeliveries++;
          }
        } finally {
          await lmtp.quit();
        }
      });
      const deliveredAt = Date.now();

      // Poll the workers until every session in IDLE has seen its EXISTS, or the timeout.
      let seen: number[][] = [];
      for (;;) {
        seen = await Promise.all(workers.map(collect));
        const seenCount = seen.reduce((a, s) => a + s.filter((t) => t > 0).length, 0);
        if (seenCount >= ready || Date.now() - deliveredAt > SEEN_TIMEOUT_MS) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const latencies: number[] = [];
      let missed = 0;
      let early = 0;
      workers.forEach((w, k) => {
        const s = seen[k] ?? [];
        w.conns.forEach((c, j) => {
          const at = s[j] ?? 0;
          const acked = ack[c % u]!;
          if (!(at > 0) || !(acked > 0)) {
            missed++;
            return;
          }
          if (at < acked) early++;
          latencies.push(Math.max(0, at - acked));
        });
      });
      // Sessions that never reached IDLE are not "missed" deliveries.
      missed -= n - ready;
      const lat = summarize(latencies);
      const perConnKB =
        memBefore && memIdle && ready > 0 ? round3(((memIdle.pssMB - memBefore.pssMB) * 1024) / ready) : NaN;
      const metrics: Metric[] = [
        { name: 'connections in IDLE', value: ready, better: 'higher' },
        { name: 'server memory MB (PSS)', value: memIdle ? round3(memIdle.pssMB) : NaN, better: 'lower' },
        { name: 'KB per idle connection', value: perConnKB, better: 'lower' },
        { name: 'EXISTS after ack p50 ms', value: lat.p50Ms, better: 'lower' },
        { name: 'EXISTS after ack p99 ms', value: lat.p99Ms, better: 'lower' },
        { name: 'missed', value: missed, better: 'lower' },
        { name: 'setup s', value: round3(setupS), better: 'lower' },
      ];
      return {
        point,
        metrics,
        details: {
          connections: n,
          users: u,
          sources: sources.length,
          workers: workerCount,
          ready,
          failed,
          firstError,
          memBefore,
          memIdle,
          memAvailableBeforeMB: Math.round(memAvailableBefore),
          existsAfterAck: lat,
          early,
          failedDeliveries,
          deliverySeconds: round3((deliveredAt - deliverStart) / 1000),
          rate: o.fanoutRate,
        },
      };
    } finally {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
              w.child.once('exit', () => resolve());
              tell(w, { type: 'close' });
              setTimeout(() => w.child.kill('SIGKILL'), 30_000).unref();
            }),
        ),
      );
      // Let a process-per-session server reap its sessions before the next point.
      if (ep.pid !== undefined && memBefore) {
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline && processTree(ep.pid).length > memBefore.processes + 20) {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  },
};
