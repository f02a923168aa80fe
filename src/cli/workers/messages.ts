// The IPC messages between `petrel serve` supervising worker processes
// (server.workers > 1, see supervisor.ts) and its workers (worker-link.ts).
// JSON over Node's cluster channel: small, typed, one kind per purpose.

import type { AddressInfo } from 'node:net';
import type { MetricSample } from '../../admin/metrics.js';
import type { MailEvent } from '../../mail/types.js';

/** The addresses a worker listens on, once it is ready (every worker shares the same ports). */
export interface WorkerAddresses {
  imap: AddressInfo | null;
  imaps: AddressInfo | null;
  lmtp: AddressInfo | null;
  metrics: AddressInfo | null;
}

export type WorkerMessage =
  /** Sent first, once the worker hears the channel: answered by `start`. */
  | { type: 'hello' }
  | { type: 'ready'; addresses: WorkerAddresses }
  /** May a connection from `ip` be served? Answered by `granted` with the same id. */
  | { type: 'admit'; id: number; ip: string }
  | { type: 'leave'; ip: string }
  /** May `user` have one more session? Answered by `granted`. */
  | { type: 'acquire-user'; id: number; user: string }
  | { type: 'release-user'; user: string }
  /** A change in an embedded repository, for the other workers' sessions. */
  | { type: 'event'; event: MailEvent }
  /** A failed login ("user:<name>" and "ip:<address>" keys) or a cleared one, for the other workers' throttles. */
  | { type: 'auth-failure'; key: string }
  | { type: 'auth-clear'; key: string }
  /** A password this worker verified, for the others' authenticators (authenticator.ts onVerified). */
  | { type: 'auth-verified'; id: string; expiresAt: number }
  /** The answer to `collect-metrics` with the same id. */
  | { type: 'metrics'; id: number; samples: MetricSample[] };

export type SupervisorMessage =
  | { type: 'granted'; id: number; ok: boolean }
  /** Publish on the worker's own bus: another worker's change, or one the CLI sent to the control socket. */
  | { type: 'event'; event: MailEvent }
  | { type: 'auth-failure'; key: string }
  | { type: 'auth-clear'; key: string }
  | { type: 'auth-verified'; id: string; expiresAt: number }
  /**
   * The answer to `hello`, which the worker waits for before it listens: the
   * whole server's failed logins still in the window (a worker started again
   * would begin with none), and the secret of this run's credential cache
   * keys (authenticator.ts), base64. Sent here rather than in the worker's
   * environment, which /proc/<pid>/environ keeps for the process's lifetime
   * and its own children would inherit.
   */
  | { type: 'start'; failures: Array<[string, number[]]>; credentialKeySecret: string }
  /** Send this worker's metrics (GET /metrics on the supervisor). */
  | { type: 'collect-metrics'; id: number }
  /** Stop serving: BYE to every client, close, exit. */
  | { type: 'shutdown' };

/** The environment variable that tells a forked worker its number (1..N). */
export const WORKER_ID_ENV = 'PETREL_WORKER_ID';
