// PostgreSQL plumbing shared by the cluster backends (store/postgres and
// blob/postgres): the connection pool, transactions with retry, the mapping of
// PostgreSQL and connection errors to MailError, and versioned migrations.

import { connect as netConnect, type Socket } from 'node:net';
import postgres from 'postgres';
import { MailError } from '../../mail/errors.js';

export type Pg = postgres.Sql;
export type PgTx = postgres.TransactionSql;
/** Either the pool or a transaction: what a query helper needs. */
export type PgQuery = postgres.ISql;

/**
 * Runs `text`, a constant statement with $1, $2, ... placeholders, as a
 * prepared statement. postgres.js builds a tagged template's text from its
 * parts and nested fragments (sql.unsafe(COLUMNS) included) again at every
 * execution; a constant text is sent as it is. For the statements with
 * fragments that every delivery or session runs: a plain tagged template,
 * without fragments, costs a little less than this.
 */
export function runPrepared<T extends postgres.MaybeRow[]>(q: PgQuery, text: string, params: readonly unknown[]): postgres.PendingQuery<T> {
  return q.unsafe<T>(text, params as never[], { prepare: true });
}

export interface PgConnectOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Seconds to wait for a connection to be established (default 10). With several hosts and none matching it would otherwise hang. */
  connectTimeoutSeconds?: number;
  /** Close connections idle this long, seconds (default 60). */
  idleTimeoutSeconds?: number;
  /** application_name seen in pg_stat_activity (default "petrel"). */
  applicationName?: string;
  /** TCP_NODELAY on the pool's connections (see noDelaySockets; default off). */
  noDelay?: boolean;
  /** Called when a connection of the pool closes (lost, or idle): see store/postgres/rollback.ts. */
  onClose?: () => void;
  /** Commits return before their WAL is flushed (synchronous_commit = off on the pool's sessions); see PostgresBlobStoreOptions.asyncCommit. */
  asyncCommit?: boolean;
}

/** int8 (BIGINT, count(*)) as a JS number: every value we store (UIDs, modseqs, sizes, ms) is far below 2^53. */
const int8AsNumber: postgres.PostgresType<number> = {
  to: 20,
  from: [20],
  serialize: (x: number) => String(x),
  parse: (x: string) => Number(x),
};

/** How long a pool's callers wait for the database before answering UNAVAILABLE. */
interface PgDeadlines {
  /** A transaction must have started (BEGIN answered) within this. */
  startMs: number;
  /** A single statement must have completed within this (reaching a primary + its statement_timeout). */
  statementMs: number;
}

const deadlines = new WeakMap<object, PgDeadlines>();
const DEFAULT_DEADLINES: PgDeadlines = { startMs: 10_000, statementMs: 70_000 };

/** statement_timeout in ms given as a URL parameter (see cluster/postgres-config.ts), else null. */
function statementTimeoutMs(url: string): number | null {
  const m = /[?&]statement_timeout=(\d+)/.exec(url);
  return m ? Number(m[1]) : null;
}

let driverGuardInstalled = false;

/**
 * postgres.js runs an internal query while connecting (the array types,
 * fetch_types) without handling its rejection: a connection reset at that
 * moment, as when the primary is lost, is an unhandled rejection, which ends
 * a Node process. Such a rejection only means that connection attempt failed
 * (the pool tries again, and the caller's own query fails on its own), so it
 * is ignored here. Every other unhandled rejection still ends the process.
 */
function guardDriverRejections(): void {
  if (driverGuardInstalled) return;
  driverGuardInstalled = true;
  process.on('unhandledRejection', (reason) => {
    const internal = typeof (reason as { query?: unknown } | null)?.query === 'string';
    if (internal && isConnectionError(reason)) {
      process.emitWarning(`PostgreSQL connection failed while connecting (${codeOf(reason)}); the pool retries`);
      return;
    }
    throw reason;
  });
}

/**
 * libpq's way to name a Unix socket in a URL: a `host` parameter that is a
 * directory, the port choosing the socket file `.s.PGSQL.<port>` in it
 * (5432 by default), the role a `user` parameter since such a URL has no
 * authority (`postgres:///petrel?host=/var/run/postgresql&user=petrel`).
 * postgres.js 3.4 reads hosts from the URL's authority only and would send
 * the parameters to the server as settings: they become its options and
 * leave the URL. Null for any other URL.
 */
export function unixSocketTarget(url: string): { url: string; options: { host: string; port?: number; user?: string } } | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  const params = new URLSearchParams(url.slice(q + 1));
  const host = params.get('host');
  if (!host?.startsWith('/')) return null;
  const port = params.get('port');
  const user = params.get('user');
  for (const name of ['host', 'port', 'user']) params.delete(name);
  const rest = params.toString();
  return {
    url: url.slice(0, q) + (rest ? `?${rest}` : ''),
    options: { host, ...(port ? { port: Number(port) } : {}), ...(user ? { user } : {}) },
  };
}

