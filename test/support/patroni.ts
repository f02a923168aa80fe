// A private Patroni cluster for one repository: one etcd (the DCS) and N
// Patroni nodes (default 2), each managing its own PostgreSQL, all on
// 127.0.0.1 with free ports and everything under one temp dir. Used by
// test/e2e/failover-patroni.test.ts, bench/failover.ts --manager patroni and
// scripts/patroni-local.sh (the one place the Patroni configuration is written).
//
// Layout of the root dir (0755, so the cluster user can reach its node dirs):
//   etcd/            etcd's data dir and etcd.log (owned by us)
//   node0/ node1/    per node, owned by the cluster user (postgres under root,
//                    as PostgreSQL refuses root): patroni.yml, patroni.log,
//                    pgpass, data/ (PostgreSQL's data dir), the unix socket
//
// The configuration each node gets (patroniConfig below; Patroni 3.0):
//   scope `petrel`, name nodeN, REST API on 127.0.0.1:<free port>, etcd3 (v3
//   API) at the private etcd. Bootstrap (DCS, shared by all nodes):
//     ttl 20, loop_wait 1, retry_timeout 5: how fast a lost leader is replaced.
//       The leader key lives in an etcd lease of `ttl` seconds that the leader
//       renews every loop; after a machine loss a replica can take over only
//       when the lease expires, so fail-over takes about ttl plus a loop.
//       Patroni 3.0 accepts smaller values; its documentation (and the checks
//       of later releases) give minimums of ttl 20, loop_wait 1,
//       retry_timeout 3, with loop_wait + 2 * retry_timeout <= ttl.
//     synchronous_mode (option, default true): Patroni names a streaming
//       replica in synchronous_standby_names, and only that replica may be
//       promoted, so nothing acknowledged is lost. Not strict: with no replica
//       left, the leader commits alone.
//     use_slots, wal_level replica, hot_standby, synchronous_commit on,
//       max_connections 200; for tests (`throwAway`) also fsync and
//       full_page_writes off, as in test/support/postgres.ts.
//   initdb UTF8, locale C; superuser `postgres` and replication user
//   `replicator`; pg_hba trusts 127.0.0.1 only (local, all databases and
//   replication); no watchdog; no pg_rewind (a lost node is not brought back).
//
// Waits are on conditions (etcd /health, Patroni's REST /primary and
// /replica, pg_stat_replication, pg_is_in_recovery()), never fixed sleeps.

import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  clusterUser,
  createDatabaseOn,
  findPostgresBinaries,
  freePort,
  killAtOnce,
  SUPERUSER,
  waitFor,
  type ClusterUser,
} from './postgres.js';
import { childrenOf, isAlive } from './proc.js';
import { queryOnce, waitForReplay } from './replication.js';

export interface PatroniOptions {
  /** Patroni nodes (default 2). */
  nodes?: number;
  /** Patroni's synchronous_mode (default true). */
  synchronousMode?: boolean;
  /** DCS timings in seconds (defaults 20, 1, and 5 or less, so that loop_wait + 2 * retry_timeout <= ttl). */
  ttl?: number;
  loopWait?: number;
  retryTimeout?: number;
  /** fsync, full_page_writes off and initdb --no-sync (default true: test data). */
  throwAway?: boolean;
  /** Seconds to wait for the cluster to come up (default 120). */
  startTimeoutSeconds?: number;
}

export const SCOPE = 'petrel';
const REPLICATION_USER = 'replicator';
const REST_TIMEOUT_MS = 1000;

/** Everything patroniConfig needs to know about one node. */
export interface PatroniNodeParams {
  name: string;
  root: string;
  restPort: number;
  pgPort: number;
  etcdClientPort: number;
  bin: string;
  synchronousMode: boolean;
  ttl: number;
  loopWait: number;
  retryTimeout: number;
  throwAway: boolean;
}

