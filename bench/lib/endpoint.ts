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
