// cross-server: how fast a change made through one server reaches a client
// of another. One client logs in on server A (the first of a cluster),
// selects INBOX and IDLEs; then messages are delivered by LMTP through
// server B (the second; with a single-server target, the same server), one at
// a time: each delivery waits for its "* n EXISTS" on A's connection before
// the next starts. Measured per delivery:
//
//   after ack: B's LMTP 250 -> EXISTS on A (notification path: in cluster mode
//              PostgreSQL NOTIFY -> A's listener -> the session pulls by MODSEQ).
//              EXISTS before the 250 was read counts as 0 ("early").
//   after dot: the final "." of DATA -> EXISTS (includes storing the message).
//
// The embedded target (one server) gives the same-server figure to compare
// with. The IDLE client is idle-latency's watcher (openWatcher).

import { serverFor, type Endpoint } from '../lib/endpoint.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import { smallMessage, withTraceHeader } from '../lib/messages.js';
import { nowMs, round3, summarize } from '../lib/stats.js';
import { openWatcher } from './idle-latency.js';
import { userIdList, type PointResult, type Scenario } from './types.js';

/** A delivery whose EXISTS has not arrived within this is "missed". */
const WAIT_MS = 10_000;
/** The point gives up after this many misses (the server does not notify; more would take minutes). */
const MAX_MISSED = 10;
/** Unmeasured deliveries first (connections, JIT, caches warm). */
const WARMUP_DELIVERIES = 10;
const USER_ID = 'xsv001';

export const crossServerScenario: Scenario = {
  name: 'cross-server',

  userIds: () => userIdList('xsv', 1),

  async prepare() {
    // The INBOX starts empty.
  },

  points: (o) => [`${o.crossDeliveries} deliveries`],

  async runPoint(ep: Endpoint, point, o): Promise<PointResult> {
    if (ep.name === 'dovecot') {
      // One Dovecot has no "other server"; its same-server figure is idle-latency's
      // (up to ~500 ms by design), and 1,000 sequential deliveries would take minutes.
      return {
        point,
        metrics: [],
        details: { notRun: 'one server only (no cross-server path); see idle-latency for its delivery -> EXISTS figure' },
      };
    }
    const user = ep.users.get(USER_ID)!;
    const a = serverFor(ep, 0);
    const b = serverFor(ep, 1);
    const servers = ep.servers?.length ?? 1;
    const w = await openWatcher({ ...ep, imap: a.imap }, user, o);
    const lmtp = await LmtpClient.connect({ ...b.lmtp, timeoutMs: o.timeoutMs });
    const fromAck: number[] = [];
    const fromDot: number[] = [];
    let missed = 0;
    let early = 0;
    let failed = 0;
    const started = nowMs();
    try {
      const total = WARMUP_DELIVERIES + o.crossDeliveries;
      for (let i = 0; i < total && missed < MAX_MISSED; i++) {
        w.expect = w.exists + 1;
        w.seenAt = null;
        const seen = new Promise<void>((resolve) => (w.onSeen = resolve));
        const msg = withTraceHeader(smallMessage(o.seed + 7919, i, user.address), `xsv-${i}`);
        let dot = NaN;
        const [reply] = await lmtp.deliver('sender@bench.example', [user.address], msg, () => {
          dot = nowMs();
        });
        const ack = nowMs();
        if (reply?.code !== 250) {
          failed += 1;
          continue;
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([seen, new Promise<void>((r) => (timer = setTimeout(r, WAIT_MS)))]);
        clearTimeout(timer);
        w.onSeen = null;
        if (i < WARMUP_DELIVERIES) continue;
        if (w.seenAt === null) {
          missed += 1;
          continue;
        }
        const d = w.seenAt - ack;
        if (d < 0) early += 1;
        fromAck.push(Math.max(0, d));
        fromDot.push(w.seenAt - dot);
      }
    } finally {
      await lmtp.quit().catch(() => undefined);
      w.onSeen = null;
      w.client.onUntagged = null;
      try {
        w.client.idleDone();
        await w.idleEnd;
      } catch {
        // already closed
      }
      await w.client.logout().catch(() => undefined);
    }
    const ackS = summarize(fromAck);
    const dotS = summarize(fromDot);
    return {
      point,
      metrics: [
        { name: 'EXISTS after ack p50 ms', value: ackS.p50Ms, better: 'lower' },
        { name: 'EXISTS after ack p99 ms', value: ackS.p99Ms, better: 'lower' },
        { name: 'EXISTS after ack max ms', value: ackS.maxMs, better: 'lower' },
        { name: 'EXISTS after dot p50 ms', value: dotS.p50Ms, better: 'lower' },
        { name: 'EXISTS after dot p99 ms', value: dotS.p99Ms, better: 'lower' },
        { name: 'missed', value: missed, better: 'lower' },
      ],
      details: {
        servers,
        idleOn: `${a.imap.host}:${a.imap.port}`,
        deliverThrough: `${b.lmtp.host}:${b.lmtp.port}`,
        sameServer: a.imap.port === b.imap.port,
        fromAck: ackS,
        fromDot: dotS,
        samples: fromAck.length,
        missed,
        early,
        failedDeliveries: failed,
        seconds: round3((nowMs() - started) / 1000),
      },
    };
  },
};