/** The Patroni configuration of one node (written as patroni.yml); described in the header. */
export function patroniConfig(p: PatroniNodeParams): Record<string, unknown> {
  const hba = [
    'local all all trust',
    'host all all 127.0.0.1/32 trust',
    `host replication ${REPLICATION_USER} 127.0.0.1/32 trust`,
  ];
  const clusterParameters: Record<string, string | number> = {
    wal_level: 'replica',
    hot_standby: 'on',
    max_wal_senders: 10,
    max_replication_slots: 10,
    max_connections: 200,
    synchronous_commit: 'on',
    ...(p.throwAway ? { fsync: 'off', full_page_writes: 'off' } : {}),
  };
  return {
    scope: SCOPE,
    name: p.name,
    restapi: { listen: `127.0.0.1:${p.restPort}`, connect_address: `127.0.0.1:${p.restPort}` },
    etcd3: { hosts: `127.0.0.1:${p.etcdClientPort}` },
    bootstrap: {
      dcs: {
        ttl: p.ttl,
        loop_wait: p.loopWait,
        retry_timeout: p.retryTimeout,
        maximum_lag_on_failover: 1048576,
        synchronous_mode: p.synchronousMode,
        postgresql: { use_pg_rewind: false, use_slots: true, parameters: clusterParameters },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, ...(p.throwAway ? ['no-sync'] : [])],
      pg_hba: hba,
    },
    postgresql: {
      listen: `127.0.0.1:${p.pgPort}`,
      connect_address: `127.0.0.1:${p.pgPort}`,
      data_dir: path.join(p.root, 'data'),
      bin_dir: p.bin,
      pgpass: path.join(p.root, 'pgpass'),
      authentication: {
        superuser: { username: SUPERUSER, password: SUPERUSER },
        replication: { username: REPLICATION_USER, password: REPLICATION_USER },
        rewind: { username: SUPERUSER, password: SUPERUSER },
      },
      parameters: { unix_socket_directories: p.root },
      pg_hba: hba,
    },
    watchdog: { mode: 'off' },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

/** YAML for plain data (maps, lists, strings, numbers, booleans); strings are written as JSON strings, which YAML reads as such. */
export function toYaml(value: unknown, indent = ''): string {
  const scalar = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const isComposite = (v: unknown): v is object => typeof v === 'object' && v !== null && Object.keys(v).length > 0;
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (!isComposite(item)) return `${indent}- ${scalar(item)}\n`;
        const inner = toYaml(item, `${indent}  `);
        return `${indent}- ${inner.slice(indent.length + 2)}`;
      })
      .join('');
  }
  return Object.entries(value as Record<string, unknown>)
    .map(([key, v]) => {
      if (isComposite(v)) return `${indent}${key}:\n${toYaml(v, `${indent}  `)}`;
      if (typeof v === 'object' && v !== null) return `${indent}${key}: ${Array.isArray(v) ? '[]' : '{}'}\n`;
      return `${indent}${key}: ${scalar(v)}\n`;
    })
    .join('');
}

/** GET on a Patroni REST endpoint: the status code, or 0 when the node does not answer. */
async function restStatus(port: number, endpoint: string): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/${endpoint}`, { signal: AbortSignal.timeout(REST_TIMEOUT_MS) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

function spawnLogged(file: string, args: string[], logFile: string, user: ClusterUser, home: string): ChildProcess {
  const fd = fs.openSync(logFile, 'a');
  if (user) fs.fchownSync(fd, user.uid, user.gid);
  try {
    // detached: a Ctrl-C in the operator's terminal reaches us, and stop() shuts the nodes down in order.
    return spawn(file, args, {
      stdio: ['ignore', fd, fd],
      detached: true,
      ...(user ?? {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', HOME: home },
    });
  } finally {
    fs.closeSync(fd);
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-3000);
  } catch {
    return '';
  }
}

/** SIGTERM, then wait (up to ms) for the process to exit; SIGKILL if it has not. */
async function terminate(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

/** The private etcd (one member): the DCS of the Patroni nodes. */
class Etcd {
  private process: ChildProcess | null = null;

  constructor(
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get logFile(): string {
    return path.join(this.dir, 'etcd.log');
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  async start(timeoutMs: number): Promise<void> {
    const client = `http://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.process = spawnLogged(
      'etcd',
      ['--name', 'etcd0', '--data-dir', path.join(this.dir, 'data'), '--logger', 'zap', '--log-level', 'warn',
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `etcd0=${peer}`, '--initial-cluster-state', 'new', '--initial-cluster-token', `petrel-${process.pid}`],
      this.logFile,
      null,
      this.dir,
    );
    await waitFor(
      async () => {
        if (this.process?.exitCode !== null) throw new Error(`etcd exited:\n${tail(this.logFile)}`);
        try {
          const r = await fetch(`${client}/health`, { signal: AbortSignal.timeout(REST_TIMEOUT_MS) });
          return ((await r.json()) as { health?: string }).health === 'true';
        } catch {
          return false;
        }
      },
      timeoutMs,
      'etcd to be healthy',
    );
  }

  async stop(): Promise<void> {
    if (this.process) await terminate(this.process, 10_000);
  }
}

