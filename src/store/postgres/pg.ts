// PostgreSQL plumbing shared by the cluster backends (store/postgres and
// blob/postgres): the connection pool, transactions with retry, the mapping of
// PostgreSQL and connection errors to MailError, and versioned migrations.

import postgres from 'postgres';
import { MailError } from '../../mail/errors.js';

export type Pg = postgres.Sql;
export type PgTx = postgres.TransactionSql;
/** Either the pool or a transaction: what a query helper needs. */
export type PgQuery = postgres.ISql;

export interface PgConnectOptions {
  /** Pool size (default 10). */
  max?: number;
  /** Seconds to wait for a connection to be established (default 10). With several hosts and none matching it would otherwise hang. */
  connectTimeoutSeconds?: number;
  /** Close connections idle this long, seconds (default 60). */
  idleTimeoutSeconds?: number;
  /** application_name seen in pg_stat_activity (default "petrel"). */
  applicationName?: string;
}

/** int8 (BIGINT, count(*)) as a JS number: every value we store (UIDs, modseqs, sizes, ms) is far below 2^53. */
const int8AsNumber: postgres.PostgresType<number> = {
  to: 20,
  from: [20],
  serialize: (x: number) => String(x),
  parse: (x: string) => Number(x),
};

export function connectPostgres(url: string, options: PgConnectOptions = {}): Pg {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 60,
    onnotice: () => {},
    types: { int8: int8AsNumber },
    connection: { application_name: options.applicationName ?? 'petrel' },
  }) as unknown as Pg;
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
};

function codeOf(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? '');
}

/** Failures after which running the whole transaction again is safe and may succeed. */
export function isRetryable(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40001' || code === '40P01'; // serialization failure, deadlock detected
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

/** Runs a statement (or several) outside a transaction, mapping errors. */
export async function pgGuard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapPgError(err);
  }
}

const MAX_ATTEMPTS = 5;

/**
 * Runs `fn` in a transaction (READ COMMITTED unless `mode` says otherwise,
 * e.g. "isolation level repeatable read read only"). Serialization failures
 * and deadlocks run it again from the start, a few times, with a short
 * random backoff; `fn` must therefore have no effects outside the database.
 */
export async function pgTransaction<T>(sql: Pg, fn: (tx: PgTx) => Promise<T>, mode = ''): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await sql.begin(mode, fn)) as T;
    } catch (err) {
      if (attempt < MAX_ATTEMPTS && isRetryable(err)) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
        continue;
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
  /** One or more statements, run in the migration's transaction. */
  sql: string;
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
      await tx.unsafe(migrations[v]!.sql);
      await tx`INSERT INTO schema_migrations (component, version, description)
        VALUES (${component}, ${v + 1}, ${migrations[v]!.description})`;
    }
    return target;
  });
}
