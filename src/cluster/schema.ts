// The schema versions of a PostgreSQL repository: the metadata tables
// (store/postgres) and the blob tables (blob/postgres) are migrated
// separately, each recorded in schema_migrations. `petrel db migrate` applies
// what is missing; `petrel serve` refuses an older schema unless
// storage.auto_migrate is set, so an upgrade is an explicit operator step.

import { MailError } from '../mail/errors.js';
import { BLOBSTORE_COMPONENT, BLOBSTORE_MIGRATIONS } from '../blob/postgres/pg-blob-store.js';
import { connectPostgres, mapPgError, migrate, type Migration, type Pg, type PgConnectOptions } from '../store/postgres/pg.js';
import { MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS } from '../store/postgres/schema.js';

export interface SchemaComponent {
  component: string;
  migrations: readonly Migration[];
}

export interface SchemaStatus {
  component: string;
  /** Version recorded in the database (0: none yet). */
  current: number;
  /** Version this Petrel's code expects. */
  expected: number;
}

/** The components a repository needs: metadata always, blobs when they live in PostgreSQL. */
export function repositoryComponents(postgresBlobs: boolean): SchemaComponent[] {
  const list: SchemaComponent[] = [{ component: MAILSTORE_COMPONENT, migrations: MAILSTORE_MIGRATIONS }];
  if (postgresBlobs) list.push({ component: BLOBSTORE_COMPONENT, migrations: BLOBSTORE_MIGRATIONS });
  return list;
}

/**
 * Runs `fn` on one connection. The first query is bounded in time: with
 * several hosts and none of them the primary, postgres.js would wait forever,
 * and a server should rather fail at start with a clear line.
 */
async function withConnection<T>(url: string, options: PgConnectOptions, fn: (sql: Pg) => Promise<T>): Promise<T> {
  const sql = connectPostgres(url, { ...options, max: 1 });
  const seconds = (options.connectTimeoutSeconds ?? 10) + 5;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MailError('UNAVAILABLE', `no PostgreSQL primary answered within ${seconds} s`)), seconds * 1000);
  });
  try {
    await Promise.race([sql`SELECT 1`, timeout]);
    clearTimeout(timer);
    return await fn(sql);
  } finally {
    clearTimeout(timer);
    await sql.end({ timeout: 5 });
  }
}

async function readVersions(sql: Pg): Promise<Map<string, number>> {
  try {
    const rows = await sql<Array<{ component: string; v: number }>>`
      SELECT component, max(version)::int AS v FROM schema_migrations GROUP BY component`;
    return new Map(rows.map((r) => [r.component, r.v]));
  } catch (err) {
    // 42P01 undefined_table: a database nobody migrated yet.
    if ((err as { code?: string }).code === '42P01') return new Map();
    throw mapPgError(err);
  }
}

export function schemaStatus(url: string, options: PgConnectOptions, components: SchemaComponent[]): Promise<SchemaStatus[]> {
  return withConnection(url, options, async (sql) => {
    const found = await readVersions(sql);
    return components.map((c) => ({ component: c.component, current: found.get(c.component) ?? 0, expected: c.migrations.length }));
  });
}

/**
 * Applies missing migrations (serialised across servers by an advisory
 * lock); returns each component's version before and after.
 */
export function migrateRepository(
  url: string,
  options: PgConnectOptions,
  components: SchemaComponent[],
): Promise<Array<SchemaStatus & { before: number }>> {
  return withConnection(url, options, async (sql) => {
    const found = await readVersions(sql);
    const out: Array<SchemaStatus & { before: number }> = [];
    for (const c of components) {
      const version = await migrate(sql, c.component, c.migrations);
      out.push({ component: c.component, before: found.get(c.component) ?? 0, current: version, expected: c.migrations.length });
    }
    return out;
  });
}

/** One line for the operator when the database is behind the code, or null when it is current. */
export function outdatedSchemaMessage(status: SchemaStatus[]): string | null {
  const behind = status.filter((s) => s.current < s.expected);
  if (behind.length === 0) return null;
  const what = behind.map((s) => `${s.component} at version ${s.current}, this Petrel needs ${s.expected}`).join('; ');
  return `the PostgreSQL schema is older than this Petrel (${what}): run \`petrel db migrate\` (or set storage.auto_migrate = true)`;
}
