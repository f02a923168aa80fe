// The command behind scripts/patroni-local.sh: starts the Patroni set-up of
// test/support/patroni.ts (one etcd, N Patroni nodes, one repository
// database) in the foreground for an operator to try Petrel against, prints
// the storage.postgres_url for petrel.toml and how to look at and break the
// cluster, and on Ctrl-C (SIGINT) or SIGTERM stops everything and removes it.
//
//   node --import tsx test/support/patroni-local.ts [--nodes 2] [--async]
//       [--ttl 20] [--loop-wait 1] [--retry-timeout <= 5] [--database petrel]

import { parseArgs } from 'node:util';
import { PatroniCluster, SCOPE } from './patroni.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    async: { type: 'boolean', default: false },
    ttl: { type: 'string', default: '20' },
    'loop-wait': { type: 'string', default: '1' },
    'retry-timeout': { type: 'string' },
    database: { type: 'string', default: 'petrel' },
  },
});

const cluster = await PatroniCluster.start({
  nodes: Number(values.nodes),
  synchronousMode: !values.async,
  ttl: Number(values.ttl),
  loopWait: Number(values['loop-wait']),
  retryTimeout: values['retry-timeout'] === undefined ? undefined : Number(values['retry-timeout']),
  // Settings an operator would keep (fsync on), unlike the tests' throw-away clusters.
  throwAway: false,
});
let stopping: Promise<void> | null = null;
const stop = (): Promise<void> => (stopping ??= cluster.stop());
process.once('SIGINT', () => void stop().then(() => process.exit(0)));
process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

try {
  const url = await cluster.createDatabase(values.database);
  const config = cluster.nodes[0]!.configFile;
  const lines = [
    `Patroni cluster "${SCOPE}" (${cluster.nodes.length} nodes, ${values.async ? 'asynchronous' : 'synchronous_mode'}) under ${cluster.root}`,
    `etcd: http://127.0.0.1:${cluster.etcd.clientPort} (log ${cluster.etcd.logFile})`,
    ...cluster.nodes.map(
      (n) =>
        `${n.name}: PostgreSQL 127.0.0.1:${n.pgPort}, Patroni REST http://127.0.0.1:${n.restPort}, ` +
        `patroni pid ${n.patroniPid}, config ${n.configFile}, log ${n.logFile}`,
    ),
    '',
    cluster.patronictlList().trimEnd(),
    '',
    'In petrel.toml (then `petrel db migrate` and `petrel serve`):',
    '',
    '[storage]',
    'backend = "postgres"',
    `postgres_url = "${url}"`,
    '',
    `Look:      patronictl -c ${config} list`,
    `Switch:    patronictl -c ${config} switchover --force`,
    `Lose the leader's machine (${cluster.leader.name}): kill -9 ${cluster.leader.patroniPid} ${cluster.leader.postmasterPid()}` +
      ' (its Patroni and postmaster; the backends follow)',
    '',
    'Ctrl-C stops everything and removes the directory.',
  ];
  console.log(lines.join('\n'));
} catch (err) {
  await stop();
  throw err;
}
