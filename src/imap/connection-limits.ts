// Connection limits (limits.max_connections, max_connections_per_ip,
// max_connections_per_user) counted for the whole server. With one process
// the counter is local; with worker processes (server.workers) it lives in
// the supervising process and each worker asks it over IPC, so the limits
// hold across workers exactly as in one process.

import type { PetrelConfig } from '../config/types.js';

/** Where a server admits connections and logins. Answers may be asynchronous (IPC). */
export interface ConnectionLimits {
  /** A new connection from `ip`: true if it may be served (then `leave` must follow). */
  admit(ip: string): boolean | Promise<boolean>;
  leave(ip: string): void;
  /** A login of `user`: true if it may have one more session (then `releaseUser` must follow). */
  acquireUser(user: string): boolean | Promise<boolean>;
  releaseUser(user: string): void;
}

type Limits = Pick<PetrelConfig['limits'], 'maxConnections' | 'maxConnectionsPerIp' | 'maxConnectionsPerUser'>;

/** Counts connections per address and sessions per user against the configured limits. */
export class ConnectionCounter implements ConnectionLimits {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  private readonly perUser = new Map<string, number>();

  constructor(private readonly limits: Limits) {}

  admit(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (this.total >= this.limits.maxConnections || n >= this.limits.maxConnectionsPerIp) return false;
    this.total++;
    increment(this.perIp, ip);
    return true;
  }

  leave(ip: string): void {
    if (decrement(this.perIp, ip)) this.total--;
  }

  acquireUser(user: string): boolean {
    const n = this.perUser.get(user) ?? 0;
    if (n >= this.limits.maxConnectionsPerUser) return false;
    increment(this.perUser, user);
    return true;
  }

  releaseUser(user: string): void {
    decrement(this.perUser, user);
  }

  /** Connections admitted and not yet left. */
  get connections(): number {
    return this.total;
  }
}

export function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** One less for `key`; false when it had none (a release without an admit is ignored). */
export function decrement(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key);
  if (n === undefined) return false;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
  return true;
}
