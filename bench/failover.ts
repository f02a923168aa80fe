// Fail-over bench (issue 5), run by hand:
//
//   node --import tsx bench/failover.ts [--manager pg_ctl|patroni]
//       [--mode sync,async] [--deliveries 2000] [--connections 8]
//       [--promote-delay-ms 0] [--ttl 20]
//
// For each replication mode: a repository of two PostgreSQL nodes, one
// `petrel serve` over a multi-host URL (target_session_attrs=primary), LMTP
// deliveries over concurrent connections. Half-way the primary is lost and
// another node becomes primary (test/e2e/failover-run.ts has both):
//   --manager pg_ctl (default): a primary + one streaming standby
//     (test/support/replication.ts); kill -9 of the postmaster and its
//     backends, then, after --promote-delay-ms, pg_ctl promote of the standby.
//   --manager patroni: etcd + two Patroni nodes (test/support/patroni.ts;
//     synchronous_mode for sync, DCS ttl --ttl seconds, loop_wait 1 s); kill -9
//     of the leader's Patroni and PostgreSQL (its machine lost), and Patroni
//     promotes the replica once the leader key's lease expires.
// Reported per mode:
//   - the LMTP delivery rate before the kill and after the switch (deliveries/s),
//   - the time from the kill to the new primary taking writes, and to the
//     first 250 on the new primary,
//   - the longest one delivery waited for its reply (4xx or 250),
//   - acknowledged messages lost (counted by Message-ID over IMAP), and
//     messages stored twice (a retry after an "outcome unknown" 451).
// Each point takes about a minute on a small machine (pg_ctl: well under).

import { parseArgs } from 'node:util';
import type { RunningServer } from '../test/e2e/harness.js';
import { LmtpSession, RawImap } from '../test/e2e/wire-clients.js';
import { promotedByPatroni, promotedByPgCtl, startPetrel, type FailoverCluster } from '../test/e2e/failover-run.js';
import type { ReplicationMode } from '../test/support/replication.js';

const { values } = parseArgs({
  options: {
    manager: { type: 'string', default: 'pg_ctl' },
    ttl: { type: 'string', default: '20' },
    mode: { type: 'string', default: 'sync,async' },
    deliveries: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '8' },
    'promote-delay-ms': { type: 'string', default: '0' },
  },
});
const modes = values.mode.split(',') as ReplicationMode[];
const deliveries = Number(values.deliveries);
const connections = Number(values.connections);
const promoteDelayMs = Number(values['promote-delay-ms']);
const manager = values.manager;
if (manager !== 'pg_ctl' && manager !== 'patroni') throw new Error(`--manager: pg_ctl or patroni, not ${manager}`);
const ttl = Number(values.ttl);

function startCluster(mode: ReplicationMode): Promise<FailoverCluster> {
  return manager === 'patroni' ? promotedByPatroni(mode, { ttl }) : promotedByPgCtl(mode, promoteDelayMs);
}

interface Result {
  mode: ReplicationMode;
  ratePerSecond: number;
  rateAfterPerSecond: number;
  killToPromotedMs: number;
  killToFirstDeliveryMs: number;
  tempFailures: number;
  /** The longest one LMTP delivery waited for its reply (the server holds deliveries while no primary exists). */
  longestAttemptMs: number;
  lost: number;
  duplicates: number;
}

