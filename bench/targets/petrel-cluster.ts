// Petrel in cluster mode as a bench target: a private PostgreSQL
// (bench-postgres.ts: one durable node, or a primary with streaming standbys
// that serve reads), `petrel db migrate`, the bench users, then N `petrel
// serve` processes over that one database, each with its own data dir and
// loopback ports. Each server is a PetrelTarget (same CLI, same readiness
// check, same limits) with the PostgreSQL settings in its environment; only
// the first one builds, migrates and adds the users.
//
// With replicas, Petrel gets storage.postgres_replica_urls, bodies in
// PostgreSQL, and metrics on: each point then reports the share of reads the
// replicas served (lib/petrel-metrics.ts, from GET /metrics).

import { readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import type { ReplicationMode } from '../../test/support/replication.js';
import type { ConnectionNeeds, Endpoint, Target } from '../lib/endpoint.js';
import { readShareSampler } from '../lib/petrel-metrics.js';
import { PG_SETTINGS, startBenchPostgres, type BenchPostgres } from './bench-postgres.js';
import { PetrelTarget } from './petrel.js';

export interface PetrelClusterOptions {
  /** `petrel serve` processes over the one database (default 2). */
  servers?: number;
  /** Streaming standbys Petrel reads from (default 0: one PostgreSQL node). */
  replicas?: number;
  /** Replication mode with replicas (default async). */
  replicaMode?: ReplicationMode;
  run?: 'src' | 'dist';
  /** Extra environment for every server and CLI command (--petrel-env). */
  env?: Record<string, string>;
  /** Server logs go to <keepLogIn>/<name>-<i>/petrel.log and <keepLogIn>/<name>-<postgres|replica-i>.log; null = discard. */
  keepLogIn?: string | null;
  connections?: ConnectionNeeds | null;
  /** Another CLI entry for every server (target name petrel-cluster-N@PATH), as PetrelOptions.cli. */
  cli?: string | null;
  /**
   * Loads pg_stat_statements and, on stop, writes the top statements (calls,
   * time, rows) of the primary to <keepLogIn>/<name>-pg-statements.txt: which
   * queries a load costs. Off by default (it costs a little); PETREL_BENCH_PG_STATEMENTS=1.
   */
  pgStatements?: boolean;
}

export class PetrelClusterTarget implements Target {
  readonly name: string;
  private pg: BenchPostgres | null = null;
  private servers: PetrelTarget[] = [];
  private readonly count: number;
  private readonly replicas: number;
  private readonly pgStatements: boolean;
  /** The name as a file name (petrel-cluster-1@/tmp/x/bin/petrel.cjs has slashes). */
  private readonly fileName: string;

  constructor(private readonly opts: PetrelClusterOptions = {}, name = 'petrel-cluster') {
    this.name = name;
    this.fileName = name.replace(/[^\w.-]+/g, '_');
    this.count = Math.max(1, Math.floor(opts.servers ?? 2));
    this.replicas = Math.max(0, Math.floor(opts.replicas ?? 0));
    this.pgStatements = opts.pgStatements ?? process.env.PETREL_BENCH_PG_STATEMENTS === '1';
  }

  async start(userIds: string[]): Promise<Endpoint> {
    const statements: Record<string, string> = this.pgStatements ? { shared_preload_libraries: 'pg_stat_statements' } : {};
    const pg = await startBenchPostgres('petrel_bench', { replicas: this.replicas, mode: this.opts.replicaMode ?? 'async', settings: statements });
    this.pg = pg;
    if (this.pgStatements) await withSql(pg.primaryUrl, (sql) => sql`CREATE EXTENSION pg_stat_statements`);
    const env: Record<string, string> = { ...pg.petrelEnv, ...this.opts.env };
    const endpoints: Endpoint[] = [];
    for (let i = 0; i < this.count; i++) {
      const logDir = this.opts.keepLogIn ? path.join(this.opts.keepLogIn, `${this.fileName}-${i + 1}`) : null;
      if (logDir) await mkdir(logDir, { recursive: true });
      const first = i === 0;
      const server = new PetrelTarget({
        run: this.opts.run,
        env,
        keepLogIn: logDir,
        connections: this.opts.connections,
        cli: this.opts.cli ?? null,
        build: first,
        setupCommands: first ? [['db', 'migrate']] : [],
      });
      this.servers.push(server);
      // Users live in the database: the first server's CLI adds them for all.
      endpoints.push(await server.start(first ? userIds : []));
    }
    const head = endpoints[0]!;
    const petrelRoots = () => endpoints.flatMap((e) => (e.pid !== undefined ? [e.pid] : []));
    return {
      name: this.name,
      imap: head.imap,
      lmtp: head.lmtp,
      users: head.users,
      // `petrel import maildir` with the PostgreSQL environment: into the database every server serves.
      ...(head.importMaildir ? { importMaildir: head.importMaildir } : {}),
      servers: endpoints.map((e) => ({ imap: e.imap, lmtp: e.lmtp })),
      pid: head.pid,
      serverPids: async () => (await Promise.all(endpoints.map((e) => e.serverPids?.() ?? []))).flat(),
      // Every `serve` process with its workers; every postmaster with its children (one backend per
      // pooled connection, the writers, the WAL sender/receiver), those that exited during the point included.
      cpuTrees: async () => {
        const groups: Record<string, number[]> = { petrel: petrelRoots() };
        for (const node of pg.nodes) {
          const pm = postmasterPid(node.dataDir);
          groups[node.role] = pm === null ? [] : [pm];
        }
        return groups;
      },
      // Those of the first server: the one scenarios that hold many connections (idle-fanout) use.
      connectionHolders: head.connectionHolders,
      // The servers' read counters (reported only when the repository has replicas), summed.
      sampleServer: readShareSampler(() => this.metricsUrls()),
    };
  }

  /** The servers' Prometheus endpoints (those that logged one). */
  metricsUrls(): string[] {
    return this.servers.flatMap((s) => s.metricsUrl() ?? []);
  }

  describe(): Record<string, string> {
    return {
      run: this.opts.run ?? 'src',
      servers: String(this.count),
      replicas: this.replicas ? `${this.replicas} (${this.opts.replicaMode ?? 'async'})` : '0',
      postgres: Object.entries(PG_SETTINGS)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      env: Object.entries(this.opts.env ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    };
  }

  async stop(): Promise<void> {
    for (const s of this.servers.reverse()) await s.stop();
    this.servers = [];
    if (this.pg && this.pgStatements && this.opts.keepLogIn) {
      const file = path.join(this.opts.keepLogIn, `${this.fileName}-pg-statements.txt`);
      await withSql(this.pg.primaryUrl, async (sql) => {
        const rows = await sql<{ calls: string; ms: number; rows: string; query: string }[]>`
          SELECT calls, round(total_exec_time::numeric, 1)::float8 AS ms, rows, regexp_replace(query, '\\s+', ' ', 'g') AS query
          FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 40`;
        await writeFile(file, rows.map((r) => `${r.calls}\t${r.ms} ms\t${r.rows} rows\t${r.query.slice(0, 400)}`).join('\n') + '\n');
      }).catch(() => undefined);
    }
    if (this.pg) {
      const pg = this.pg;
      this.pg = null;
      // The logs live next to the data dirs, removed by stop().
      const keep = this.opts.keepLogIn;
      if (keep) for (const node of pg.nodes) await copyFile(node.logFile, path.join(keep, `${this.fileName}-${node.role}.log`)).catch(() => undefined);
      await pg.stop().catch(() => undefined);
    }
  }
}

/** One short-lived connection to the bench database. */
async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** First line of postmaster.pid, or null when PostgreSQL is not running. */
function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
