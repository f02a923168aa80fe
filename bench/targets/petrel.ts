// Petrel as a bench target, driven only through its CLI and its sockets
// (nothing from src/ is imported): users are created with `user add`, then
// `serve` runs as a child process with a temp data dir and loopback ports. It is
// ready when it logs {"msg":"listening","service":"imap",...} on stderr (JSON lines).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { childrenOf, processTree } from '../../test/support/proc.js';
import { BENCH_DOMAIN, BENCH_PASSWORD, type BenchUser, type ConnectionNeeds, type Endpoint, type Target } from '../lib/endpoint.js';
import { readShareSampler, scrapeSearchIndexLag } from '../lib/petrel-metrics.js';
import { runCommand, stopChild, waitForPort, withOpenFiles } from '../lib/process.js';
import { freePort, runLimited } from '../lib/stats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface PetrelOptions {
  /** 'src': node --import tsx src/cli/run.ts; 'dist': npm run build, then node bin/petrel.cjs. */
  run?: 'src' | 'dist';
  /** Extra environment for `serve` and `user add` (e.g. raised connection limits). */
  env?: Record<string, string>;
  /** Where to copy the server's stderr log on stop; null = discard. */
  keepLogIn?: string | null;
  /** File name of that log (default petrel.log; two petrel targets of one run need two names). */
  logName?: string;
  startTimeoutMs?: number;
  /** Data directory kept and reused across runs (never removed; existing users are kept), instead of a temp dir. */
  dataDir?: string | null;
  /** Connection limits to allow (idle-fanout); --petrel-env still wins. */
  connections?: ConnectionNeeds | null;
  /** false: skip `npm run build` with run 'dist' (already built, e.g. by the cluster target's first server). */
  build?: boolean;
  /** CLI commands run before the users are added, e.g. [['db', 'migrate']] (cluster mode). */
  setupCommands?: string[][];
  /** Another CLI entry (src/cli/run.ts or bin/petrel.cjs), as PETREL_BENCH_CLI, which it overrides. */
  cli?: string | null;
}

/** Users are created in one `user add-many` process above this many (one hash, one process). */
const BATCH_USERS_OVER = 10;
/** How long start() waits for `serve` to have forked its workers (a build that ignores server.workers never does). */
const WORKERS_WAIT_MS = 20_000;

export class PetrelTarget implements Target {
  readonly name = 'petrel';
  private dir: string | null = null;
  private child: ChildProcess | null = null;
  private log: string[] = [];
  /** Port of GET /metrics, when `serve` logged one (metrics.listen set, e.g. PETREL_METRICS_LISTEN=127.0.0.1:0). */
  private metricsPort: number | null = null;
  /** Worker processes `serve` had forked once it was ready (0: it serves by itself). */
  private workersSeen = 0;

  constructor(private readonly opts: PetrelOptions = {}) {}

  /** The server's Prometheus endpoint, or null when it has none. */
  metricsUrl(): string | null {
    return this.metricsPort === null ? null : `http://127.0.0.1:${this.metricsPort}/metrics`;
  }

