// The built-in configuration: every setting has a safe default, so
// `petrel serve` with no file and no environment runs a local server.

import { hostname } from 'node:os';
import type { PetrelConfig } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Default settings.
 *
 * allowPlaintextAuth: the default here is true because the default server has
 * no TLS and listens on loopback only, where passwords never cross a network.
 * loadConfig() recomputes it whenever the operator does not set it: it stays
 * true only while no TLS certificate is configured AND every IMAP listener is
 * on a loopback address; otherwise it becomes false (clients must use
 * STARTTLS or the implicit-TLS port before sending a password).
 */
export function defaultConfig(): PetrelConfig {
  return {
    dataDir: './data',
    hostname: hostname(),
    imap: {
      listen: { host: '127.0.0.1', port: 1143 },
      tlsListen: null,
      allowPlaintextAuth: true,
      defaultMailboxes: [
        { name: 'Drafts', specialUse: '\\Drafts', subscribe: true },
        { name: 'Sent', specialUse: '\\Sent', subscribe: true },
        { name: 'Trash', specialUse: '\\Trash', subscribe: true },
        { name: 'Junk', specialUse: '\\Junk', subscribe: true },
        { name: 'Archive', specialUse: '\\Archive', subscribe: true },
      ],
      idleKeepaliveSeconds: 120,
      idlePollSeconds: 0,
      serverComment: null,
      serverAdmin: null,
    },
    lmtp: {
      listen: { host: '127.0.0.1', port: 2424 },
      recipientDelimiter: '+',
    },
    tls: { certFile: null, keyFile: null },
    limits: {
      maxLineLength: 64 * KiB,
      maxMessageSize: 64 * MiB,
      maxMemoryLiteral: 64 * KiB,
      maxCommandsPerConnection: 0,
      maxConnections: 10000,
      maxConnectionsPerUser: 50,
      maxConnectionsPerIp: 100,
      maxAcceptsPerEvent: 64,
      idleTimeoutSeconds: 1800,
      preAuthTimeoutSeconds: 60,
      authFailuresPerWindow: 5,
      authFailureWindowSeconds: 300,
      maxAppendMessages: 100,
      maxMetadataValueSize: 64 * KiB,
      maxMetadataEntries: 256,
    },
    storage: {
      fsync: true,
      expungedRetentionSeconds: 3600,
      gcIntervalSeconds: 600,
      backend: 'sqlite',
      postgresUrl: null,
      blobStore: 'fs',
      inlineBodyMaxBytes: 64 * KiB,
      postgresPoolSize: 10,
      postgresConnectTimeoutSeconds: 10,
      postgresStatementTimeoutSeconds: 60,
      autoMigrate: false,
      sharedRepository: 'default',
      postgresReplicaUrls: [],
      replicaMaxLagSeconds: 10,
      replicaCheckIntervalMs: 500,
      postgresPromotionUidvalidity: 'seen',
    },
    server: { workers: 1 },
    metrics: { listen: null },
    log: { level: 'info' },
  };
}

/** True for addresses that never leave the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h.startsWith('127.') || h === '::ffff:127.0.0.1';
}
