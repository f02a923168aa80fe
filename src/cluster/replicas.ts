// Read replicas of one repository (ARCHITECTURE.md, decision 8).
//
// Each streaming replica gets its own pool (as large as the primary's). A monitor samples, every
// checkIntervalMs, the primary's WAL position and each replica's replay
// position: a replica is "in rotation" while it answers, is still in recovery
// (a promoted replica is a primary, never read from as a replica) and lags
// at most maxLagSeconds. It leaves rotation at the first failed read or
// check, and comes back at the first good check.
//
// Who may read what where:
// - Immutable data (message bodies, the index of a known blob) can be read
//   from any replica in rotation; the caller falls back to the primary when
//   the replica does not have it yet.
// - Mutable metadata (flags, UIDs, MODSEQs, mailbox lists) is read through a
//   ReadFloor: the replay position a replica must have reached. A floor goes
//   stale on every write its owner makes and on every change event of the
//   account (from any server); a stale floor reads from the primary and then
//   takes the primary's WAL position as its new value. So a replica serves a
//   read only when it has replayed everything the reader has seen or written.
//
// The lag in seconds is measured against a history of primary samples: a
// replica that has replayed up to L lags by the age of the oldest primary
// sample beyond L (0 when it has everything the last sample saw).

import { MailError } from '../mail/errors.js';
import type { PrimaryStatus, ReadCounts, ReplicaReport, ReplicaStatus } from '../mail/repository.js';
import type { AccountId, MailEvent } from '../mail/types.js';
import { connectPostgres, isConnectionError, pgGuard, withDeadline, type Pg, type PgConnectOptions } from '../store/postgres/pg.js';
import { ReadFloor, type Lsn, type ReadRouter } from '../store/postgres/read-routing.js';
import { redactUrl } from '../config/values.js';

export function parseLsn(text: string | null | undefined): Lsn | null {
  if (!text) return null;
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) return null;
  return (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]);
}

export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export interface ReplicaOptions {
  /** Out of rotation beyond this replay lag, seconds. */
  maxLagSeconds: number;
  /** How often the monitor samples the primary and the replicas, ms. */
  checkIntervalMs: number;
  /** Pool options of each replica (its size is capped). */
  connect: PgConnectOptions;
}

export type ReadKind = 'metadata' | 'immutable';

export class Replica {
  readonly sql: Pg;
  /** Replay position at the last check or read (a lower bound of the current one). */
  replayLsn: Lsn | null = null;
  inRecovery = false;
  reachable = false;
  lagSeconds: number | null = null;
  lagBytes: number | null = null;
  error: string | null = null;
  readonly reads = { metadata: 0, immutable: 0 };

  constructor(
    readonly url: string,
    options: PgConnectOptions,
    private readonly maxLagSeconds: number,
  ) {
    this.sql = connectPostgres(url, options);
  }

  get problem(): string | null {
    if (!this.reachable) return `unreachable${this.error ? `: ${this.error}` : ''}`;
    if (!this.inRecovery) return 'not in recovery (promoted, or not a standby)';
    if (this.lagSeconds === null) return 'lag unknown';
    if (this.lagSeconds > this.maxLagSeconds) return `lag ${this.lagSeconds.toFixed(1)} s`;
    return null;
  }

  get inRotation(): boolean {
    return this.problem === null;
  }

  /** A read failed on a connection level: out of rotation until the next good check. */
  fail(err: unknown): void {
    this.reachable = false;
    this.error = err instanceof Error ? err.message : String(err);
  }

  status(): ReplicaStatus {
    return {
      url: String(redactUrl(this.url)),
      inRotation: this.inRotation,
      problem: this.problem,
      replayLsn: this.replayLsn === null ? null : formatLsn(this.replayLsn),
      lagBytes: this.lagBytes,
      lagSeconds: this.lagSeconds,
      reads: { ...this.reads },
    };
  }
}

/** A primary WAL sample: where the primary was at a moment. */
interface PrimarySample {
  at: number;
  lsn: Lsn;
}

const HISTORY_LIMIT = 4096;