export function connectPostgres(url: string, options: PgConnectOptions = {}): Pg {
  guardDriverRejections();
  const connectSeconds = options.connectTimeoutSeconds ?? 10;
  const socket = unixSocketTarget(url);
  const sql = postgres(socket?.url ?? url, {
    ...socket?.options,
    max: options.max ?? 10,
    connect_timeout: connectSeconds,
    idle_timeout: options.idleTimeoutSeconds ?? 60,
    // Reconnect soon after a fail-over: postgres.js's default backoff grows to 20 s.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    onnotice: () => {},
    types: { int8: int8AsNumber },
    connection: { application_name: options.applicationName ?? 'petrel', ...(options.asyncCommit ? { synchronous_commit: 'off' } : {}) },
    ...(options.onClose ? { onclose: options.onClose } : {}),
    ...(options.noDelay ? { socket: noDelaySockets() } : {}),
  }) as unknown as Pg;
  // With several hosts and none primary (between a primary's loss and a
  // promotion), postgres.js tries the hosts in a loop and never fails a
  // query: these bound how long a caller waits.
  const startMs = connectSeconds * 1000;
  deadlines.set(sql, { startMs, statementMs: startMs + (statementTimeoutMs(url) ?? 60_000) });
  return sql;
}

/**
 * postgres.js's `socket` option (a factory it calls for every connection
 * attempt): TCP connections with Nagle's algorithm off, which postgres.js
 * 3.4.9 has no option for. With it on, a client message that follows an
 * unacknowledged small segment waits for the server's delayed ACK (40 ms on
 * Linux): the CopyDone after a COPY's data always does (libpq sets
 * TCP_NODELAY). postgres.js leaves the connecting to a given factory, so
 * this one connects: to the hosts in turn (per pool; postgres.js turns per
 * connection), target_session_attrs still making postgres.js try the next
 * one, or to the Unix socket.
 */
function noDelaySockets(): (options: { host: string[]; port: number[]; path: string | false }) => Socket {
  let next = 0;
  return ({ host, port, path }) => {
    if (path) return netConnect({ path });
    const i = next++ % host.length;
    // host and port: what postgres.js's connection errors name.
    return Object.assign(netConnect({ host: host[i], port: port[i]!, noDelay: true }), { host: host[i], port: port[i] });
  };
}

/** Node and postgres.js codes meaning "the database cannot be reached right now". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/** Unique constraints whose violation means "the name is taken". */
const NAME_TAKEN: Record<string, string> = {
  mailboxes_name_key: 'mailbox already exists',
  accounts_name_key: 'account already exists',
  repositories_pkey: 'repository already exists',
};

export function codeOf(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? '');
}

/** Failures after which running the whole transaction again is safe and may succeed. */
export function isRetryable(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40001' || code === '40P01'; // serialization failure, deadlock detected
}

/**
 * The connection broke, could not be made, or reached a node that cannot
 * take writes: the primary was lost, is restarting, or is being replaced.
 * Whether the work reached the database is for the caller to judge.
 */
export function isConnectionError(err: unknown): boolean {
  const code = codeOf(err);
  return (
    closesConnection(err) ||
    code === '53300' || // too many connections
    code === '25006' // read-only transaction: a standby (a write there did nothing)
  );
}

export function mapPgError(err: unknown): unknown {
  if (err instanceof MailError) return err;
  const code = codeOf(err);
  const constraint = (err as { constraint_name?: string }).constraint_name ?? '';
  if (code === '23505' && NAME_TAKEN[constraint]) return new MailError('ALREADY_EXISTS', NAME_TAKEN[constraint]!, { cause: err });
  if (code === '23514' && constraint === 'mailboxes_uid_limit')
    return new MailError('LIMIT', 'the mailbox has used up its UIDs', { cause: err });
  if (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('53') || code.startsWith('57P'))
    return new MailError('UNAVAILABLE', `database unavailable (${code})`, { cause: err });
  if (code === '25006') return new MailError('UNAVAILABLE', 'database is read-only (connected to a standby?)', { cause: err });
  if (isRetryable(err)) return new MailError('UNAVAILABLE', `database conflict persisted after retries (${code})`, { cause: err });
  if (code === 'XX001' || code === 'XX002') return new MailError('CORRUPT', `database is corrupt (${code})`, { cause: err });
  return err;
}

/** How long the pool's callers wait for a transaction to begin on a primary (its connect timeout), ms. */
export function startDeadlineMs(sql: Pg): number {
  return (deadlines.get(sql) ?? DEFAULT_DEADLINES).startMs;
}

