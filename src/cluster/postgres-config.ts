// How the cluster reaches its PostgreSQL repository, derived from the one
// config: the effective URL (statement_timeout as a startup parameter, which
// postgres.js passes on for any unknown query parameter) and the pool options.

import type { PetrelConfig } from '../config/types.js';
import type { PgConnectOptions } from '../store/postgres/pg.js';

export interface PostgresTarget {
  url: string;
  /** Options of the metadata pool. */
  store: PgConnectOptions;
  /** Options of the PostgreSQL blob store's pool. */
  blobs: PgConnectOptions;
  /** Options of the event bus (one NOTIFY connection; LISTEN has its own). */
  events: PgConnectOptions;
}

export function postgresTarget(config: PetrelConfig, applicationName = 'petrel'): PostgresTarget {
  if (config.storage.postgresUrl === null) throw new Error('storage.postgres_url is not set');
  return postgresTargetFor(config, config.storage.postgresUrl, applicationName);
}

/** The same, for another repository's URL (from the directory's registry), with this config's pool settings. */
export function postgresTargetFor(config: PetrelConfig, repositoryUrl: string, applicationName = 'petrel'): PostgresTarget {
  const s = config.storage;
  let url = repositoryUrl;
  if (s.postgresStatementTimeoutSeconds > 0 && !/[?&]statement_timeout=/.test(url)) {
    url += (url.includes('?') ? '&' : '?') + `statement_timeout=${s.postgresStatementTimeoutSeconds * 1000}`;
  }
  const base: PgConnectOptions = { connectTimeoutSeconds: s.postgresConnectTimeoutSeconds, applicationName };
  return {
    url,
    store: { ...base, max: s.postgresPoolSize },
    blobs: { ...base, max: Math.max(2, Math.floor(s.postgresPoolSize / 2)) },
    events: { ...base, max: 1 },
  };
}
