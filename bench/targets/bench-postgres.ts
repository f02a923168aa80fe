// The PostgreSQL a petrel-cluster target runs on, started by the test support
// code (initdb into temp dirs, free loopback ports, run as the `postgres`
// user when we are root): either one node (test/support/postgres.ts), or a
// primary with streaming standbys that Petrel reads from
// (test/support/replication.ts, async or sync).
//
// Durable like the embedded target (SQLite synchronous=FULL): fsync,
// synchronous_commit and full_page_writes are on, unlike the test clusters,
// which turn them off for speed.

import path from 'node:path';
import { startPostgres } from '../../test/support/postgres.js';
import { ReplicatedPostgres, type ReplicationMode } from '../../test/support/replication.js';

/** PostgreSQL settings for the bench: durable, and Debian's default memory. */
export const PG_SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '128MB',
  max_connections: '200',
};

export interface BenchPostgresOptions {
  /** Streaming standbys that serve Petrel's reads (storage.postgres_replica_urls); 0 = one node. */
  replicas: number;
  /** async: the primary does not wait for the standby; sync: the first standby is synchronous. */
  mode: ReplicationMode;
  /** Extra settings of every node (e.g. shared_preload_libraries). */
  settings: Record<string, string>;
}

export interface BenchPostgresNode {
  /** "postgres" for the primary, "replica-1"...: the CPU group and the log name. */
  role: string;
  dataDir: string;
  logFile: string;
}

export interface BenchPostgres {
  /** The Petrel settings that point a repository at this database (and its replicas). */
  petrelEnv: Record<string, string>;
  /** The bench database on the primary, for the bench's own queries. */
  primaryUrl: string;
  nodes: BenchPostgresNode[];
  /** Stops and removes every node. */
  stop(): Promise<void>;
}

export async function startBenchPostgres(database: string, o: BenchPostgresOptions): Promise<BenchPostgres> {
  const settings = { ...PG_SETTINGS, ...o.settings };
  if (o.replicas <= 0) {
    const pg = await startPostgres({ settings });
    try {
      const url = await pg.createDatabase(database);
      // PETREL_BENCH_PG_SOCKET=1: Petrel reaches it over its Unix socket (libpq's URL form), as a
      // same-machine set-up would; test/support/postgres.ts puts the socket next to the data dir.
      const tcp = new URL(url);
      const socketUrl = `postgres://${tcp.pathname}?host=${encodeURIComponent(path.dirname(pg.dataDir))}&port=${tcp.port}&user=${tcp.username}`;
      const petrelUrl = process.env.PETREL_BENCH_PG_SOCKET === '1' ? socketUrl : url;
      return {
        petrelEnv: { PETREL_STORAGE_BACKEND: 'postgres', PETREL_STORAGE_POSTGRES_URL: petrelUrl },
        primaryUrl: url,
        // test/support/postgres.ts logs to <root>/server.log, next to the data dir.
        nodes: [{ role: 'postgres', dataDir: pg.dataDir, logFile: path.join(path.dirname(pg.dataDir), 'server.log') }],
        stop: () => pg.stop(),
      };
    } catch (err) {
      await pg.stop();
      throw err;
    }
  }
  const set = await ReplicatedPostgres.start({ mode: o.mode, standbys: o.replicas, settings });
  try {
    // Multi-host, target_session_attrs=primary: what an operator gives Petrel.
    const url = await set.createDatabase(database);
    const primary = set.primary;
    const standbys = set.standbys;
    return {
      petrelEnv: {
        PETREL_STORAGE_BACKEND: 'postgres',
        PETREL_STORAGE_POSTGRES_URL: url,
        PETREL_STORAGE_POSTGRES_REPLICA_URLS: standbys.map((s) => s.url(database)).join(' '),
        PETREL_STORAGE_BLOB_STORE: 'postgres',
        // The read counters (where reads were served) are only on /metrics.
        PETREL_METRICS_LISTEN: '127.0.0.1:0',
      },
      primaryUrl: primary.url(database),
      nodes: [
        { role: 'postgres', dataDir: primary.dataDir, logFile: primary.logFile },
        ...standbys.map((s, i) => ({ role: `replica-${i + 1}`, dataDir: s.dataDir, logFile: s.logFile })),
      ],
      stop: () => set.stop(),
    };
  } catch (err) {
    await set.stop();
    throw err;
  }
}