/** One Patroni node: its Patroni process and the PostgreSQL it runs. */
export class PatroniNode {
  private process: ChildProcess | null = null;
  /** kill -9'ed by crash(): not started again. */
  lost = false;

  constructor(
    readonly name: string,
    readonly root: string,
    readonly restPort: number,
    readonly pgPort: number,
    private readonly user: ClusterUser,
  ) {}

  get configFile(): string {
    return path.join(this.root, 'patroni.yml');
  }

  get logFile(): string {
    return path.join(this.root, 'patroni.log');
  }

  get dataDir(): string {
    return path.join(this.root, 'data');
  }

  get patroniPid(): number | undefined {
    return this.process?.pid;
  }

  /** The URL of `database` on this node's PostgreSQL, as the superuser over TCP. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.pgPort}/${database}`;
  }

  start(): void {
    this.process = spawnLogged('patroni', [this.configFile], this.logFile, this.user, this.root);
  }

  get running(): boolean {
    return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Patroni's REST API says this node is the leader with a running primary. */
  async isPrimary(): Promise<boolean> {
    return (await restStatus(this.restPort, 'primary')) === 200;
  }

  /** Patroni's REST API says this node runs a replica. */
  async isReplica(): Promise<boolean> {
    return (await restStatus(this.restPort, 'replica')) === 200;
  }

  /** Patroni's REST API says this node is the synchronous standby named in the DCS (only it may be promoted in synchronous mode). */
  async isSyncStandby(): Promise<boolean> {
    return (await restStatus(this.restPort, 'sync')) === 200;
  }

  /** This node's PostgreSQL takes writes (out of recovery). */
  async isWritable(): Promise<boolean> {
    try {
      const [row] = await queryOnce<{ recovering: boolean }>(this.url(), 'SELECT pg_is_in_recovery() AS recovering');
      return row?.recovering === false;
    } catch {
      return false;
    }
  }

  /** The postmaster's pid (first line of postmaster.pid), or null. */
  postmasterPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /** Patroni, its helpers, the postmaster and its backends. */
  private processes(): number[] {
    const pids: number[] = [];
    const patroni = this.running ? this.process?.pid : undefined;
    if (patroni !== undefined) pids.push(patroni, ...childrenOf(patroni));
    const postmaster = this.postmasterPid();
    if (postmaster !== null) pids.push(postmaster, ...childrenOf(postmaster));
    return [...new Set(pids)];
  }

  /** kill -9 of Patroni and its PostgreSQL at once, as the loss of the machine would; resolves when all are gone. */
  async crash(): Promise<void> {
    this.lost = true;
    await killAtOnce(this.processes(), `processes of ${this.name}`);
  }

  /** SIGTERM to Patroni (it stops PostgreSQL and gives up the leader key); SIGKILL of whatever is left after `ms`. */
  async stop(ms = 15_000): Promise<void> {
    if (this.process) await terminate(this.process, ms);
    const left = this.processes();
    if (left.length > 0) await killAtOnce(left, `processes of ${this.name}`);
  }