export class ReplicaSet implements ReadRouter, ReplicaReport {
  readonly replicas: Replica[];
  private readonly history: PrimarySample[] = [];
  /**
   * Floors by account, held weakly: a floor lives as long as a session's
   * view uses it (forReader), so the map does not grow with every account
   * ever seen, and a floor still in use is never replaced.
   */
  private readonly floors = new Map<AccountId, WeakRef<ReadFloor>>();
  private readonly forgetFloor = new FinalizationRegistry<AccountId>((accountId) => {
    if (this.floors.get(accountId)?.deref() === undefined) this.floors.delete(accountId);
  });
  private readonly primaryReads = { metadata: 0, immutable: 0 };
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly primarySql: Pg,
    urls: readonly string[],
    private readonly options: ReplicaOptions,
  ) {
    this.replicas = urls.map((url) => new Replica(url, options.connect, options.maxLagSeconds));
  }

  /** Starts the monitor: one check now (awaited), then every checkIntervalMs. Nothing to watch without replicas. */
  async start(): Promise<void> {
    if (this.replicas.length === 0) return;
    await this.check();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.checkIntervalMs);
    this.timer.unref();
  }

  /** The floor of one account's readers on this server (shared by its sessions). */
  floorFor(accountId: AccountId): ReadFloor {
    let floor = this.floors.get(accountId)?.deref();
    if (!floor) {
      floor = new ReadFloor();
      this.floors.set(accountId, new WeakRef(floor));
      this.forgetFloor.register(floor, accountId);
    }
    return floor;
  }

  /** A change event of this repository (from any server): the account's readers must see it. */
  noteEvent(e: MailEvent): void {
    if (e.kind === 'account-changed') return;
    this.floors.get(e.accountId)?.deref()?.markStale();
  }

  async primary(): Promise<PrimaryStatus> {
    const [self] = await pgGuard(
      () => this.primarySql<Array<{ server: string | null; port: number | null; lsn: string }>>`
        SELECT host(inet_server_addr()) AS server, inet_server_port() AS port, pg_current_wal_lsn()::text AS lsn`,
      { sql: this.primarySql, idempotent: true },
    );
    const standbys = await pgGuard(
      () => this.primarySql<Array<{ name: string; client: string | null; state: string; sync_state: string; lag: number | null }>>`
        SELECT application_name AS name, host(client_addr) AS client, state, sync_state,
          extract(epoch FROM replay_lag)::float8 AS lag
        FROM pg_stat_replication ORDER BY application_name`,
      { sql: this.primarySql, idempotent: true },
    );
    return {
      server: self?.server ? `${self.server}:${self.port}` : 'local socket',
      walLsn: self?.lsn ?? '',
      standbys: standbys.map((s) => ({ name: s.name, client: s.client ?? 'local', state: s.state, syncState: s.sync_state, replayLagSeconds: s.lag })),
    };
  }

  /** The primary's WAL position now. */
  async primaryLsn(): Promise<Lsn> {
    const [row] = await this.primarySql<Array<{ lsn: string }>>`SELECT pg_current_wal_lsn()::text AS lsn`;
    const lsn = parseLsn(row?.lsn);
    if (lsn === null) throw new MailError('UNAVAILABLE', 'the primary reported no WAL position');
    return lsn;
  }

  /** A replica in rotation that has replayed `floor` (round robin), or null. */
  pick(floor: Lsn = 0n): Replica | null {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.next + i) % n]!;
      if (r.inRotation && r.replayLsn !== null && r.replayLsn >= floor) {
        this.next = (this.next + i + 1) % n;
        return r;
      }
    }
    return null;
  }

  count(where: Replica | null, kind: ReadKind): void {
    if (where) where.reads[kind]++;
    else this.primaryReads[kind]++;
  }

  readCounts(): ReadCounts {
    const replicas = { metadata: 0, immutable: 0 };
    for (const r of this.replicas) {
      replicas.metadata += r.reads.metadata;
      replicas.immutable += r.reads.immutable;
    }
    return { primary: { ...this.primaryReads }, replicas };
  }

  /**
   * Runs an immutable read on a replica in rotation, else (none, or the
   * replica fails or has not got it: `missing` says so) on the primary.
   */
  async readImmutable<T>(fn: (sql: Pg) => Promise<T>, missing: (value: T) => boolean): Promise<T> {
    const replica = this.pick();
    if (replica) {
      try {
        const value = await fn(replica.sql);
        if (!missing(value)) {
          this.count(replica, 'immutable');
          return value;
        }
      } catch (err) {
        if (lostReplica(err)) replica.fail(err);
        // Anything else (a query cancelled by recovery, say): the primary answers.
      }
    }
    const value = await fn(this.primarySql);
    this.count(null, 'immutable');
    return value;
  }

  /**
   * Runs a metadata read for a reader with `floor`: on a replica that has
   * replayed it, else on the primary, after which the floor is the primary's
   * WAL position (so no later replica read shows less than this one did).
   */
  async readMetadata<T>(floor: ReadFloor, fn: (sql: Pg) => Promise<T>): Promise<T> {
    if (!floor.stale) {
      const replica = this.pick(floor.lsn) ?? (await this.catchingUp(floor.lsn));
      if (replica) {
        try {
          const value = await fn(replica.sql);
          this.count(replica, 'metadata');
          return value;
        } catch (err) {
          if (lostReplica(err)) replica.fail(err);
        }
      }
    }
    const generation = floor.begin();
    const value = await fn(this.primarySql);
    this.count(null, 'metadata');
    floor.settle(generation, await this.primaryLsn());
    return value;
  }

  /**
   * No replica was known to have replayed `floor` at the last check: ask the
   * most advanced one in rotation where it is now (one round trip to a
   * replica, not a read on the primary). Null when it is still behind.
   */
  private async catchingUp(floor: Lsn): Promise<Replica | null> {
    let best: Replica | null = null;
    for (const r of this.replicas) if (r.inRotation && r.replayLsn !== null && (!best || r.replayLsn > best.replayLsn!)) best = r;
    if (!best) return null;
    try {
      const [row] = await best.sql<Array<{ replay: string | null }>>`SELECT pg_last_wal_replay_lsn()::text AS replay`;
      const replay = parseLsn(row?.replay);
      if (replay !== null && replay > best.replayLsn!) best.replayLsn = replay;
    } catch (err) {
      best.fail(err);
      return null;
    }
    return best.replayLsn! >= floor ? best : null;
  }

  /** One round of the monitor (also `petrel repo status`). Never throws. */
  check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => (this.checking = null));
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    const timeoutMs = Math.max(1000, (this.options.connect.connectTimeoutSeconds ?? 10) * 1000);
    try {
      const lsn = await withDeadline(this.primaryLsn(), timeoutMs, 'primary WAL position');
      this.history.push({ at: Date.now(), lsn });
      if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    } catch {
      // No primary now: the replicas' lag is measured against the last samples.
    }
    await Promise.all(this.replicas.map((r) => this.checkReplica(r, timeoutMs)));
  }

  private async checkReplica(replica: Replica, timeoutMs: number): Promise<void> {
    try {
      const [row] = await withDeadline(
        replica.sql<Array<{ recovery: boolean; replay: string | null }>>`
          SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS replay`,
        timeoutMs,
        'replay position',
        'read replica',
      );
      replica.reachable = true;
      replica.error = null;
      replica.inRecovery = row?.recovery === true;
      const replay = parseLsn(row?.replay);
      if (replay !== null && (replica.replayLsn === null || replay > replica.replayLsn || !replica.inRecovery)) replica.replayLsn = replay;
      this.measureLag(replica);
    } catch (err) {
      replica.fail(err);
    }
  }

  private measureLag(replica: Replica): void {
    const last = this.history[this.history.length - 1];
    const replay = replica.replayLsn;
    if (!last || replay === null) {
      replica.lagSeconds = replica.lagBytes = null;
      return;
    }
    replica.lagBytes = replay >= last.lsn ? 0 : Number(last.lsn - replay);
    if (replay >= last.lsn) {
      replica.lagSeconds = 0;
      return;
    }
    // The oldest sample the replica has not reached: it is at least that old behind.
    const behind = this.history.find((s) => s.lsn > replay)!;
    replica.lagSeconds = (Date.now() - behind.at) / 1000;
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => r.status());
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.checking?.catch(() => {});
    await Promise.allSettled(this.replicas.map((r) => r.sql.end({ timeout: 5 })));
  }
}

/** The replica itself failed (not the query): pgGuard wraps connection errors in UNAVAILABLE, with the cause. */
function lostReplica(err: unknown): boolean {
  return isConnectionError(err) || isConnectionError((err as { cause?: unknown } | null)?.cause);
}
