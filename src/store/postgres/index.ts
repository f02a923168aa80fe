// The cluster repository: mail metadata and the directory in one PostgreSQL
// database, reached through a connection pool (a multi-host URL with
// target_session_attrs=primary selects the primary). The schema is migrated
// at open for now (a `petrel db migrate` command comes later); a schema newer
// than this Petrel is refused.

import { connectPostgres, migrate, type Pg, type PgConnectOptions } from './pg.js';
import { PostgresDirectory } from './directory.js';
import { PostgresMailStore } from './mail-store.js';
import { MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS } from './schema.js';
import { RollbackGuard, type PromotionPolicy } from './rollback.js';

export { PostgresMailStore, postgresSearchDialect } from './mail-store.js';
export { PostgresDirectory } from './directory.js';
export { MAILSTORE_MIGRATIONS } from './schema.js';
export type { PgConnectOptions } from './pg.js';

export const POSTGRES_SCHEMA_VERSION = MAILSTORE_MIGRATIONS.length;

export interface PostgresRepositoryOptions extends PgConnectOptions {
  /** storage.postgres_promotion_uidvalidity (rollback.ts). Default "seen". */
  promotionUidvalidity?: PromotionPolicy;
  /** The message bodies live in this database (the PostgreSQL blob store): appends check theirs are there. */
  bodiesInDatabase?: boolean;
}

export interface PostgresRepository {
  /** The pool (read replicas measure their lag against it). */
  sql: Pg;
  store: PostgresMailStore;
  directory: PostgresDirectory;
  close(): Promise<void>;
}

export async function openPostgresRepository(
  url: string,
  options: PostgresRepositoryOptions = {},
): Promise<PostgresRepository> {
  // A connection closed (a fail-over, a restart, or only idle): the next operation checks the timeline first.
  let guard: RollbackGuard | null = null;
  const sql = connectPostgres(url, { ...options, onClose: () => guard?.suspect() });
  guard = new RollbackGuard(sql, { policy: options.promotionUidvalidity ?? 'seen' });
  try {
    await migrate(sql, MAILSTORE_COMPONENT, MAILSTORE_MIGRATIONS);
  } catch (err) {
    await sql.end({ timeout: 5 });
    throw err;
  }
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= sql.end({ timeout: 5 }));
  return { sql, store: new PostgresMailStore(sql, close, null, null, undefined, guard, options.bodiesInDatabase === true), directory: new PostgresDirectory(sql), close };
}