  /** Synchronous last resort (process exit): kill -9 of everything. */
  killNow(): void {
    for (const pid of this.processes()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

export class PatroniCluster {
  private removed = false;
  private readonly exitHandler = () => this.removeNow();
  /** The node that was leader when last looked at (leader()/waitForNewLeader()). */
  leader: PatroniNode;

  private constructor(
    /** Temp dir holding everything; removed by stop(). */
    readonly root: string,
    readonly etcd: Etcd,
    /** Every node, in the order of the multi-host URL. */
    readonly nodes: PatroniNode[],
    readonly synchronousMode: boolean,
    readonly ttl: number,
  ) {
    this.leader = nodes[0]!;
    process.once('exit', this.exitHandler);
  }

  static async start(options: PatroniOptions = {}): Promise<PatroniCluster> {
    const bin = findPostgresBinaries();
    const user = clusterUser();
    const count = options.nodes ?? 2;
    const synchronousMode = options.synchronousMode ?? true;
    const ttl = options.ttl ?? 20;
    const loopWait = options.loopWait ?? 1;
    const retryTimeout = options.retryTimeout ?? Math.min(5, Math.floor((ttl - loopWait) / 2));
    // Patroni's rule: a leader must be able to retry the DCS twice and sleep once before its key expires.
    if (loopWait + 2 * retryTimeout > ttl) throw new Error(`Patroni needs loop_wait + 2 * retry_timeout <= ttl (${loopWait}, ${retryTimeout}, ${ttl})`);
    const timeoutMs = (options.startTimeoutSeconds ?? 120) * 1000;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-patroni-'));
    fs.chmodSync(root, 0o755);
    fs.mkdirSync(path.join(root, 'etcd'), { mode: 0o700 });
    const etcd = new Etcd(path.join(root, 'etcd'), await freePort(), await freePort());
    const nodes: PatroniNode[] = [];
    const cluster = new PatroniCluster(root, etcd, nodes, synchronousMode, ttl);
    try {
      await etcd.start(timeoutMs);
      for (let i = 0; i < count; i++) {
        const name = `node${i}`;
        const nodeRoot = path.join(root, name);
        fs.mkdirSync(nodeRoot, { mode: 0o700 });
        if (user) fs.chownSync(nodeRoot, user.uid, user.gid);
        const node = new PatroniNode(name, nodeRoot, await freePort(), await freePort(), user);
        const config = patroniConfig({
          name,
          root: nodeRoot,
          restPort: node.restPort,
          pgPort: node.pgPort,
          etcdClientPort: etcd.clientPort,
          bin,
          synchronousMode,
          ttl,
          loopWait,
          retryTimeout,
          throwAway: options.throwAway ?? true,
        });
        fs.writeFileSync(node.configFile, toYaml(config), { mode: 0o600 });
        if (user) fs.chownSync(node.configFile, user.uid, user.gid);
        nodes.push(node);
      }
      // The first node bootstraps (initdb) alone; the others then clone it with pg_basebackup.
      const [first, ...others] = nodes as [PatroniNode, ...PatroniNode[]];
      first.start();
      await cluster.waitNode(first, () => first.isPrimary(), timeoutMs, 'to bootstrap and lead');
      for (const node of others) node.start();
      for (const node of others) await cluster.waitNode(node, () => node.isReplica(), timeoutMs, 'to run as a replica');
      await cluster.waitForStreaming(timeoutMs);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  private async waitNode(node: PatroniNode, ready: () => Promise<boolean>, ms: number, what: string): Promise<void> {
    try {
      await waitFor(
        async () => {
          if (!node.running) throw new Error(`patroni ${node.name} exited`);
          return ready();
        },
        ms,
        `${node.name} ${what}`,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- ${node.logFile}:\n${tail(node.logFile)}`);
    }
  }

  /**
   * Waits until every other live node streams from the leader; in synchronous
   * mode one of them as "sync" in pg_stat_replication and as the sync standby
   * in the DCS (Patroni writes the two one after the other).
   */
  async waitForStreaming(ms = 60_000): Promise<void> {
    const leader = await this.findLeader(ms);
    const replicas = this.nodes.filter((n) => n !== leader && !n.lost);
    const names = replicas.map((n) => n.name);
    await waitFor(
      async () => {
        const rows = await queryOnce<{ application_name: string; state: string; sync_state: string }>(
          leader.url(),
          'SELECT application_name, state, sync_state FROM pg_stat_replication',
        );
        const streaming = rows.filter((r) => names.includes(r.application_name) && r.state === 'streaming');
        if (streaming.length !== names.length) return false;
        if (!this.synchronousMode || replicas.length === 0) return true;
        const sync = replicas.find((n) => streaming.some((r) => r.application_name === n.name && r.sync_state === 'sync'));
        return sync !== undefined && (await sync.isSyncStandby());
      },
      ms,
      `replicas ${names.join(', ')} to stream from ${leader.name}${this.synchronousMode ? ' (one synchronously)' : ''}`,
    );
  }

  /** A URL of `database` listing every node, selecting the primary: Petrel's storage.postgres_url. */
  url(database: string): string {
    const hosts = this.nodes.map((n) => `127.0.0.1:${n.pgPort}`).join(',');
    return `postgres://${SUPERUSER}@${hosts}/${database}?target_session_attrs=primary`;
  }

  /** The node Patroni has as leader now (waits up to `ms` for one). */
  async findLeader(ms = 60_000): Promise<PatroniNode> {
    let found: PatroniNode | undefined;
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          if (!node.lost && (await node.isPrimary())) {
            found = node;
            return true;
          }
        }
        return false;
      },
      ms,
      'a Patroni leader',
    );
    this.leader = found!;
    return found!;
  }

  /** Creates a database on the leader (it reaches the replicas by replication); returns the multi-host URL. */
  async createDatabase(name?: string): Promise<string> {
    const leader = await this.findLeader();
    const db = await createDatabaseOn(leader.url(), name);
    await this.waitForReplay();
    return this.url(db);
  }

  /** Waits until every live replica has replayed all WAL the leader has written so far. */
  async waitForReplay(): Promise<void> {
    const leader = await this.findLeader();
    await waitForReplay(
      leader.url(),
      this.nodes.filter((n) => n !== leader && !n.lost).map((n) => n.url()),
    );
  }

  /** kill -9 of the leader's Patroni and PostgreSQL (machine loss); resolves when they are gone. */
  async crashLeader(): Promise<PatroniNode> {
    const lost = this.leader;
    await lost.crash();
    return lost;
  }

  /**
   * Waits until Patroni has made another node leader and its PostgreSQL takes
   * writes. We promote nothing: Patroni does, once the lost leader's key expires.
   */
  async waitForNewLeader(ms = (this.ttl + 60) * 1000): Promise<PatroniNode> {
    let found: PatroniNode | undefined;
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          if (!node.lost && (await node.isPrimary()) && (await node.isWritable())) {
            found = node;
            return true;
          }
        }
        return false;
      },
      ms,
      'Patroni to promote a replica',
    );
    this.leader = found!;
    return found!;
  }

  /** `patronictl list` for this cluster (the command an operator runs, and its output). */
  patronictlList(): string {
    return execFileSync('patronictl', ['-c', this.nodes[0]!.configFile, 'list'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    });
  }

  /** Stops every node (Patroni shuts its PostgreSQL down), then etcd, and removes the root dir. */
  async stop(): Promise<void> {
    if (this.removed) return;
    try {
      await Promise.allSettled(this.nodes.map((n) => n.stop()));
      await this.etcd.stop();
    } finally {
      this.removed = true;
      process.removeListener('exit', this.exitHandler);
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  private removeNow(): void {
    if (this.removed) return;
    this.removed = true;
    for (const node of this.nodes) node.killNow();
    const etcdPid = this.etcd.pid;
    if (etcdPid !== undefined) {
      try {
        process.kill(etcdPid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
