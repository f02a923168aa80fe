// Starts the real `petrel serve` process on free ports in a temp data dir, as
// an operator would, and stops it. Ports are chosen by the OS (listen on port
// 0); the server reports them in its {"msg":"listening"} log lines.
//
// With PETREL_TEST_BACKEND=postgres (test/e2e/postgres/*.test.ts set it), the
// same tests run on PostgreSQL: one private server per test process, one
// database per data dir (a restart keeps it), schema migrated at start; they
// stop it with stopTestPostgres (the harness registers no hooks itself: bench
// scripts import it too).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = ['--import', 'tsx', join(ROOT, 'src', 'cli', 'run.ts')];

/** How long stop() waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 15000;

export interface RunningServer {
  dataDir: string;
  imapPort: number;
  lmtpPort: number;
  imapsPort: number | null;
  /** The Prometheus endpoint's port when metrics.listen is set. */
  metricsPort: number | null;
  env: NodeJS.ProcessEnv;
  process: ChildProcess;
  /** Everything the server logged so far (one JSON object per line). */
  log: string[];
  /** Runs a petrel CLI command against the same data dir. */
  cli(args: string[], input?: string | Buffer): Promise<{ code: number; stdout: string; stderr: string }>;
  /** SIGTERM, wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, wait for exit (crash tests). */
  kill(): Promise<void>;
  /** Starts the server again on the same data dir (new ports). */
  restart(): Promise<RunningServer>;
  /** stop() and remove the data dir. */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  dataDir?: string;
  /** Users to create (name -> password) before the server starts. */
  users?: Record<string, string>;
  timeoutMs?: number;
}

export function runCli(
  env: NodeJS.ProcessEnv,
  args: string[],
  input?: string | Buffer,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

let testPostgres: Promise<PostgresInstance> | null = null;
const databases = new Map<string, string>();

/** Stops the PostgreSQL of PETREL_TEST_BACKEND=postgres, if one was started (test/e2e/postgres/*.test.ts call it in `after`). */
export async function stopTestPostgres(): Promise<void> {
  const pg = testPostgres;
  testPostgres = null;
  databases.clear();
  if (pg) await (await pg).stop();
}

/** The storage settings of a server under PETREL_TEST_BACKEND=postgres (none otherwise, or when the test chose its own). */
async function testBackendEnv(dataDir: string, own: Record<string, string> | undefined): Promise<Record<string, string>> {
  if (process.env.PETREL_TEST_BACKEND !== 'postgres' || own?.PETREL_STORAGE_BACKEND) return {};
  testPostgres ??= startPostgres();
  const pg = await testPostgres;
  let url = databases.get(dataDir);
  if (!url) databases.set(dataDir, (url = await pg.createDatabase()));
  return { PETREL_STORAGE_BACKEND: 'postgres', PETREL_STORAGE_POSTGRES_URL: url, PETREL_STORAGE_AUTO_MIGRATE: 'true' };
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'petrel-e2e-')));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PETREL_DATA_DIR: dataDir,
    PETREL_IMAP_LISTEN: '127.0.0.1:0',
    PETREL_LMTP_LISTEN: '127.0.0.1:0',
    PETREL_ALLOW_PLAINTEXT_AUTH: 'true',
    PETREL_LOG_LEVEL: 'info',
    ...(await testBackendEnv(dataDir, options.env)),
    // test/e2e/workers/*.test.ts: the same files again with worker processes.
    ...(process.env.PETREL_TEST_WORKERS ? { PETREL_SERVER_WORKERS: process.env.PETREL_TEST_WORKERS } : {}),
    ...options.env,
  };
  for (const [name, password] of Object.entries(options.users ?? {})) {
    const r = await runCli(env, ['user', 'add', name, '--password', password]);
    if (r.code !== 0) throw new Error(`petrel user add ${name} failed: ${r.stderr}`);
  }
  const child = spawn(process.execPath, [...CLI, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.stdout!.resume();
  const ports = await new Promise<Record<string, number>>((resolvePromise, reject) => {
    const found: Record<string, number> = {};
    const timer = setTimeout(
      () => reject(new Error(`server did not start within ${options.timeoutMs ?? 30000} ms:\n${log.join('\n')}`)),
      options.timeoutMs ?? 30000,
    );
    const expected = ['imap', 'lmtp', ...(env.PETREL_IMAPS_LISTEN && env.PETREL_IMAPS_LISTEN !== 'off' ? ['imaps'] : [])];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; service?: string; port?: number };
        if (entry.msg === 'listening' && entry.service && entry.port) {
          found[entry.service] = entry.port;
          if (expected.every((s) => s in found)) {
            clearTimeout(timer);
            resolvePromise(found);
          }
        }
      } catch {
        // not JSON: a crash trace; kept in the log
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${log.join('\n')}`));
    });
  });
  let stopped = false;
  const server: RunningServer = {
    dataDir,
    imapPort: ports.imap!,
    lmtpPort: ports.lmtp!,
    imapsPort: ports.imaps ?? null,
    metricsPort: ports.metrics ?? null,
    env,
    process: child,
    log,
    cli: (args, input) => runCli(env, args, input),
    async stop() {
      if (!stopped) {
        stopped = true;
        child.kill('SIGTERM');
        // A server that hangs must not keep the test run (and its database) alive forever.
        const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        void exited.finally(() => clearTimeout(killer));
      }
      return exited;
    },
    async kill() {
      stopped = true;
      child.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await server.stop();
      return startServer({ ...options, users: {}, dataDir });
    },
    async cleanup() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
