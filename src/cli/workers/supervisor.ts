// `petrel serve` with server.workers = N > 1: this process forks N workers
// (Node's cluster module: they share the IMAP, IMAPS and LMTP ports, and
// this process hands each new connection to the next worker) and serves no
// client itself. It keeps what must be counted once for the whole server:
// the connection limits (each worker asks before it greets a client or logs
// a user in), passes login failures (and, to a worker that starts, the
// record of them before it listens) and an embedded repository's changes
// from each worker to the others, owns the control socket the CLI writes
// to, serves GET /metrics from every worker's figures, and restarts a
// worker that dies. Why several processes: one Node
// process uses one core for its JavaScript, and may hold no more connections
// than its open-files limit.

import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { formatSamples, mergeWorkerMetrics, MetricsServer, processMetrics, type MetricSample } from '../../admin/metrics.js';
import { FailureWindow } from '../../auth/throttle.js';
import type { PetrelConfig } from '../../config/types.js';
import { ConnectionCounter, decrement, increment } from '../../imap/connection-limits.js';
import { ControlSocketServer } from '../../mail/control-socket.js';
import type { Logger } from '../../util/log.js';
import type { SupervisorMessage, WorkerAddresses, WorkerMessage } from './messages.js';
import { WORKER_ID_ENV } from './messages.js';

/** A worker that dies is started again after this long, doubling while it keeps dying young. */
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that ran this long before dying is not "dying young": its next restart waits the first delay again. */
const HEALTHY_RUN_MS = 60_000;
/** Workers that have not exited this long after the shutdown order are killed. */
const SHUTDOWN_GRACE_MS = 30_000;
/** GET /metrics leaves out a worker that has not answered within this long. */
const METRICS_WAIT_MS = 2000;

interface Slot {
  id: number;
  worker: Worker;
  startedAt: number;
  /** What this worker holds in the counter (address or user -> count), given back if it dies. */
  held: { ips: Map<string, number>; users: Map<string, number> };
  restartDelayMs: number;
  /** Listening (a worker still starting has no metrics to give). */
  ready: boolean;
}

export interface SupervisorOptions {
  config: PetrelConfig;
  logger: Logger;
  /** Called once every worker is listening, with the first one's addresses. */
  onListening(addresses: WorkerAddresses): void;
}

export class WorkerSupervisor {
  private readonly counter: ConnectionCounter;
  private readonly slots = new Map<number, Slot>();
  private readonly control: ControlSocketServer;
  private stopping = false;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly metrics: MetricsServer | null;
  /** Every worker's failed logins, for a worker that starts again (it would begin with none). */
  private readonly failures: FailureWindow;
  /** The key of every worker's credential cache ids in this run (authenticator.ts), so that they can share them. */
  private readonly credentialKeySecret = randomBytes(32).toString('base64');
  private nextMetricsRequest = 1;
  private readonly metricsWaiters = new Map<number, (samples: MetricSample[]) => void>();

  constructor(private readonly options: SupervisorOptions) {
    this.counter = new ConnectionCounter(options.config.limits);
    this.control = new ControlSocketServer({
      dataDir: options.config.dataDir,
      events: { publish: (event) => this.broadcast({ type: 'event', event }) },
      logger: options.logger.child({ component: 'control' }),
    });
    this.metrics = options.config.metrics.listen ? new MetricsServer(() => this.renderMetrics()) : null;
    const { authFailuresPerWindow, authFailureWindowSeconds } = options.config.limits;
    this.failures = new FailureWindow(authFailuresPerWindow, authFailureWindowSeconds * 1000, Date.now);
  }

