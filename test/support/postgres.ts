// A private PostgreSQL instance for tests: initdb into a temp dir, started on
// a free port with its unix socket in that dir, trust authentication, stopped
// and removed by stop(). Never touches the machine's own cluster (5432).
//
// Test speed: fsync, synchronous_commit and full_page_writes are off (a crash
// of the test machine may corrupt this throw-away cluster; nothing else).
// initdb refuses to run as root, so under root the cluster runs as the
// `postgres` system user (Debian's package creates it) and the temp dir is
// chowned to it.
//
// shutdown()/start() stop and restart the same server ("repository down"
// tests); PgServer is also the node of test/support/replication.ts (primary
// and streaming standbys, kill -9, pg_ctl promote).

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import postgres from 'postgres';
import { childrenOf, isAlive } from './proc.js';

export interface StartPostgresOptions {
  /** Extra server settings (`-c name=value`), e.g. { track_commit_timestamp: 'on' }. */
  settings?: Record<string, string>;
  /** Seconds to wait for the server to accept connections (default 60). */
  startTimeoutSeconds?: number;
}

export interface PostgresInstance {
  /** URL of the `postgres` database as the superuser `postgres` over TCP. */
  url: string;
  port: number;
  dataDir: string;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server but keeps its data (a "repository down" test); `start()` brings it back on the same port. */
  shutdown(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

export const SUPERUSER = 'postgres';
let databaseCounter = 0;

/** initdb/pg_ctl: PETREL_PG_BIN, else the highest /usr/lib/postgresql/<v>/bin, else PATH. */
export function findPostgresBinaries(): string {
  const has = (dir: string) =>
    ['initdb', 'pg_ctl', 'postgres'].every((b) => fs.existsSync(path.join(dir, b)));
  const fromEnv = process.env.PETREL_PG_BIN;
  if (fromEnv) {
    if (has(fromEnv)) return fromEnv;
    throw new Error(`PETREL_PG_BIN=${fromEnv} does not contain initdb, pg_ctl and postgres`);
  }
  const debian = '/usr/lib/postgresql';
  const versions = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = path.join(debian, v, 'bin');
    if (has(dir)) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && has(dir)) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/<version>/bin or PATH; ' +
      'install the Debian package `postgresql` (apt-get install postgresql) or set PETREL_PG_BIN',
  );
}

export type ClusterUser = { uid: number; gid: number } | null;

/** The uid/gid to run the cluster as: ourselves, or the `postgres` user when we are root. */
export function clusterUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, and initdb refuses root: the `postgres` system user is needed ' +
        '(it comes with the Debian package `postgresql`), or run the tests as another user',
    );
  }
}

/** The kernel's range of ports for outgoing connections (their local ends), or Linux's default. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

/**
 * A port on 127.0.0.1 that was free a moment ago, for a process the test
 * starts (PostgreSQL, Patroni, etcd, petrel serve). Taken below the
 * ephemeral range: a port bound with port 0 is one of the range's, and
 * between our close() and the other process's bind any outgoing connection
 * (a pool's, a client's) may get it as its local end, and the bind fails.
 * Random, so that test files running side by side rarely pick the same.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralRange();
  // Below the range (from 10000 when there is room: fewer well-known services there), else above it.
  const [first, last] = low > 12_000 ? [10_000, low - 1] : low > 2048 ? [1024, low - 1] : [high + 1, 65_535];
  for (let attempt = 0; ; attempt++) {
    const port = first + Math.floor(Math.random() * (last - first + 1));
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(false) : reject(err),
      );
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
    if (attempt >= 200) throw new Error(`no free port found between ${first} and ${last}`);
  }
}

export function run(
  file: string,
  args: string[],
  user: { uid: number; gid: number } | null,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ?? {}),
      // pg_ctl's server inherits our environment: keep PG* variables out.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function readTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/**
 * One PostgreSQL server: a data directory, a port, its settings. Used by
 * startPostgres and by the replication set-ups (test/support/replication.ts).
 */
export class PgServer {
  private running = false;
  private removed = false;
  private readonly exitHandler = () => this.removeNow();

  constructor(
    readonly bin: string,
    readonly user: ClusterUser,
    /** Temp dir holding dataDir, the log and the unix socket; removed by remove(). */
    readonly root: string,
    readonly port: number,
    private readonly settings: Record<string, string>,
    private readonly startTimeoutSeconds = 60,
  ) {
    // Safety net if the test process exits without remove(): stop synchronously.
    process.once('exit', this.exitHandler);
  }

  get dataDir(): string {
    return path.join(this.root, 'data');
  }

