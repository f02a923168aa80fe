// Fail-over bench (issue 5), run by hand:
//
//   node --import tsx bench/failover.ts [--mode sync,async] [--deliveries 2000]
//       [--connections 8] [--promote-delay-ms 0]
//
// For each replication mode: a private PostgreSQL primary + one streaming
// standby (test/support/replication.ts), one `petrel serve` over a
// multi-host URL (target_session_attrs=primary), LMTP deliveries over
// concurrent connections. Half-way the primary is killed (kill -9 of the
// postmaster and its backends) and, after --promote-delay-ms, the standby is
// promoted with pg_ctl promote. Reported per mode:
//   - the LMTP delivery rate before the kill (deliveries/s),
//   - the time from the kill to the first 250 on the new primary,
//   - acknowledged messages lost (counted by Message-ID over IMAP), and
//     messages stored twice (a retry after an "outcome unknown" 451).
// Each point takes well under a minute on a small machine.

import { parseArgs } from 'node:util';
import { runCli, startServer } from '../test/e2e/harness.js';
import { LmtpSession, RawImap } from '../test/e2e/wire-clients.js';
import { ReplicatedPostgres, type ReplicationMode } from '../test/support/replication.js';

const { values } = parseArgs({
  options: {
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

interface Result {
  mode: ReplicationMode;
  ratePerSecond: number;
  killToPromotedMs: number;
  killToFirstDeliveryMs: number;
  tempFailures: number;
  lost: number;
  duplicates: number;
}

async function runMode(mode: ReplicationMode): Promise<Result> {
  const pg = await ReplicatedPostgres.start({ mode });
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    const url = await pg.createDatabase();
    const env: Record<string, string> = {
      PETREL_STORAGE_BACKEND: 'postgres',
      PETREL_STORAGE_POSTGRES_URL: url,
      PETREL_STORAGE_POSTGRES_CONNECT_TIMEOUT_SECONDS: '5',
      PETREL_STORAGE_FSYNC: 'false',
      PETREL_LOG_LEVEL: 'error',
    };
    const cliEnv = { ...process.env, ...env, PETREL_DATA_DIR: '/nonexistent-petrel' };
    for (const args of [['db', 'migrate'], ['user', 'add', 'alice', '--password', 'secret']]) {
      const r = await runCli(cliEnv, args);
      if (r.code !== 0) throw new Error(`petrel ${args.join(' ')}: ${r.stderr}`);
    }
    await pg.waitForReplay();
    server = await startServer({ env });
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
            if (reply.startsWith('250')) {
              ackedAt[i] = performance.now();
              if (++acked === deliveries / 2) {
                rateEnd = performance.now();
                failover = (async () => {
                  killedAt = performance.now();
                  await pg.crashPrimary();
                  if (promoteDelayMs > 0) await new Promise((r) => setTimeout(r, promoteDelayMs));
                  await pg.promote();
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
      killToPromotedMs: promotedAt - killedAt,
      killToFirstDeliveryMs: firstAfter - killedAt,
      tempFailures,
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
    `${mode.padEnd(5)}  ${r.ratePerSecond.toFixed(0).padStart(5)} deliveries/s before the kill; ` +
      `kill -9 -> promoted ${r.killToPromotedMs.toFixed(0)} ms, -> first 250 ${r.killToFirstDeliveryMs.toFixed(0)} ms; ` +
      `${r.tempFailures} 4xx/retries, ${r.lost} acknowledged lost, ${r.duplicates} stored twice`,
  );
}
console.log(JSON.stringify({ deliveries, connections, promoteDelayMs, results }, null, 2));
