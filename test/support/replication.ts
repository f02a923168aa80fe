// A private PostgreSQL primary with streaming standbys, for fail-over tests.
//
// The primary is initdb'ed and started as in postgres.ts (wal_level replica,
// physical replication slots); each standby is a pg_basebackup -R of it on
// its own free port and temp dir, streaming through its own slot under its
// own application_name. Synchronous mode names the first standby in
// synchronous_standby_names with synchronous_commit = on: the primary answers
// COMMIT only once that standby has flushed the commit record, so promoting
// it loses nothing acknowledged. Asynchronous mode: the primary does not wait.
//
// Everything waits on conditions (pg_stat_replication, pg_is_in_recovery(),
// processes gone), never on fixed sleeps. stop() removes every node.

import * as fs from 'node:fs';
import * as path from 'node:path';
import postgres from 'postgres';
import {
  baseSettings,
  clusterUser,
  createDatabaseOn,
  findPostgresBinaries,
  freePort,
  initCluster,
  makeServerRoot,
  PgServer,
  run,
  waitFor,
} from './postgres.js';

export type ReplicationMode = 'sync' | 'async';

export interface ReplicationOptions {
  mode: ReplicationMode;
  /** Number of standbys (default 1). In sync mode the first is the synchronous one. */
  standbys?: number;
  /** Extra settings for every node. */
  settings?: Record<string, string>;
  /** Extra settings of each standby (index 0: the first), e.g. recovery_min_apply_delay for a lagging read replica. */
  standbySettings?: Array<Record<string, string>>;
}

const WAIT_MS = 30_000;

