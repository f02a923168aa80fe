// The shape every scenario has, so run.ts can run any of them against any target.

import type { ConnectionNeeds, Endpoint, Figure } from '../lib/endpoint.js';

export interface BenchOptions {
  seed: number;
  /** Measured seconds per point. */
  durationS: number;
  /** Unmeasured seconds before each point (connections warm, caches filled). */
  warmupS: number;
  /** mixed: concurrent IMAP clients per point. */
  clients: number[];
  /** mixed: users the clients share (client i uses user i mod users). */
  mixedUsers: number;
  /** mixed: messages delivered to each user's INBOX before the first point. */
  prefill: number;
  /**
   * mixed: sessions started per second across all clients, one point per rate
   * and client count ("50 clients @100/s"), on a fixed schedule (latency at an
   * equal offered load); empty: closed loop, each client starts its next
   * session when the last ends.
   */
  sessionRates: number[];
  /** delivery: concurrent LMTP connections per point. */
  connections: number[];
  deliveryUsers: number;
  /** idle-latency: IDLE clients (one per user) and delivery rounds. */
  idleUsers: number;
  idleRounds: number;
  /** idle-latency: LMTP deliveries per second within a round. */
  idleRate: number;
  /** large-mailbox: messages in the one big INBOX. */
  largeMessages: number;
  /** large-mailbox: where the generated Maildir is kept and reused (null: <tmpdir>/petrel-bench-cache). */
  largeCache: string | null;
  /** idle-fanout: connections in IDLE per point, over fanoutUsers users. */
  idleConnections: number[];
  fanoutUsers: number;
  /** idle-fanout: LMTP deliveries per second (one per user). */
  fanoutRate: number;
  /** big-message: message sizes, MB. */
  bigSizesMB: number[];
  /** big-message: rounds per size (each APPEND, LMTP and the FETCHes once); the figures are their medians. */
  bigRounds: number;
  /** cross-server: LMTP deliveries, one at a time, each timed until EXISTS on the IDLE client. */
  crossDeliveries: number;
  /** Per-command timeout. */
  timeoutMs: number;
  log: (msg: string) => void;
}

/** A row of the table (the same shape as the figures a target adds: Endpoint.sampleServer). */
export type Metric = Figure;

export interface PointResult {
  /** e.g. "10 clients", "50 clients @100/s". */
  point: string;
  metrics: Metric[];
  /** Scenario-specific extra data for the JSON file. */
  details?: unknown;
  /** Operations completed inside the measured window (throughput scenarios): the divisor of server CPU ms per op. */
  measuredOps?: number;
}

/** What run.ts lets a scenario tell it during a point. */
export interface PointHooks {
  /**
   * The point's measured window, as nowMs() times (after the warm-up): run.ts
   * samples the server CPU at both ends, for CPU ms per op over the window only.
   */
  measuredWindow(startMs: number, endMs: number): void;
}

export interface Scenario {
  readonly name: string;
  /** Bench user ids this scenario needs on every target. */
  userIds(o: BenchOptions): string[];
  /** Prefill mailboxes etc.; run once per target before the points. */
  prepare(ep: Endpoint, o: BenchOptions): Promise<void>;
  /** Labels of the points to run, in order. */
  points(o: BenchOptions): string[];
  runPoint(ep: Endpoint, point: string, o: BenchOptions, hooks?: PointHooks): Promise<PointResult>;
  /** Connection limits the target must allow (passed to the target before it starts). */
  connectionNeeds?(o: BenchOptions): ConnectionNeeds;
}

/** "mix001" style ids. */
export function userIdList(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(3, '0')}`);
}