/**
 * Awaits `query`, a statement that must reach the database within the
 * pool's start deadline, as a transaction's BEGIN must. Not handed to a
 * connection by then (every connection busy, or no primary), it is taken
 * out of the pool's queue (postgres.js 3.4's cancel() of a query it has not
 * sent: nothing reaches the server) and the caller gets UNAVAILABLE, true
 * for good: no late commit can prove it wrong. Once sent, its answer is
 * awaited, statement_timeout bounding it.
 */
export function sendWithin<T extends readonly postgres.MaybeRow[]>(sql: Pg, query: postgres.PendingQuery<T>): Promise<T> {
  const expire = (): boolean => {
    // postgres.js sets `state` when a connection takes the query, just before writing it.
    if ((query as unknown as { state?: unknown }).state) return false;
    void query.cancel();
    return true;
  };
  return withDeadline(query, startDeadlineMs(sql), 'statement start', undefined, expire);
}

/** A deadline passed before the database answered: the work never started, and never will (see runTransaction). */
function unavailableAfter(ms: number, what: string, who = 'PostgreSQL primary'): MailError {
  return new MailError('UNAVAILABLE', `no ${who} answered within ${ms / 1000} s (${what})`);
}

/**
 * Rejects with UNAVAILABLE after `ms`; `promise` is left to settle on its
 * own (its rejection handled). `expire`, asked when the time is up, may say
 * to keep waiting instead (false).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string, who?: string, expire = () => true): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (expire()) reject(unavailableAfter(ms, what, who));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

export interface PgGuardOptions {
  /** The pool the statements run on: its connect and statement timeouts bound the wait. */
  sql?: Pg;
  /**
   * The statements only read (or are harmless to repeat): after a lost
   * connection they run once more, on whatever primary the pool reaches now.
   * Otherwise only a failure to connect at all (nothing was sent) is retried.
   */
  idempotent?: boolean;
}

/** Errors raised while connecting, before anything was sent: the statement did not run. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'CONNECT_TIMEOUT', '57P03', '53300']);

/**
 * Runs a statement (or several) outside a transaction, mapping errors. A
 * connection lost is retried once as PgGuardOptions.idempotent says; with
 * several hosts and no primary, the wait is bounded (UNAVAILABLE).
 */
export async function pgGuard<T>(fn: () => Promise<T>, options: PgGuardOptions = {}): Promise<T> {
  const limit = (options.sql && deadlines.get(options.sql)?.statementMs) ?? DEFAULT_DEADLINES.statementMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await withDeadline(fn(), limit, 'statement');
    } catch (err) {
      const again = options.idempotent ? isConnectionError(err) : NOT_SENT.has(codeOf(err));
      if (attempt === 1 && again) {
        await new Promise((resolve) => setTimeout(resolve, 50)); // as in pgTransaction
        continue;
      }
      throw mapPgError(err);
    }
  }
}

/**
 * One statement that may run twice (a read, or a write whose repetition
 * changes nothing) on `sql`, outside a transaction: retried once after a
 * lost connection (fail-over).
 */
export function pgIdempotent<T>(sql: Pg, fn: (sql: Pg) => Promise<T>): Promise<T> {
  return pgGuard(() => fn(sql), { sql, idempotent: true });
}

const MAX_ATTEMPTS = 5;

/** How far one attempt of a transaction got: decides whether it may run again after a lost connection. */
interface Progress {
  /** BEGIN was answered and `fn` called. */
  started: boolean;
  /** `fn` returned: COMMIT is being (or was) sent, so the outcome of a lost connection is unknown. */
  committing: boolean;
}

/** Thrown into a transaction that began after its caller had given up waiting (it rolls back). */
class AbandonedTransaction extends Error {}

/**
 * One attempt. If BEGIN is not answered within the pool's connect timeout
 * (several hosts, none primary yet), the caller gets UNAVAILABLE and the
 * transaction is marked abandoned: should the pool reach a primary later,
 * `fn` is never run and the transaction rolls back, so a caller that was
 * told "failed" can never be proven wrong by a late commit.
 */