/** Runs one query on `url` over a short-lived connection. */
export async function queryOnce<T extends object>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {}, idle_timeout: 1 });
  try {
    return (await sql.unsafe(text)) as unknown as T[];
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Waits until each standby (by URL) has replayed all WAL the primary has written so far. */
export async function waitForReplay(primaryUrl: string, standbyUrls: string[]): Promise<void> {
  const [{ lsn }] = (await queryOnce<{ lsn: string }>(primaryUrl, 'SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
  for (const url of standbyUrls) {
    await waitFor(
      async () => {
        const [row] = await queryOnce<{ behind: boolean }>(url, `SELECT pg_last_wal_replay_lsn() < '${lsn}'::pg_lsn AS behind`);
        return row?.behind === false;
      },
      WAIT_MS,
      `standby ${url} to replay to ${lsn}`,
    );
  }
}

export class ReplicatedPostgres {
  /** The node that is primary now (changes with promote()). */
  primary: PgServer;

  private constructor(
    readonly mode: ReplicationMode,
    /** Every node, in the order of the multi-host URL: the first primary first. */
    readonly nodes: PgServer[],
    /** application_name of each node as a standby (index as in nodes). */
    readonly names: string[],
  ) {
    this.primary = nodes[0]!;
  }

  static async start(options: ReplicationOptions): Promise<ReplicatedPostgres> {
    const bin = findPostgresBinaries();
    const user = clusterUser();
    const count = options.standbys ?? 1;
    const names = Array.from({ length: count + 1 }, (_, i) => `node${i}`);
    const replicationSettings = {
      wal_level: 'replica',
      max_wal_senders: '10',
      max_replication_slots: '10',
      hot_standby: 'on',
      // Commits wait for the local WAL write (and, in sync mode, the standby's flush).
      synchronous_commit: 'on',
      ...options.settings,
    };
    const nodes: PgServer[] = [];
    const set = new ReplicatedPostgres(options.mode, nodes, names);
    try {
      const primaryRoot = makeServerRoot(user);
      await initCluster(bin, user, primaryRoot);
      const primarySettings: Record<string, string> = { ...baseSettings(primaryRoot), ...replicationSettings };
      if (options.mode === 'sync' && count > 0) primarySettings.synchronous_standby_names = names[1]!;
      const primary = new PgServer(bin, user, primaryRoot, await freePort(), primarySettings);
      nodes.push(primary);
      await primary.start();
      set.primary = primary;
      for (let i = 1; i <= count; i++) {
        const root = makeServerRoot(user);
        const port = await freePort();
        const node = new PgServer(bin, user, root, port, { ...baseSettings(root), ...replicationSettings, ...options.standbySettings?.[i - 1] });
        nodes.push(node);
        await set.cloneStandby(node, names[i]!, user);
        await node.start();
      }
      await set.waitForStreaming();
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  /** pg_basebackup -R of the primary into node's data dir, streaming through its own slot under `name`. */
  private async cloneStandby(node: PgServer, name: string, user: ReturnType<typeof clusterUser>): Promise<void> {
    const slot = `slot_${name}`;
    const r = await run(
      path.join(node.bin, 'pg_basebackup'),
      ['-h', '127.0.0.1', '-p', String(this.primary.port), '-U', 'postgres', '-D', node.dataDir, '-R', '-X', 'stream',
        '-C', '-S', slot, '-c', 'fast', '--no-sync'],
      user,
    );
    if (r.code !== 0) throw new Error(`pg_basebackup failed (${r.code}):\n${r.output}`);
    // Later lines win: give the standby its application_name (what synchronous_standby_names names).
    const auto = path.join(node.dataDir, 'postgresql.auto.conf');
    fs.appendFileSync(
      auto,
      `primary_conninfo = 'host=127.0.0.1 port=${this.primary.port} user=postgres application_name=${name}'\n` +
        `primary_slot_name = '${slot}'\n`,
    );
    if (user) fs.chownSync(auto, user.uid, user.gid);
  }

  get standbys(): PgServer[] {
    return this.nodes.filter((n) => n !== this.primary && n.isRunning);
  }

  /** A URL of `database` listing every node, selecting the primary (what Petrel is given). */
  url(database: string): string {
    const hosts = this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
    return `postgres://postgres@${hosts}/${database}?target_session_attrs=primary`;
  }

  /** Creates a database on the primary (it reaches the standbys by replication); returns its multi-host URL. */
  async createDatabase(name?: string): Promise<string> {
    const db = await createDatabaseOn(this.primary.url(), name);
    await this.waitForReplay();
    return this.url(db);
  }

  /** Waits until every running standby streams from the primary (in sync mode: the first one as "sync"). */
  async waitForStreaming(): Promise<void> {
    const expected = this.nodes.map((n, i) => ({ n, name: this.names[i]! })).filter(({ n }) => n !== this.primary && n.isRunning);
    await waitFor(
      async () => {
        const rows = await queryOnce<{ application_name: string; state: string; sync_state: string }>(
          this.primary.url(),
          'SELECT application_name, state, sync_state FROM pg_stat_replication',
        );
        return expected.every(({ name }) => {
          const row = rows.find((r) => r.application_name === name);
          if (!row || row.state !== 'streaming') return false;
          return this.mode === 'async' || name !== this.names[1] || row.sync_state === 'sync';
        });
      },
      WAIT_MS,
      'standbys to stream from the primary',
    );
  }

  /** Waits until every running standby has replayed all WAL the primary has written so far. */
  async waitForReplay(): Promise<void> {
    await waitForReplay(this.primary.url(), this.standbys.map((s) => s.url()));
  }

  /** How many WAL bytes each standby's replay is behind the primary's current position (for reports). */
  async lagBytes(): Promise<Array<{ name: string; bytes: number }>> {
    return queryOnce<{ name: string; bytes: number }>(
      this.primary.url(),
      `SELECT application_name AS name, coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8 AS bytes
       FROM pg_stat_replication ORDER BY application_name`,
    );
  }

  /** kill -9 of the primary (postmaster and backends); resolves when they are gone. No node is primary afterwards. */
  async crashPrimary(): Promise<PgServer> {
    const lost = this.primary;
    await lost.crash();
    return lost;
  }

  /** pg_ctl promote `node` (default: the first standby) and wait until it takes writes. */
  async promote(node: PgServer = this.standbys[0]!): Promise<PgServer> {
    if (!node) throw new Error('no standby to promote');
    await node.promote();
    await ReplicatedPostgres.waitWritable(node);
    this.primary = node;
    return node;
  }

  /** Waits until `node` is out of recovery (pg_is_in_recovery() false): it accepts writes. */
  static async waitWritable(node: PgServer): Promise<void> {
    await waitFor(
      async () => {
        try {
          const [row] = await queryOnce<{ recovering: boolean }>(node.url(), 'SELECT pg_is_in_recovery() AS recovering');
          return row?.recovering === false;
        } catch {
          return false; // not accepting connections yet
        }
      },
      WAIT_MS,
      `node on port ${node.port} to accept writes`,
    );
  }

  /** Stops and removes every node. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.remove()));
  }
}