  /** Forks the workers and resolves once all listen; rejects (and stops them) if one fails to start. */
  async start(): Promise<void> {
    const { config, logger } = this.options;
    await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
    await this.control.listen();
    const count = config.server.workers;
    logger.info('starting workers', { workers: count });
    try {
      const metrics = this.metrics && config.metrics.listen ? await this.metrics.listen(config.metrics.listen) : null;
      const ready = await Promise.all(Array.from({ length: count }, (_, i) => this.fork(i + 1)));
      this.options.onListening({ ...ready[0]!, metrics });
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Orders every worker to shut down (each says BYE to its clients) and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    const exits = [...this.slots.values()].map(({ worker }) => exited(worker));
    this.broadcast({ type: 'shutdown' });
    const killer = setTimeout(() => {
      for (const { worker } of this.slots.values()) worker.process.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS);
    await Promise.all(exits);
    clearTimeout(killer);
    // Collections still waiting for a worker: answered now, with what came.
    for (const answer of [...this.metricsWaiters.values()]) answer([]);
    await Promise.all([this.control.close(), this.metrics?.close()]);
  }

  /** Every listening worker's samples (those that answer in time) and the supervisor's own, merged. */
  private async renderMetrics(): Promise<string> {
    const workers = [...this.slots.values()].filter((s) => s.ready && s.worker.isConnected());
    const parts = await Promise.all(
      workers.map(async (slot) => ({ worker: String(slot.id), samples: await this.collectFrom(slot) })),
    );
    return formatSamples(mergeWorkerMetrics([...parts, { worker: 'supervisor', samples: processMetrics() }]));
  }

  private collectFrom(slot: Slot): Promise<MetricSample[]> {
    const id = this.nextMetricsRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.metricsWaiters.delete(id);
        resolve([]);
      }, METRICS_WAIT_MS);
      this.metricsWaiters.set(id, (samples) => {
        clearTimeout(timer);
        resolve(samples);
      });
      this.send(slot.worker, { type: 'collect-metrics', id });
    });
  }

  /**
   * Starts worker `id`; resolves with its addresses when it is listening,
   * rejects if it exits first. A `restarted` worker is restarted again
   * whenever it dies; one of the first start is not (start() fails instead).
   */
  private fork(id: number, restarted = false): Promise<WorkerAddresses> {
    const worker = cluster.fork({ [WORKER_ID_ENV]: String(id) });
    const previous = this.slots.get(id);
    const slot: Slot = {
      id,
      worker,
      startedAt: Date.now(),
      held: { ips: new Map(), users: new Map() },
      restartDelayMs: previous?.restartDelayMs ?? RESTART_DELAY_MS,
      ready: false,
    };
    this.slots.set(id, slot);
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'hello') {
          // The worker listens only once it has this: no moment without the throttle's record.
          this.send(worker, { type: 'start', failures: this.failures.snapshot(), credentialKeySecret: this.credentialKeySecret });
          return;
        }
        if (message.type === 'ready') {
          listening = true;
          slot.ready = true;
          // Forked before a shutdown order it could not hear yet (no listener so early): tell it again.
          if (this.stopping) this.send(worker, { type: 'shutdown' });
          resolve(message.addresses);
          return;
        }
        this.handle(slot, message);
      });
      worker.on('exit', (code, signal) => {
        this.release(slot);
        if (!listening) reject(new Error(`worker ${id} exited before listening (${signal ?? `code ${code}`})`));
        // A worker started again that dies before listening (its database still down) is retried, later each time.
        if (!this.stopping && (listening || restarted)) this.restart(slot, code, signal);
      });
    });
  }

  private restart(slot: Slot, code: number | null, signal: string | null): void {
    const ranMs = Date.now() - slot.startedAt;
    const delay = ranMs >= HEALTHY_RUN_MS ? RESTART_DELAY_MS : slot.restartDelayMs;
    slot.restartDelayMs = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
    this.options.logger.error('worker died, restarting', { worker: slot.id, code, signal, restartInMs: delay });
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.stopping) return;
      this.fork(slot.id, true).catch((err: unknown) => {
        // Its exit has scheduled the next attempt.
        this.options.logger.error('worker restart failed', { worker: slot.id, err: err instanceof Error ? err : String(err) });
      });
    }, delay);
    this.restartTimers.add(timer);
  }

  private handle(slot: Slot, message: WorkerMessage): void {
    switch (message.type) {
      case 'admit': {
        const ok = !this.stopping && this.counter.admit(message.ip);
        if (ok) increment(slot.held.ips, message.ip);
        this.send(slot.worker, { type: 'granted', id: message.id, ok });
        return;
      }
      case 'leave':
        if (decrement(slot.held.ips, message.ip)) this.counter.leave(message.ip);
        return;
      case 'acquire-user': {
        const ok = this.counter.acquireUser(message.user);
        if (ok) increment(slot.held.users, message.user);
        this.send(slot.worker, { type: 'granted', id: message.id, ok });
        return;
      }
      case 'release-user':
        if (decrement(slot.held.users, message.user)) this.counter.releaseUser(message.user);
        return;
      case 'auth-failure':
        this.failures.record(message.key);
        this.broadcast(message, slot);
        return;
      case 'auth-clear':
        this.failures.clear(message.key);
        this.broadcast(message, slot);
        return;
      case 'event':
      case 'auth-verified':
        this.broadcast(message, slot);
        return;
      case 'metrics': {
        const answer = this.metricsWaiters.get(message.id);
        this.metricsWaiters.delete(message.id);
        answer?.(message.samples);
        return;
      }
      case 'hello':
      case 'ready':
        return;
    }
  }

  /** A dead worker's connections are gone: give back what it held. */
  private release(slot: Slot): void {
    for (const [ip, n] of slot.held.ips) for (let i = 0; i < n; i++) this.counter.leave(ip);
    for (const [user, n] of slot.held.users) for (let i = 0; i < n; i++) this.counter.releaseUser(user);
    slot.held.ips.clear();
    slot.held.users.clear();
  }

  private broadcast(message: SupervisorMessage, except?: Slot): void {
    for (const slot of this.slots.values()) {
      if (slot !== except) this.send(slot.worker, message);
    }
  }

  private send(worker: Worker, message: SupervisorMessage): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch (err) {
      this.options.logger.warn('could not reach a worker', { err: err instanceof Error ? err : String(err) });
    }
  }

  /** Connections admitted now, over all workers (tests). */
  get connections(): number {
    return this.counter.connections;
  }
}

function exited(worker: Worker): Promise<void> {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}
