// Fail-over (issue 5): a real `petrel serve` over a PostgreSQL primary with a
// streaming standby, reached through a multi-host URL with
// target_session_attrs=primary. Concurrent LMTP connections deliver
// messages; midway the primary is killed with kill -9 (postmaster and
// backends, as a crash would) and the standby promoted with pg_ctl promote.
// The run itself (retries, counting by Message-ID, IMAP and IDLE sessions
// connected throughout) is test/e2e/failover-run.ts, shared with the Patroni
// test (test/e2e/failover-patroni.test.ts).
//
// Synchronous mode (synchronous_standby_names names the standby): every
// message that got 250 must be there, and exactly once, except a delivery
// whose COMMIT was in flight when the primary died: the server answers 451
// and the MTA sends it again, so such a message may be stored twice (SMTP's
// at-least-once); the run counts those separately.
// Asynchronous mode: acknowledged messages may be lost; the test reports how
// many (the README quotes it) and asserts only what must hold.

import { describe, test } from 'node:test';
import { failoverRun, promotedByPgCtl } from './failover-run.js';
import type { ReplicationMode } from '../support/replication.js';

const DELIVERIES = Number(process.env.PETREL_FAILOVER_DELIVERIES ?? 2000);
const CONNECTIONS = 8;

async function run(mode: ReplicationMode, t: { diagnostic(msg: string): void }): Promise<void> {
  await failoverRun(
    await promotedByPgCtl(mode),
    { label: mode, synchronous: mode === 'sync', exactlyOnce: true, deliveries: DELIVERIES, connections: CONNECTIONS, deliveryDeadlineMs: 120_000 },
    t,
  );
}

describe('fail-over to a promoted standby under LMTP load', () => {
  test(`synchronous replication: ${DELIVERIES} deliveries, kill -9 of the primary midway, nothing acknowledged lost`, { timeout: 180_000 }, async (t) => {
    await run('sync', t);
  });

  test(`asynchronous replication: the same run; acknowledged messages lost are counted`, { timeout: 180_000 }, async (t) => {
    await run('async', t);
  });
});