  get logFile(): string {
    return path.join(this.root, 'server.log');
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The URL of `database` on this server, as the superuser over TCP. */
  url(database = 'postgres'): string {
    return `postgres://${SUPERUSER}@127.0.0.1:${this.port}/${database}`;
  }

  /** pg_ctl start, waiting until the server accepts connections (a standby: until it accepts read-only ones). */
  async start(): Promise<void> {
    const serverArgs = [`-p ${this.port}`, ...Object.entries(this.settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
    const r = await run(
      path.join(this.bin, 'pg_ctl'),
      ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', String(this.startTimeoutSeconds), '-o', serverArgs, 'start'],
      this.user,
    );
    if (r.code !== 0) throw new Error(`pg_ctl start failed (${r.code}):\n${r.output}\n${readTail(this.logFile)}`);
    this.running = true;
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.running) return;
    const r = await run(path.join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-m', mode, '-w', 'stop'], this.user);
    this.running = false;
    if (r.code !== 0 && !/Is server running\?/.test(r.output)) throw new Error(`pg_ctl stop failed (${r.code}):\n${r.output}`);
  }

  /** pg_ctl promote (a standby becomes a primary); waits for the promotion to complete. */
  async promote(): Promise<void> {
    const r = await run(path.join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-w', '-t', '60', 'promote'], this.user);
    if (r.code !== 0) throw new Error(`pg_ctl promote failed (${r.code}):\n${r.output}\n${readTail(this.logFile)}`);
  }

  /** The postmaster's pid (first line of postmaster.pid), or null when not running. */
  postmasterPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /**
   * kill -9 of the postmaster and every process it started, at once, as a
   * crash of the machine would: no shutdown checkpoint, no goodbye to the
   * clients or to the standbys. Resolves when all of them are gone.
   */
  async crash(): Promise<void> {
    const pid = this.postmasterPid();
    if (pid === null) throw new Error(`no postmaster.pid in ${this.dataDir}`);
    this.running = false;
    await killAtOnce([pid, ...childrenOf(pid)], `processes of ${this.dataDir}`);
  }

  /** Stops the server (immediate) and deletes its directory. */
  async remove(): Promise<void> {
    if (this.removed) return;
    process.removeListener('exit', this.exitHandler);
    try {
      await this.stop('immediate');
    } finally {
      this.removed = true;
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  private removeNow(): void {
    if (this.removed) return;
    this.removed = true;
    if (this.running) {
      try {
        execFileSync(path.join(this.bin, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop'], {
          stdio: 'ignore',
          ...(this.user ?? {}),
        });
      } catch {
        // already gone
      }
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A new temp dir owned by the cluster user. */
export function makeServerRoot(user: ClusterUser): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-pg-'));
  if (user) fs.chownSync(root, user.uid, user.gid);
  return root;
}

/** Settings every test server gets (throw-away data: no fsync). */
export function baseSettings(root: string): Record<string, string> {
  return {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '32MB',
  };
}

/** SIGKILL to every pid in one go (as a machine's crash would), resolving when all are gone. */
export async function killAtOnce(pids: number[], what: string): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => pids.every((p) => !isAlive(p)), 10_000, `${what} to exit`);
}

/** Polls `condition` (every 20 ms) until true; throws after `ms`. A condition wait, not a sleep. */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs initdb into `root`/data. */
export async function initCluster(bin: string, user: ClusterUser, root: string): Promise<void> {
  const init = await run(
    path.join(bin, 'initdb'),
    ['-D', path.join(root, 'data'), '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    user,
  );
  if (init.code !== 0) throw new Error(`initdb failed (${init.code}):\n${init.output}`);
}

/** CREATE DATABASE on the server at `adminUrl`; returns the new database's name. */
export async function createDatabaseOn(adminUrl: string, name?: string): Promise<string> {
  const db = name ?? `petrel_test_${process.pid}_${++databaseCounter}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`bad database name ${db}`);
  const sql = postgres(adminUrl, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await sql.unsafe(`CREATE DATABASE ${db}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return db;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const bin = findPostgresBinaries();
  const user = clusterUser();
  const root = makeServerRoot(user);
  try {
    await initCluster(bin, user, root);
  } catch (err) {
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const port = await freePort();
  const server = new PgServer(bin, user, root, port, { ...baseSettings(root), ...options.settings }, options.startTimeoutSeconds);
  try {
    await server.start();
  } catch (err) {
    await server.remove();
    throw err;
  }
  return {
    url: server.url(),
    port,
    dataDir: server.dataDir,
    async createDatabase(name?: string): Promise<string> {
      return server.url(await createDatabaseOn(server.url(), name));
    },
    shutdown: (mode = 'fast') => server.stop(mode),
    start: () => server.start(),
    async stop(): Promise<void> {
      await server.stop('fast');
      await server.remove();
    },
  };
}