  private command(): { cmd: string; args: string[] } {
    // PETREL_BENCH_CLI: another CLI entry (src/cli/run.ts or bin/petrel.cjs), e.g. another checkout.
    const override = this.opts.cli ?? process.env.PETREL_BENCH_CLI;
    // A .ts entry runs with tsx, a built one (bin/petrel.cjs) as it is.
    if (override) {
      const entry = path.resolve(override);
      return { cmd: process.execPath, args: entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry] };
    }
    if (this.opts.run === 'dist') return { cmd: process.execPath, args: [path.join(REPO, 'bin', 'petrel.cjs')] };
    return { cmd: process.execPath, args: ['--import', 'tsx', path.join(REPO, 'src', 'cli', 'run.ts')] };
  }

  async start(userIds: string[]): Promise<Endpoint> {
    // Another CLI entry (petrel@PATH, PETREL_BENCH_CLI) is built already: this checkout's build is not used.
    const otherCli = Boolean(this.opts.cli ?? process.env.PETREL_BENCH_CLI);
    if (this.opts.run === 'dist' && this.opts.build !== false && !otherCli) {
      const build = await runCommand('npm', ['run', 'build'], { cwd: REPO });
      if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout.slice(-3000)}${build.stderr.slice(-2000)}`);
    } else if (!otherCli && !existsSync(path.join(REPO, 'src', 'cli', 'run.ts'))) {
      throw new Error('src/cli/run.ts does not exist yet (Petrel CLI not written)');
    }
    const reused = this.opts.dataDir ? path.resolve(this.opts.dataDir) : null;
    if (reused) await mkdir(reused, { recursive: true });
    const dir = reused ?? (await mkdtemp(path.join(os.tmpdir(), 'petrel-bench-petrel-')));
    this.dir = reused ? null : dir;
    const imapPort = await freePort();
    const lmtpPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PETREL_DATA_DIR: dir,
      PETREL_IMAP_LISTEN: `127.0.0.1:${imapPort}`,
      PETREL_LMTP_LISTEN: `127.0.0.1:${lmtpPort}`,
      PETREL_ALLOW_PLAINTEXT_AUTH: 'true',
      // Same allowance as the Dovecot target (mail_max_userip_connections = 1000):
      // all bench clients come from 127.0.0.1 (default limit 100).
      PETREL_LIMITS_MAX_CONNECTIONS_PER_IP: '1000',
      // GET /metrics on a free port (logged when listening): read replicas' shares, the SEARCH index's lag.
      PETREL_METRICS_LISTEN: '127.0.0.1:0',
      ...connectionEnv(this.opts.connections),
      ...this.opts.env,
    };
    const { cmd, args } = this.command();

    for (const c of this.opts.setupCommands ?? []) {
      const r = await runCommand(cmd, [...args, ...c], { env, cwd: REPO, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`petrel ${c.join(' ')} failed (${r.code}):\n${r.stderr.slice(-2000)}`);
    }
    const users = new Map<string, BenchUser>();
    for (const id of userIds) {
      const login = `${id}@${BENCH_DOMAIN}`;
      users.set(id, { login, password: BENCH_PASSWORD, address: login });
    }
    const batched = userIds.length > BATCH_USERS_OVER && (await this.addUsersInBatch(cmd, args, env, [...users.values()]));
    // Else one CLI process per user; two at a time (the machine has 2 cores).
    if (!batched) await runLimited(userIds.length, 2, async (i) => {
      const login = users.get(userIds[i]!)!.login;
      const r = await runCommand(cmd, [...args, 'user', 'add', login, '--password', BENCH_PASSWORD], {
        env,
        cwd: REPO,
        timeoutMs: 60_000,
      });
      if (r.code !== 0 && !(reused && r.stderr.includes('already exists')))
        throw new Error(`petrel user add ${login} failed (${r.code}):\n${r.stderr.slice(-2000)}`);
    });

    // Many connections need as many file descriptors: raise the soft limit as far as allowed.
    const serve = this.opts.connections ? withOpenFiles(this.opts.connections.total + 1000, cmd, [...args, 'serve']) : { cmd, args: [...args, 'serve'] };
    const child = spawn(serve.cmd, serve.args, { env, cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let imapReady: HostPortSeen | null = null;
    const ready = new Promise<void>((resolve, reject) => {
      let partial = '';
      child.stderr!.on('data', (d: Buffer) => {
        partial += d.toString('utf8');
        let nl = partial.indexOf('\n');
        while (nl >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          this.keepLine(line);
          const seen = listeningLine(line);
          if (seen?.service === 'metrics' && seen.port > 0) this.metricsPort = seen.port;
          if (seen?.service === 'imap') {
            imapReady = seen;
            resolve();
          }
          nl = partial.indexOf('\n');
        }
      });
      child.once('exit', (code) => reject(new Error(`petrel serve exited with code ${code}`)));
      child.once('error', reject);
    });
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no "listening" log line within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([ready, timeout]);
      // LMTP may log its own listening line or not; its port accepting is enough.
      await waitForPort('127.0.0.1', lmtpPort, 20_000, child);
    } catch (e) {
      await this.stop();
      throw new Error(`petrel did not start: ${(e as Error).message}\n${this.log.slice(-30).join('\n')}`);
    } finally {
      clearTimeout(timer);
    }
    const seen = imapReady as HostPortSeen | null;
    // server.workers = N > 1 (PETREL_SERVER_WORKERS, from --petrel-workers or a petrel-wN target):
    // `serve` forks N workers that share the ports and hold the connections.
    const requested = Number(env.PETREL_SERVER_WORKERS ?? 1);
    if (requested > 1 && child.pid !== undefined) this.workersSeen = await waitForWorkers(child.pid, requested, WORKERS_WAIT_MS);
    // The whole server: `serve` and the workers it forked (none with server.workers = 1).
    const tree = () => (child.pid !== undefined && child.exitCode === null ? processTree(child.pid) : []);
    return {
      name: this.name,
      imap: { host: '127.0.0.1', port: seen && seen.port > 0 ? seen.port : imapPort },
      lmtp: { host: '127.0.0.1', port: lmtpPort },
      users,
      importMaildir: async (userId, maildir) => {
        const login = users.get(userId)?.login;
        if (!login) throw new Error(`unknown bench user ${userId}`);
        // The real operator command, run while the server runs (as an operator would).
        const r = await runCommand(cmd, [...args, 'import', 'maildir', maildir, '--user', login], { env, cwd: REPO, timeoutMs: 4 * 3600_000 });
        if (r.code !== 0) throw new Error(`petrel import maildir failed (${r.code}):\n${r.stderr.slice(-2000)}`);
      },
      serverPids: async () => tree(),
      pid: child.pid,
      cpuTrees: async () => ({ petrel: child.pid !== undefined && child.exitCode === null ? [child.pid] : [] }),
      // The workers hold the connections when there are any; else `serve` itself.
      connectionHolders: async () => {
        if (child.pid === undefined || child.exitCode !== null) return [];
        const workers = workerPids(child.pid);
        return workers.length ? workers : [child.pid];
      },
      // Figures only when metrics are on and the repository has read replicas.
      sampleServer: readShareSampler(() => [this.metricsUrl()].flatMap((u) => (u ? [u] : []))),
      searchIndexLag: async () => {
        const url = this.metricsUrl();
        return url ? scrapeSearchIndexLag(url) : null;
      },
    };
  }

  /** `user add-many` (names on stdin, one password hash); false when this CLI has no such command. */
  private async addUsersInBatch(cmd: string, args: string[], env: NodeJS.ProcessEnv, users: BenchUser[]): Promise<boolean> {
    const r = await runCommand(cmd, [...args, 'user', 'add-many', '--password', BENCH_PASSWORD], {
      env,
      cwd: REPO,
      timeoutMs: 600_000,
      input: users.map((u) => u.login).join('\n') + '\n',
    });
    if (r.code === 0) return true;
    if (/unknown user command/.test(r.stderr)) return false;
    throw new Error(`petrel user add-many failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  }

  private keepLine(line: string): void {
    this.log.push(line);
    if (this.log.length > 2000) this.log.splice(0, 1000);
  }

  describe(): Record<string, string> {
    return {
      run: this.opts.run ?? 'src',
      workers: `${this.opts.env?.PETREL_SERVER_WORKERS ?? 1} requested, ${this.workersSeen} worker processes seen`,
      env: Object.entries(this.opts.env ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    };
  }

  async stop(): Promise<void> {
    if (this.child) {
      await stopChild(this.child).catch(() => undefined);
      this.child = null;
    }
    this.metricsPort = null;
    if (this.opts.keepLogIn && this.log.length) {
      await writeFile(path.join(this.opts.keepLogIn, this.opts.logName ?? 'petrel.log'), this.log.join('\n') + '\n').catch(() => undefined);
    }
    if (this.dir) {
      await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
      this.dir = null;
    }
  }
}

