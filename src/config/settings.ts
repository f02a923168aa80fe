// Every scalar setting, declared once: its name in the TOML file (dotted,
// snake_case), its environment variable, how to parse it and where it goes in
// PetrelConfig. load.ts walks this table; the sample petrel.example.toml and
// the docs follow it.
//
// Environment scheme: PETREL_ + the dotted name in upper case with "." -> "_"
// (PETREL_LIMITS_MAX_LINE_LENGTH, PETREL_STORAGE_FSYNC, PETREL_LMTP_LISTEN ...).
// A few settings have a shorter, conventional name, which is the one read:
// PETREL_IMAPS_LISTEN, PETREL_TLS_CERT, PETREL_TLS_KEY,
// PETREL_ALLOW_PLAINTEXT_AUTH. An empty variable counts as unset.

import type { PetrelConfig } from './types.js';
import {
  boolean,
  integer,
  listenAddress,
  nonEmptyString,
  oneOf,
  optionalPath,
  optionalText,
  optionalUri,
  postgresUrl,
  postgresUrlList,
  shortString,
  type ValueParser,
} from './values.js';

export interface Setting {
  /** Dotted snake_case name as written in the TOML file. */
  key: string;
  env: string;
  parse: ValueParser<unknown>;
  set(config: PetrelConfig, value: unknown): void;
}

const DAY = 86400;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function setting<T>(key: string, parse: ValueParser<T>, set: (c: PetrelConfig, v: T) => void, env?: string): Setting {
  return {
    key,
    env: env ?? 'PETREL_' + key.toUpperCase().replace(/\./g, '_'),
    parse,
    set: set as (c: PetrelConfig, v: unknown) => void,
  };
}

const limit = (name: string, field: keyof PetrelConfig['limits'], min: number, max: number): Setting =>
  setting(`limits.${name}`, integer(min, max), (c, v) => (c.limits[field] = v));

export const SETTINGS: readonly Setting[] = [
  setting('data_dir', nonEmptyString, (c, v) => (c.dataDir = v)),
  setting('hostname', nonEmptyString, (c, v) => (c.hostname = v)),

  setting('imap.listen', listenAddress, (c, v) => (c.imap.listen = v)),
  setting('imap.tls_listen', listenAddress, (c, v) => (c.imap.tlsListen = v), 'PETREL_IMAPS_LISTEN'),
  setting('imap.allow_plaintext_auth', boolean, (c, v) => (c.imap.allowPlaintextAuth = v), 'PETREL_ALLOW_PLAINTEXT_AUTH'),
  setting('imap.idle_keepalive_seconds', integer(1, 1740), (c, v) => (c.imap.idleKeepaliveSeconds = v)),
  setting('imap.idle_poll_seconds', integer(0, 3600), (c, v) => (c.imap.idlePollSeconds = v)),
  setting('imap.server_comment', optionalText(1024), (c, v) => (c.imap.serverComment = v)),
  setting('imap.server_admin', optionalUri, (c, v) => (c.imap.serverAdmin = v)),

  setting('lmtp.listen', listenAddress, (c, v) => (c.lmtp.listen = v)),
  setting('lmtp.recipient_delimiter', shortString(4), (c, v) => (c.lmtp.recipientDelimiter = v)),

  setting('tls.cert_file', optionalPath, (c, v) => (c.tls.certFile = v), 'PETREL_TLS_CERT'),
  setting('tls.key_file', optionalPath, (c, v) => (c.tls.keyFile = v), 'PETREL_TLS_KEY'),

  limit('max_line_length', 'maxLineLength', 1024, 16 * MiB),
  limit('max_message_size', 'maxMessageSize', 1024, 4 * GiB),
  limit('max_memory_literal', 'maxMemoryLiteral', 1024, 16 * MiB),
  limit('max_commands_per_connection', 'maxCommandsPerConnection', 0, 1e9),
  limit('max_connections', 'maxConnections', 1, 1e6),
  limit('max_connections_per_user', 'maxConnectionsPerUser', 1, 1e6),
  limit('max_connections_per_ip', 'maxConnectionsPerIp', 1, 1e6),
  limit('max_accepts_per_event', 'maxAcceptsPerEvent', 0, 4096),
  limit('idle_timeout_seconds', 'idleTimeoutSeconds', 1, 7 * DAY),
  limit('pre_auth_timeout_seconds', 'preAuthTimeoutSeconds', 1, 3600),
  limit('auth_failures_per_window', 'authFailuresPerWindow', 1, 1e6),
  limit('auth_failure_window_seconds', 'authFailureWindowSeconds', 1, DAY),
  limit('max_append_messages', 'maxAppendMessages', 1, 100000),
  limit('max_metadata_value_size', 'maxMetadataValueSize', 1024, 16 * MiB),
  limit('max_metadata_entries', 'maxMetadataEntries', 10, 1e6),

  setting('storage.fsync', boolean, (c, v) => (c.storage.fsync = v)),
  setting('storage.expunged_retention_seconds', integer(0, 30 * DAY), (c, v) => (c.storage.expungedRetentionSeconds = v)),
  setting('storage.gc_interval_seconds', integer(1, DAY), (c, v) => (c.storage.gcIntervalSeconds = v)),
  setting('storage.backend', oneOf(['sqlite', 'postgres'] as const), (c, v) => (c.storage.backend = v)),
  setting('storage.postgres_url', postgresUrl, (c, v) => (c.storage.postgresUrl = v)),
  setting('storage.blob_store', oneOf(['fs', 'postgres'] as const), (c, v) => (c.storage.blobStore = v)),
  setting('storage.inline_body_max_bytes', integer(0, 16 * MiB), (c, v) => (c.storage.inlineBodyMaxBytes = v)),
  setting('storage.postgres_pool_size', integer(2, 1000), (c, v) => (c.storage.postgresPoolSize = v)),
  setting('storage.postgres_connect_timeout_seconds', integer(1, 3600), (c, v) => (c.storage.postgresConnectTimeoutSeconds = v)),
  setting('storage.postgres_statement_timeout_seconds', integer(0, DAY), (c, v) => (c.storage.postgresStatementTimeoutSeconds = v)),
  setting('storage.auto_migrate', boolean, (c, v) => (c.storage.autoMigrate = v)),
  setting('storage.shared_repository', shortString(63), (c, v) => (c.storage.sharedRepository = v)),
  setting('storage.postgres_replica_urls', postgresUrlList, (c, v) => (c.storage.postgresReplicaUrls = v)),
  setting('storage.replica_max_lag_seconds', integer(1, 3600), (c, v) => (c.storage.replicaMaxLagSeconds = v)),
  setting('storage.replica_check_interval_ms', integer(50, 60_000), (c, v) => (c.storage.replicaCheckIntervalMs = v)),
  setting('storage.postgres_promotion_uidvalidity', oneOf(['seen', 'all'] as const), (c, v) => (c.storage.postgresPromotionUidvalidity = v)),

  setting('server.workers', integer(1, 64), (c, v) => (c.server.workers = v)),

  setting('metrics.listen', listenAddress, (c, v) => (c.metrics.listen = v)),

  setting('log.level', oneOf(['debug', 'info', 'warn', 'error'] as const), (c, v) => (c.log.level = v)),
];

/** Settings that are tables of their own in the file but have no scalar entry above. */
export const SECTIONS = ['imap', 'lmtp', 'tls', 'limits', 'storage', 'server', 'metrics', 'log'] as const;
