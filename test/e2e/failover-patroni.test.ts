// Fail-over under Patroni (issue 5): the run of test/e2e/failover.test.ts
// (test/e2e/failover-run.ts), but the repository is a Patroni cluster with
// etcd (test/support/patroni.ts: two nodes, synchronous_mode, ttl 20 s,
// loop_wait 1 s) and nobody but Patroni promotes. Midway, the leader's
// machine is lost: kill -9 of its Patroni and its PostgreSQL at once. Once
// the leader key's lease expires in etcd (about ttl seconds), Patroni
// promotes the synchronous standby; the test only waits for that. Petrel
// finds the new primary through its multi-host URL
// (target_session_attrs=primary) without a restart.
//
// All 2,000 deliveries of the issue over 8 LMTP connections; the run takes
// about a minute, of which ~20 s is the lease expiry. Asserted: every message
// that got 250 is stored (synchronous mode loses nothing) and exactly once
// unless its first attempt ended in an unknown outcome; an IMAP session
// connected throughout still works, and an IDLE session sees the deliveries
// made after the switch.

import { describe, test } from 'node:test';
import { failoverRun, promotedByPatroni } from './failover-run.js';

const DELIVERIES = Number(process.env.PETREL_FAILOVER_DELIVERIES ?? 2000);
const CONNECTIONS = 8;

describe('fail-over by Patroni under LMTP load', () => {
  test(`synchronous_mode: ${DELIVERIES} deliveries, the leader's machine lost midway, Patroni promotes, nothing acknowledged lost`, { timeout: 240_000 }, async (t) => {
    await failoverRun(
      await promotedByPatroni('sync'),
      { label: 'patroni sync', synchronous: true, deliveries: DELIVERIES, connections: CONNECTIONS, deliveryDeadlineMs: 180_000 },
      t,
    );
  });
});
