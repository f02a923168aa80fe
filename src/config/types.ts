// The one typed configuration. Loaded from a TOML file (petrel.toml, or the
// file named by --config / PETREL_CONFIG) and overridden by PETREL_* env
// variables; validated at start (src/config/load.ts) with one clear line per
// bad setting. Every limit has a safe default.

export interface ListenAddress {
  host: string;
  port: number;
}

export interface PetrelConfig {
  /** Directory holding petrel.db (metadata + directory), blobs/, tmp/ and the control socket. */
  dataDir: string;
  /** Host name used in greetings and LMTP. */
  hostname: string;
  imap: {
    /** Plain IMAP (STARTTLS offered when TLS is configured); null disables. Default 127.0.0.1:1143. */
    listen: ListenAddress | null;
    /** Implicit TLS; null disables. Default null (set PETREL_IMAPS_LISTEN). */
    tlsListen: ListenAddress | null;
    /** Allow LOGIN/AUTHENTICATE PLAIN on an unencrypted connection (advertises LOGINDISABLED otherwise). */
    allowPlaintextAuth: boolean;
    /** Mailboxes created at first login, with their special-use attribute. */
    defaultMailboxes: Array<{ name: string; specialUse: string | null; subscribe: boolean }>;
    /** Interval between "* OK Still here" during IDLE, seconds. */
    idleKeepaliveSeconds: number;
    /**
     * IDLE also looks at the change log this often, seconds (0 = only on
     * events): heals a change event lost between servers. Default 30 with
     * PostgreSQL, 0 embedded (its in-process events are never lost).
     */
    idlePollSeconds: number;
    /** RFC 5464 server entry /shared/comment (read-only to clients); null = none. */
    serverComment: string | null;
    /** RFC 5464 server entry /shared/admin: a URI to reach the administrator (mailto:, tel:, https:); null = none. */
    serverAdmin: string | null;
  };
  lmtp: {
    /** Default 127.0.0.1:2424; null disables. */
    listen: ListenAddress | null;
    /** Separator for "user+folder@domain" addressing. */
    recipientDelimiter: string;
  };
  tls: {
    certFile: string | null;
    keyFile: string | null;
  };
  limits: {
    /** Longest command line, octets. Default 64 KiB. */
    maxLineLength: number;
    /** Largest message accepted by APPEND and LMTP, octets. Default 64 MiB. */
    maxMessageSize: number;
    /** Largest literal held in memory for non-APPEND arguments. Default 64 KiB. */
    maxMemoryLiteral: number;
    /** Commands accepted per connection before BYE (0 = unlimited). Default 0. */
    maxCommandsPerConnection: number;
    maxConnections: number;
    maxConnectionsPerUser: number;
    maxConnectionsPerIp: number;
    /**
     * After each connection Node accepts on an IMAP listener, how many more
     * already waiting in the listening socket's queue are accepted at once
     * (native helper, Linux; src/util/accept-backlog.ts). Node alone accepts
     * one per event-loop turn, which a busy server makes long. 0: off. Default 64.
     */
    maxAcceptsPerEvent: number;
    /** Autologout timer of an authenticated idle connection, seconds (RFC 9051: at least 30 min). */
    idleTimeoutSeconds: number;
    /** Autologout before authentication, seconds. */
    preAuthTimeoutSeconds: number;
    /** Failed logins allowed per user and per IP within the window before throttling. */
    authFailuresPerWindow: number;
    authFailureWindowSeconds: number;
    /** Messages in one APPEND (MULTIAPPEND). */
    maxAppendMessages: number;
    /** Largest METADATA annotation value, octets (RFC 5464: at least 1024; at most max_memory_literal). Default 64 KiB. */
    maxMetadataValueSize: number;
    /** Annotations one user may have per mailbox (/shared + own /private) and on the server (RFC 5464: at least 10). Default 256. */
    maxMetadataEntries: number;
  };
  storage: {
    /** SQLite synchronous=FULL (durable against power loss) vs NORMAL (against process crash only). */
    fsync: boolean;
    /** How long expunged message rows stay fetchable for sessions not yet told, seconds. */
    expungedRetentionSeconds: number;
    /** Blob garbage collector interval, seconds. */
    gcIntervalSeconds: number;
    /** Where metadata and the directory live: the embedded SQLite file, or a PostgreSQL database (cluster). Default sqlite. */
    backend: 'sqlite' | 'postgres';
    /** postgres:// URL of the repository (may list several hosts); required when backend is postgres. */
    postgresUrl: string | null;
    /**
     * Where message bodies live. Resolved at load: default "fs" with sqlite,
     * "postgres" with postgres. With postgres metadata and fs blobs, the blob
     * directory (<dataDir>/blobs and <dataDir>/tmp) must be shared by every server.
     */
    blobStore: 'fs' | 'postgres';
    /**
     * Embedded (sqlite) only: message bodies of at most this many bytes are
     * stored inside the database file instead of data_dir/blobs, made durable
     * by the message's own commit (one flush per delivery instead of three).
     * 0: every body in data_dir/blobs. Default 64 KiB.
     */
    inlineBodyMaxBytes: number;
    /** Connections per server to the repository (the PostgreSQL blob store gets half as many). Default 10. */
    postgresPoolSize: number;
    /** Seconds to wait for a PostgreSQL connection (with several hosts none may match). Default 10. */
    postgresConnectTimeoutSeconds: number;
    /** PostgreSQL statement_timeout, seconds (0 = none). Default 60. */
    postgresStatementTimeoutSeconds: number;
    /**
     * PostgreSQL only: `petrel serve` (and admin commands) migrate an older
     * schema at start. Default false: run `petrel db migrate`, and servers
     * refuse to start on an older schema. The embedded SQLite file always
     * migrates at open.
     */
    autoMigrate: boolean;
    /**
     * Repository of the shared mailboxes ("Shared/..."), used when the first
     * one is created (`petrel shared create`). Default "default".
     */
    sharedRepository: string;
    /**
     * Streaming replicas of the default repository (registered repositories
     * keep theirs in the directory: `petrel repo replicas`). Empty: every
     * read goes to the primary.
     */
    postgresReplicaUrls: string[];
    /** A replica lagging more than this is taken out of rotation until it catches up. Default 10. */
    replicaMaxLagSeconds: number;
    /** How often replicas' replay positions are sampled, ms. Default 500. */
    replicaCheckIntervalMs: number;
    /**
     * After a promotion (a new PostgreSQL timeline) or a rollback: which
     * mailboxes get a new UIDVALIDITY. "seen" (default): those whose
     * UIDNEXT or HIGHESTMODSEQ some server saw beyond what survived; "all":
     * every mailbox, once per new timeline (README "Replication and fail-over").
     */
    postgresPromotionUidvalidity: 'seen' | 'all';
  };
  server: {
    /**
     * Processes that serve connections (IMAP, LMTP). 1: the `serve` process
     * itself. N > 1: it forks N workers that share the listening ports and
     * supervises them (connection limits and login throttling stay global).
     * Default 1.
     */
    workers: number;
  };
  metrics: {
    /** Prometheus text endpoint (GET /metrics), host:port; null = off (the default). */
    listen: ListenAddress | null;
  };
  log: {
    level: 'debug' | 'info' | 'warn' | 'error';
  };
}