async function runMode(mode: ReplicationMode): Promise<Result> {
  const pg = await startCluster(mode);
  let server: RunningServer | null = null;
  try {
    server = (await startPetrel(pg, { PETREL_LOG_LEVEL: 'error' })).server;
    const lmtpPort = server.lmtpPort;

    const ackedAt: number[] = new Array<number>(deliveries).fill(0);
    /** When the attempt that got the 250 began: the first one begun after the kill ran on the new primary. */
    const attemptAt: number[] = new Array<number>(deliveries).fill(0);
    let next = 0;
    let acked = 0;
    let tempFailures = 0;
    let killedAt = 0;
    let promotedAt = 0;
    let rateEnd = 0;
    let failover: Promise<void> | null = null;
    let longestAttemptMs = 0;
    const started = performance.now();
    const deliverer = async (): Promise<void> => {
      let session: LmtpSession | null = null;
      while (next < deliveries) {
        const i = next++;
        for (;;) {
          try {
            session ??= await LmtpSession.connect(lmtpPort);
            attemptAt[i] = performance.now();
            const msg = Buffer.from(`Message-ID: <bench-${i}@failover>\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`);
            const reply = await session.deliver('sender@example.net', 'alice@example.org', msg);
            longestAttemptMs = Math.max(longestAttemptMs, performance.now() - attemptAt[i]!);
            if (reply.startsWith('250')) {
              ackedAt[i] = performance.now();
              if (++acked === deliveries / 2) {
                rateEnd = performance.now();
                failover = (async () => {
                  killedAt = performance.now();
                  await pg.crashPrimary();
                  await pg.newPrimary();
                  promotedAt = performance.now();
                })();
              }
              break;
            }
            if (!/^4/.test(reply)) throw new Error(`delivery ${i}: ${reply}`);
          } catch (err) {
            if (err instanceof Error && err.message.startsWith('delivery ')) throw err;
            session?.close();
            session = null;
          }
          tempFailures++;
          await new Promise((r) => setTimeout(r, 100)); // as an MTA would, sooner
        }
      }
      session?.close();
    };
    await Promise.all(Array.from({ length: connections }, deliverer));
    const finished = performance.now();
    await failover;

    const imap = await RawImap.connect(server.imapPort);
    await imap.command('LOGIN alice secret');
    await imap.command('SELECT INBOX');
    let headers = '';
    await imap.command('UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', (size, reader) =>
      reader.bytes(size, (c) => (headers += c.toString('latin1'))),
    );
    imap.close();
    const copies = new Map<string, number>();
    for (const id of headers.match(/<bench-\d+@failover>/g) ?? []) copies.set(id, (copies.get(id) ?? 0) + 1);
    let lost = 0;
    let duplicates = 0;
    for (let i = 0; i < deliveries; i++) {
      const n = copies.get(`<bench-${i}@failover>`) ?? 0;
      if (n === 0) lost++;
      if (n > 1) duplicates++;
    }
    const firstAfter = Math.min(...ackedAt.filter((t, i) => attemptAt[i]! > killedAt));
    return {
      mode,
      ratePerSecond: deliveries / 2 / ((rateEnd - started) / 1000),
      rateAfterPerSecond: ackedAt.filter((t) => t > promotedAt).length / ((finished - promotedAt) / 1000),
      killToPromotedMs: promotedAt - killedAt,
      killToFirstDeliveryMs: firstAfter - killedAt,
      tempFailures,
      longestAttemptMs,
      lost,
      duplicates,
    };
  } finally {
    await server?.cleanup();
    await pg.stop();
  }
}

const results: Result[] = [];
for (const mode of modes) {
  const r = await runMode(mode);
  results.push(r);
  console.log(
    `${manager} ${mode.padEnd(5)}  ${r.ratePerSecond.toFixed(0).padStart(5)} deliveries/s before the kill, ` +
      `${r.rateAfterPerSecond.toFixed(0)} after the switch; ` +
      `kill -9 -> promoted ${r.killToPromotedMs.toFixed(0)} ms, -> first 250 ${r.killToFirstDeliveryMs.toFixed(0)} ms; ` +
      `${r.tempFailures} 4xx/retries, longest reply wait ${r.longestAttemptMs.toFixed(0)} ms, ${r.lost} acknowledged lost, ${r.duplicates} stored twice`,
  );
}
console.log(JSON.stringify({ manager, deliveries, connections, promoteDelayMs, ttl, results }, null, 2));
