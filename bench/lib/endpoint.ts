// What a scenario needs to know about a server under test. Any IMAP+LMTP
// server can be measured once it is described by an Endpoint; targets/ only
// start, provision and stop specific servers.

export interface HostPort {
  host: string;
  port: number;
}

export interface BenchUser {
  /** IMAP login name. */
  login: string;
  password: string;
  /** LMTP recipient address that delivers to this user's INBOX. */
  address: string;
}

export interface Endpoint {
  /** Target name, e.g. "petrel" or "dovecot". */
  name: string;
  imap: HostPort;
  lmtp: HostPort;
  /** Users by their bench id (e.g. "mix001"), provisioned with empty mailboxes. */
  users: Map<string, BenchUser>;
  /** Optional: puts a Maildir's messages (cur/, new/) into a user's INBOX; the large-mailbox prefill. */
  importMaildir?(userId: string, maildir: string): Promise<void>;
  /** Optional: pids of the processes serving IMAP sessions right now (their memory is measured). */
  serverPids?(): Promise<number[]>;
  /** Optional: the server's main process; with its descendants, the whole server (idle-fanout, big-message memory). */
  pid?: number;
  /** Optional: every server of a cluster (imap/lmtp above are the first one's); see serverFor(). */
  servers?: Array<{ imap: HostPort; lmtp: HostPort }>;
  /** Optional: processes whose CPU time is sampled around each point, by group, each on its own (lib/cpu-sample.ts). */
  cpuPids?(): Promise<Record<string, number[]>>;
  /**
   * Optional: roots of process trees whose CPU time is sampled around each
   * point, by group (e.g. petrel: the `serve` process and its workers;
   * dovecot: the master and every child, including those that exited during
   * the point; postgres: the postmaster and its backends).
   */
  cpuTrees?(): Promise<Record<string, number[]>>;
  /**
   * Optional: the processes that hold the connections made to `imap` and
   * `lmtp` (Petrel's workers, or its one `serve` process; a cluster's first
   * server); their open-file limits together bound how many connections the
   * server can hold (idle-fanout). Default: [pid].
   */
  connectionHolders?(): Promise<number[]>;
  /**
   * Optional: server-side figures around each point (run.ts samples before
   * and after, like the CPU), e.g. the share of reads Petrel's read replicas
   * served, from its /metrics. They join the point's metrics in the table.
   */
  sampleServer?: ServerSampler;
  /**
   * Optional: how many stored texts the server's SEARCH index has not taken
   * in yet (Petrel on SQLite fills it after the commit), or null when the
   * server does not say (large-mailbox waits for 0 before it times SEARCH).
   */
  searchIndexLag?(): Promise<number | null>;
}

/** One figure of a point: a row of the table. */
export interface Figure {
  /** e.g. "ops/s", "FETCH_BODY p99 ms". */
  name: string;
  value: number;
  better: 'higher' | 'lower';
}

/** Samples now; the returned function samples again and gives the figures for the time between (and details for the JSON). */
export type ServerSampler = () => Promise<() => Promise<{ figures: Figure[]; details: Record<string, unknown> }>>;

/** Server i mod n of a cluster, or the one server: spreads clients round-robin over a cluster. */
export function serverFor(ep: Endpoint, i: number): { imap: HostPort; lmtp: HostPort } {
  const all = ep.servers;
  return all && all.length ? all[i % all.length]! : { imap: ep.imap, lmtp: ep.lmtp };
}

/** Connection limits a scenario needs the target to allow (idle-fanout); targets raise theirs to these. */
export interface ConnectionNeeds {
  total: number;
  perUser: number;
  perIp: number;
}

/** A server the bench starts, provisions with users, and stops. */
export interface Target {
  readonly name: string;
  /** Starts a fresh server (empty data) that knows the given bench user ids. */
  start(userIds: string[]): Promise<Endpoint>;
  /** Version/settings worth recording next to the figures. */
  describe(): Record<string, string>;
  /** Stops the server and removes its data. Never throws. */
  stop(): Promise<void>;
}

export const BENCH_PASSWORD = 'bench-password-1';
export const BENCH_DOMAIN = 'bench.test';

/** Only loopback: the bench never sends load off the machine. */
export function assertLoopback(hp: HostPort): void {
  const h = hp.host.toLowerCase();
  if (!(h === 'localhost' || h === '::1' || h.startsWith('127.'))) {
    throw new Error(`bench refuses non-loopback address ${hp.host}`);
  }
}