/**
 * Polls the process tree of `serve` until it holds `workers` processes besides
 * itself or `timeoutMs` passed (polling: the server says nothing when its
 * workers are up); the number of workers seen. Fewer than asked means a build
 * that ignores server.workers, or workers that keep dying: the figures then
 * describe that server, and describe() records it.
 */
async function waitForWorkers(pid: number, workers: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = workerPids(pid).length;
  while (seen < workers && Date.now() < deadline) {
    await delay(100);
    seen = workerPids(pid).length;
  }
  return seen;
}

/**
 * The worker processes of `serve` (pid): its children that run the same
 * executable (Node's cluster forks node). Others are helpers, e.g. the esbuild
 * service tsx starts when Petrel runs from src/.
 */
function workerPids(pid: number): number[] {
  const exe = (p: number): string | null => {
    try {
      return readlinkSync(`/proc/${p}/exe`);
    } catch {
      return null;
    }
  };
  const own = exe(pid);
  return own === null ? [] : childrenOf(pid).filter((c) => exe(c) === own);
}

/** Petrel's connection limits raised to what a scenario needs (the defaults: 10,000 total, 50 per user, 100 per IP). */
function connectionEnv(needs: ConnectionNeeds | null | undefined): Record<string, string> {
  if (!needs) return {};
  return {
    PETREL_LIMITS_MAX_CONNECTIONS: String(Math.max(10_000, needs.total + 100)),
    PETREL_LIMITS_MAX_CONNECTIONS_PER_USER: String(Math.max(50, needs.perUser + 10)),
    PETREL_LIMITS_MAX_CONNECTIONS_PER_IP: String(Math.max(1000, needs.perIp + 10)),
  };
}

interface HostPortSeen {
  service: string;
  host: string;
  port: number;
}

/** {"msg":"listening","service":"imap","host":...,"port":...} -> its fields; anything else -> null. */
function listeningLine(line: string): HostPortSeen | null {
  if (!line.includes('listening')) return null;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o.msg !== 'listening' || typeof o.service !== 'string') return null;
    return { service: o.service, host: String(o.host ?? ''), port: Number(o.port ?? 0) };
  } catch {
    return null;
  }
}
