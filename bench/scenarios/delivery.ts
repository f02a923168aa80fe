// delivery: LMTP throughput. C concurrent connections each deliver messages of
// the mix, one recipient per message, round-robin over the delivery users, for
// the measured duration. Bodies come from a pre-generated pool (so the load
// generator is not the bottleneck) and each delivery gets its own trace header,
// so no two deliveries are the same bytes.

import type { BenchUser, Endpoint } from '../lib/endpoint.js';
import { LmtpClient } from '../lib/lmtp-client.js';
import { generateMessage, withTraceHeader } from '../lib/messages.js';
import { LatencyRecorder, nowMs, round3 } from '../lib/stats.js';
import { userIdList, type BenchOptions, type PointResult, type Scenario } from './types.js';

const POOL_SIZE = 200;
const MAX_DELIVERIES_PER_CONNECTION = 10_000_000;

let pool: Buffer[] | null = null;
let poolSeed = -1;

function messagePool(seed: number): Buffer[] {
  if (!pool || poolSeed !== seed) {
    // Seed offset keeps the pool distinct from the mixed scenario's prefill.
    pool = Array.from({ length: POOL_SIZE }, (_, i) => generateMessage(seed + 7919, i, { to: 'undisclosed-recipients:;' }).bytes);
    poolSeed = seed;
  }
  return pool;
}

function deliveryUsers(ep: Endpoint, o: BenchOptions): BenchUser[] {
  return userIdList('dlv', o.deliveryUsers).map((id) => ep.users.get(id)!);
}

export const deliveryScenario: Scenario = {
  name: 'delivery',

  userIds: (o) => userIdList('dlv', o.deliveryUsers),

  async prepare(_ep, o) {
    messagePool(o.seed);
  },

  points: (o) => o.connections.map((n) => `${n} conn`),

  async runPoint(ep, point, o, hooks): Promise<PointResult> {
    const conns = Number.parseInt(point, 10);
    const users = deliveryUsers(ep, o);
    const msgs = messagePool(o.seed);
    const rec = new LatencyRecorder();
    const t0 = nowMs();
    const start = t0 + o.warmupS * 1000;
    const end = start + o.durationS * 1000;
    hooks?.measuredWindow(start, end);
    let next = 0;
    let bytes = 0;
    const pointTag = `${point.replace(/\s+/g, '')}-${o.seed}`;

    const lane = async (): Promise<void> => {
      let lmtp: LmtpClient | null = null;
      try {
        lmtp = await LmtpClient.connect({ ...ep.lmtp, timeoutMs: o.timeoutMs });
        for (let k = 0; k < MAX_DELIVERIES_PER_CONNECTION && nowMs() < end; k++) {
          const n = next++;
          const user = users[n % users.length]!;
          const msg = withTraceHeader(msgs[n % msgs.length]!, `${pointTag}-${n}`);
          const ts = nowMs();
          let ok = false;
          try {
            const [reply] = await lmtp.deliver('sender@bench.example', [user.address], msg);
            ok = reply?.code === 250;
          } catch {
            ok = false;
          }
          const te = nowMs();
          if (ts >= start && te <= end) {
            if (ok) {
              rec.record('DELIVERY', te - ts);
              bytes += msg.length;
            } else {
              rec.error('DELIVERY');
            }
          }
          if (!ok) {
            // A broken connection is replaced; a refused message is not retried.
            lmtp.close();
            if (nowMs() >= end) break;
            await new Promise((r) => setTimeout(r, 100));
            lmtp = await LmtpClient.connect({ ...ep.lmtp, timeoutMs: o.timeoutMs });
          }
        }
      } catch (e) {
        o.log(`  delivery lane stopped: ${(e as Error).message}`);
        rec.error('CONNECT');
      } finally {
        await lmtp?.quit();
      }
    };
    await Promise.all(Array.from({ length: conns }, lane));

    const s = rec.summary().DELIVERY;
    const count = s?.count ?? 0;
    return {
      point,
      metrics: [
        { name: 'deliveries/s', value: round3(count / o.durationS), better: 'higher' },
        { name: 'MB/s', value: round3(bytes / 1e6 / o.durationS), better: 'higher' },
        { name: 'errors', value: rec.totalErrors(), better: 'lower' },
        { name: 'DELIVERY p50 ms', value: s?.p50Ms ?? NaN, better: 'lower' },
        { name: 'DELIVERY p99 ms', value: s?.p99Ms ?? NaN, better: 'lower' },
      ],
      details: { perOp: rec.summary(), bytes },
      measuredOps: count,
    };
  },
};
