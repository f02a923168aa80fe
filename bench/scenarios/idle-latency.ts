// idle-latency: one IDLE client per user (e.g. 100), then each round delivers
// one message by LMTP to every user, paced at a fixed rate, and measures the
// time until that user's IDLE client receives "* N EXISTS".
//
//   from ack:  LMTP 250 after DATA -> EXISTS seen (the delivery is durable; how
//              long until a waiting client knows). Negative values (EXISTS
//              before the 250 arrived) count as 0.
//   from dot:  final "." sent -> EXISTS seen (includes the delivery itself).
//
// Petrel's target: EXISTS within 100 ms of delivery.

import type { BenchUser, Endpoint } from '../lib/endpoint.js';
import { ImapClient, parseExists } from '../lib/imap-client.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import { generateMessage, withTraceHeader } from '../lib/messages.js';
import { nowMs, round3, runLimited, summarize } from '../lib/stats.js';
import { userIdList, type BenchOptions, type PointResult, type Scenario } from './types.js';

const LMTP_LANES = 4;
const ROUND_TIMEOUT_MS = 10_000;

export interface Watcher {
  user: BenchUser;
  client: ImapClient;
  exists: number;
  /** EXISTS count that means "this round's message arrived", and when it was seen. */
  expect: number;
  seenAt: number | null;
  onSeen: (() => void) | null;
  /** Resolves with IDLE's tagged response once DONE was sent. */
  idleEnd: Promise<unknown>;
}

function idleUsers(ep: Endpoint, o: BenchOptions): BenchUser[] {
  return userIdList('idl', o.idleUsers).map((id) => ep.users.get(id)!);
}

/** LOGIN, SELECT INBOX, IDLE on ep.imap; the watcher records when EXISTS reaches `expect` (also cross-server.ts). */
export async function openWatcher(ep: Endpoint, user: BenchUser, o: BenchOptions): Promise<Watcher> {
  const client = await ImapClient.connect({ ...ep.imap, timeoutMs: o.timeoutMs });
  await client.command(`LOGIN "${user.login}" "${user.password}"`);
  const sel = await client.command('SELECT INBOX');
  let exists = 0;
  for (const r of sel.untagged) exists = parseExists(r) ?? exists;
  const w: Watcher = { user, client, exists, expect: Infinity, seenAt: null, onSeen: null, idleEnd: Promise.resolve() };
  client.onUntagged = (r) => {
    const n = parseExists(r);
    if (n === null) return;
    w.exists = n;
    if (w.seenAt === null && n >= w.expect) {
      w.seenAt = nowMs();
      w.onSeen?.();
    }
  };
  const { done } = await client.idle();
  w.idleEnd = done.catch(() => undefined);
  return w;
}

export const idleLatencyScenario: Scenario = {
  name: 'idle-latency',

  userIds: (o) => userIdList('idl', o.idleUsers),

  async prepare() {
    // Mailboxes start empty; nothing to fill.
  },

  points: (o) => [`${o.idleUsers} idlers`],

  async runPoint(ep, point, o): Promise<PointResult> {
    const users = idleUsers(ep, o);
    const watchers: Watcher[] = new Array(users.length);
    try {
      await runLimited(users.length, 16, async (i) => {
        watchers[i] = await openWatcher(ep, users[i]!, o);
      });
      const fromAck: number[] = [];
      const fromDot: number[] = [];
      let missed = 0;
      let early = 0;
      let failedDeliveries = 0;

      for (let round = 0; round < o.idleRounds; round++) {
        const ack = new Array<number>(users.length).fill(NaN);
        const dot = new Array<number>(users.length).fill(NaN);
        let pending = users.length;
        let allSeen!: () => void;
        const allSeenP = new Promise<void>((r) => (allSeen = r));
        for (const w of watchers) {
          w.expect = w.exists + 1;
          w.seenAt = null;
          w.onSeen = () => {
            pending -= 1;
            if (pending === 0) allSeen();
          };
        }
        const roundStart = nowMs();
        const gapMs = 1000 / o.idleRate;
        let next = 0;
        await runLimited(LMTP_LANES, LMTP_LANES, async () => {
          const lmtp = await LmtpClient.connect({ ...ep.lmtp, timeoutMs: o.timeoutMs });
          try {
            while (next < users.length) {
              const i = next++;
              // Paced: delivery i starts no earlier than i / rate after the round began.
              const wait = roundStart + i * gapMs - nowMs();
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
              const user = users[i]!;
              const msg = withTraceHeader(
                generateMessage(o.seed + 104729, round * users.length + i, { to: user.address }).bytes,
                `idle-${round}-${i}`,
              );
              const [reply] = await lmtp.deliver('sender@bench.example', [user.address], msg, () => {
                dot[i] = nowMs();
              });
              if (reply?.code === 250) ack[i] = nowMs();
              else failedDeliveries += 1;
            }
          } finally {
            await lmtp.quit();
          }
        });
        // Bounded wait for the stragglers.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([allSeenP, new Promise<void>((r) => (timer = setTimeout(r, ROUND_TIMEOUT_MS)))]);
        clearTimeout(timer);
        for (let i = 0; i < watchers.length; i++) {
          const w = watchers[i]!;
          w.onSeen = null;
          if (w.seenAt === null || Number.isNaN(ack[i])) {
            missed += 1;
            continue;
          }
          const d = w.seenAt - ack[i]!;
          if (d < 0) early += 1;
          fromAck.push(Math.max(0, d));
          fromDot.push(w.seenAt - dot[i]!);
        }
        o.log(`  round ${round + 1}/${o.idleRounds}: ${users.length - pending} of ${users.length} EXISTS seen`);
      }

      const a = summarize(fromAck);
      const d = summarize(fromDot);
      const within100 = fromAck.filter((x) => x <= 100).length;
      return {
        point,
        metrics: [
          { name: 'EXISTS after ack p50 ms', value: a.p50Ms, better: 'lower' },
          { name: 'EXISTS after ack p99 ms', value: a.p99Ms, better: 'lower' },
          { name: 'EXISTS after dot p50 ms', value: d.p50Ms, better: 'lower' },
          { name: 'EXISTS after dot p99 ms', value: d.p99Ms, better: 'lower' },
          { name: '% within 100 ms of ack', value: round3((100 * within100) / Math.max(1, fromAck.length)), better: 'higher' },
          { name: 'missed', value: missed, better: 'lower' },
        ],
        details: { fromAck: a, fromDot: d, missed, early, failedDeliveries, samples: fromAck.length },
      };
    } finally {
      await Promise.all(
        watchers.filter(Boolean).map(async (w) => {
          try {
            w.client.onUntagged = null;
            w.client.idleDone();
            await w.idleEnd;
          } catch {
            // already closed
          }
          await w.client.logout();
        }),
      );
    }
  },
};