function runTransaction<T>(sql: Pg, fn: (tx: PgTx) => Promise<T>, mode: string, progress: Progress): Promise<T> {
  const startMs = deadlines.get(sql)?.startMs ?? DEFAULT_DEADLINES.startMs;
  let abandoned = false;
  let lost: unknown = null;
  let settle: ((err: unknown) => void) | null = null;
  const running = sql.begin(mode, async (tx) => {
    if (abandoned) throw new AbandonedTransaction('caller gave up waiting');
    progress.started = true;
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      if (!closesConnection(err)) throw err;
      // The connection is gone. Rejecting here would make postgres.js send
      // ROLLBACK on it, and a write on a closed connection throws inside a
      // setImmediate: an uncaught TypeError that ends the process
      // (porsager/postgres#1154, #1208; 3.4.9 has no fix). So this callback
      // never settles: begin() itself rejects when the pool sees the close.
      lost = err;
      settle?.(err);
      return new Promise<never>(() => {});
    }
    progress.committing = true;
    return result;
  }) as Promise<T>;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      if (progress.started) return; // running: statement_timeout bounds it from here
      abandoned = true;
      reject(unavailableAfter(startMs, 'transaction start'));
    }, startMs);
    // Should begin() not reject after a lost connection, answer anyway.
    settle = (err) => setTimeout(() => reject(err), 5000).unref();
    if (lost) settle(lost);
    running.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Errors after which the server or the client has closed the connection:
 * connection exceptions (08), admin shutdown (57P01, pg_ctl stop -m fast),
 * crash shutdown (57P02), cannot connect now (57P03: starting or stopping).
 */
export function closesConnection(err: unknown): boolean {
  const code = codeOf(err);
  return CONNECTION_CODES.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/**
 * Runs `fn` in a transaction (READ COMMITTED unless `mode` says otherwise,
 * e.g. "isolation level repeatable read read only"). Serialization failures
 * and deadlocks run it again from the start, a few times, with a short
 * random backoff; `fn` must therefore have no effects outside the database.
 *
 * Losing the connection (the primary crashed or is being replaced): if COMMIT
 * was not yet sent, nothing committed, and the transaction runs once more on
 * whatever primary the pool reaches now (with several hosts, the promoted
 * standby). If COMMIT was sent, the outcome is unknown: never retried (it may
 * have committed), answered UNAVAILABLE, unless `options.verifiable`: then
 * `fn` itself finds out, when it runs again, whether its first run committed
 * (see PostgresMailStore.appendMessages), and it is run once more. Read-only
 * transactions are always safe to run again.
 */
export async function pgTransaction<T>(sql: Pg, fn: (tx: PgTx) => Promise<T>, mode = '', options: { verifiable?: boolean } = {}): Promise<T> {
  const readOnly = /\bread only\b/i.test(mode);
  let reconnected = false;
  for (let attempt = 1; ; attempt++) {
    const progress: Progress = { started: false, committing: false };
    try {
      return await runTransaction(sql, fn, mode, progress);
    } catch (err) {
      if (attempt < MAX_ATTEMPTS && isRetryable(err)) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        continue;
      }
      if (isConnectionError(err)) {
        if (!reconnected && (!progress.committing || readOnly || options.verifiable)) {
          reconnected = true;
          // The pool's other connections to the lost server die at the same
          // moment; let their close events be seen before picking one again.
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        if (progress.committing && !readOnly)
          throw new MailError('UNAVAILABLE', `database connection lost during COMMIT (${codeOf(err)}): outcome unknown`, {
            cause: err,
          });
      }
      throw mapPgError(err);
    }
  }
}

/** A consistent read of several statements (one snapshot; never blocks writers). */
export function pgRead<T>(sql: Pg, fn: (tx: PgTx) => Promise<T>): Promise<T> {
  return pgTransaction(sql, fn, 'isolation level repeatable read read only');
}

export interface Migration {
  description: string;
  /** One or more statements, run in the migration's transaction ('' for none). */
  sql: string;
  /** A step SQL cannot do (e.g. our text folding), run after `sql` in the same transaction; statements kept short. */
  run?: (tx: PgTx) => Promise<void>;
}

/**
 * Brings `component`'s tables to the last of `migrations` (step n is version
 * n + 1), recorded in schema_migrations. Several servers may start at once:
 * an advisory lock makes one migrate while the others wait. A database whose
 * version is higher than we know was written by a newer Petrel: refused.
 */
export async function migrate(sql: Pg, component: string, migrations: readonly Migration[]): Promise<number> {
  const target = migrations.length;
  return pgTransaction(sql, async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('petrel schema_migrations'))`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component TEXT NOT NULL,
      version INTEGER NOT NULL,
      description TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version)
    )`);
    const [row] = await tx<Array<{ v: number | null }>>`
      SELECT max(version) AS v FROM schema_migrations WHERE component = ${component}`;
    const current = row?.v ?? 0;
    if (current > target)
      throw new MailError(
        'CORRUPT',
        `database schema of ${component} is at version ${current}, newer than this Petrel supports (${target}); upgrade Petrel`,
      );
    for (let v = current; v < target; v++) {
      if (migrations[v]!.sql.trim() !== '') await tx.unsafe(migrations[v]!.sql);
      await migrations[v]!.run?.(tx);
      await tx`INSERT INTO schema_migrations (component, version, description)
        VALUES (${component}, ${v + 1}, ${migrations[v]!.description})`;
    }
    return target;
  });
}
