// A private PostgreSQL instance for tests: initdb into a temp dir, started on
// a free port with its unix socket in that dir, trust authentication, stopped
// and removed by stop(). Never touches the machine's own cluster (5432).
//
// Test speed: fsync, synchronous_commit and full_page_writes are off (a crash
// of the test machine may corrupt this throw-away cluster; nothing else).
// initdb refuses to run as root, so under root the cluster runs as the
// `postgres` system user (Debian's package creates it) and the temp dir is
// chowned to it.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import postgres from 'postgres';

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
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
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

/** The uid/gid to run the cluster as: ourselves, or the `postgres` user when we are root. */
function clusterUser(): { uid: number; gid: number } | null {
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

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function run(
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

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const bin = findPostgresBinaries();
  const user = clusterUser();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-pg-'));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'server.log');
  if (user) fs.chownSync(root, user.uid, user.gid);
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });

  const init = await run(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    user,
  );
  if (init.code !== 0) {
    cleanup();
    throw new Error(`initdb failed (${init.code}):\n${init.output}`);
  }

  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    shared_buffers: '32MB',
    ...options.settings,
  };
  const serverArgs = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const timeout = String(options.startTimeoutSeconds ?? 60);
  const started = await run(
    path.join(bin, 'pg_ctl'),
    ['-D', dataDir, '-l', logFile, '-w', '-t', timeout, '-o', serverArgs, 'start'],
    user,
  );
  if (started.code !== 0) {
    const log = readTail(logFile);
    cleanup();
    throw new Error(`pg_ctl start failed (${started.code}):\n${started.output}\n${log}`);
  }

  // Safety net if the test process exits without stop(): stop synchronously.
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    try {
      execFileSync(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], {
        stdio: 'ignore',
        ...(user ?? {}),
      });
    } catch {
      // already gone
    }
    cleanup();
  };
  process.once('exit', stopNow);

  const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    async createDatabase(name?: string): Promise<string> {
      const db = name ?? `petrel_test_${process.pid}_${++databaseCounter}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`bad database name ${db}`);
      const sql = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
      try {
        await sql.unsafe(`CREATE DATABASE ${db}`);
      } finally {
        await sql.end({ timeout: 5 });
      }
      return `postgres://${SUPERUSER}@127.0.0.1:${port}/${db}`;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', stopNow);
      const r = await run(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop'], user);
      cleanup();
      if (r.code !== 0) throw new Error(`pg_ctl stop failed (${r.code}):\n${r.output}`);
    },
  };
}
