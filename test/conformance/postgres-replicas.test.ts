// The MailStore conformance suite once more on PostgreSQL, but through a
// reader's view (PostgresMailStore.forReader) whose reads may be served by a
// streaming replica (src/cluster/replicas.ts), with the blob store reading
// bodies from it too. Every assertion of the suite reads what it just wrote:
// a read served by a replica that had not replayed it would fail there. The
// last test checks that the replica did serve reads (else this proved nothing).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ReplicaSet } from '../../src/cluster/replicas.js';
import { waitFor } from '../support/postgres.js';
import { ReplicatedPostgres } from '../support/replication.js';
import { openPostgresHandle } from './backends.js';
import { mailStoreConformance } from './mailstore-suite.js';

const pg = await ReplicatedPostgres.start({ mode: 'async', standbys: 1 });
after(() => pg.stop());
const url = await pg.createDatabase();
const database = new URL(url.replace(/@[^/]+\//, '@h/')).pathname.slice(1);
const replicaUrl = pg.standbys[0]!.url(database);
const served = { replica: 0, primary: 0 };

mailStoreConformance('postgres, reads through a replica', () =>
  openPostgresHandle(url, async (repo, blobs) => {
    const replicas = new ReplicaSet(repo.sql, [replicaUrl], { maxLagSeconds: 60, checkIntervalMs: 50, connect: { max: 2 } });
    await replicas.start();
    repo.store.useReadRouter(replicas);
    blobs.useReadRouter(replicas);
    return {
      // One reader for everything the suite does: its writes go through the view too.
      store: repo.store.forReader(1),
      // The replica has replayed everything written so far (its lag is measured every 50 ms).
      settle: async () => {
        const lsn = await replicas.primaryLsn();
        await waitFor(() => replicas.pick(lsn) !== null, 20_000, 'the replica to replay the writes');
      },
      close: async () => {
        const counts = replicas.readCounts();
        served.replica += counts.replicas.metadata + counts.replicas.immutable;
        served.primary += counts.primary.metadata + counts.primary.immutable;
        await replicas.close();
      },
    };
  }),
);

test('the replica served some of the reads', (t) => {
  t.diagnostic(`reads served: ${served.replica} by the replica, ${served.primary} by the primary`);
  assert.ok(served.replica > 0);
});
