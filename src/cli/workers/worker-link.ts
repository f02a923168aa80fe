// A worker process's side of the IPC channel to the supervising `petrel
// serve` (supervisor.ts): what the worker needs before it listens (the
// record of failed logins, the credential cache's secret), connection
// limits asked of the supervisor, login failures shared with the other
// workers, an embedded repository's changes passed on to them, and the
// supervisor's orders (events to publish, shutdown).

import type { MetricSample } from '../../admin/metrics.js';
import type { FailureLog } from '../../auth/throttle.js';
import { FailureWindow } from '../../auth/throttle.js';
import type { ConnectionLimits } from '../../imap/connection-limits.js';
import type { EventBus } from '../../mail/ports.js';
import type { MailEvent } from '../../mail/types.js';
import type { SupervisorMessage, WorkerAddresses, WorkerMessage } from './messages.js';
import { WORKER_ID_ENV } from './messages.js';

/** The IPC channel of a forked worker: `process` itself. */
export interface WorkerChannel {
  send(message: WorkerMessage): void;
  on(event: 'message', listener: (m: unknown) => void): void;
}

/** How long a worker waits for the supervisor's answer to its start request. */
const START_TIMEOUT_MS = 30_000;

/** What the supervisor gives a worker before it listens (see start()). */
export interface WorkerStart {
  /** The key of the credential cache ids the workers share (authenticator.ts credentialKeySecret). */
  credentialKeySecret: Buffer;
}

export class WorkerLink {
  /** This worker's number, 1..N: worker 1 also runs the singletons (blob GC). */
  readonly id: number;
  readonly limits: ConnectionLimits;
  readonly failures: FailureLog;
  private nextRequest = 1;
  private readonly pending = new Map<number, (ok: boolean) => void>();
  private localBus: EventBus | null = null;
  private metrics: (() => MetricSample[]) | null = null;
  private verifiedElsewhere: ((id: string, expiresAt: number) => void) | null = null;
  private readonly stopWaiters: Array<() => void> = [];
  private started: ((start: WorkerStart) => void) | null = null;
  private stopped = false;

  constructor(
    private readonly channel: WorkerChannel,
    failures: { perWindow: number; windowSeconds: number },
  ) {
    this.id = Number(process.env[WORKER_ID_ENV] ?? '1');
    this.limits = {
      admit: (ip) => this.ask({ type: 'admit', id: 0, ip }),
      leave: (ip) => this.send({ type: 'leave', ip }),
      acquireUser: (user) => this.ask({ type: 'acquire-user', id: 0, user }),
      releaseUser: (user) => this.send({ type: 'release-user', user }),
    };
    const window = new FailureWindow(failures.perWindow, failures.windowSeconds * 1000, Date.now);
    this.failures = {
      isThrottled: (key) => window.isThrottled(key),
      record: (key) => {
        window.record(key);
        this.send({ type: 'auth-failure', key });
      },
      clear: (key) => {
        window.clear(key);
        this.send({ type: 'auth-clear', key });
      },
    };
    channel.on('message', (m) => this.receive(m as SupervisorMessage, window));
    // No 'disconnect' handler: when the supervisor dies (killed), Node's
    // cluster module ends the worker at once, before any listener of ours
    // runs; its clients see their connections close.
  }

  /**
   * Asks the supervisor for what this worker needs before it may listen,
   * and resolves once it has it: the whole server's failed logins are then
   * in this worker's throttle, so a worker started again (after a crash)
   * never serves a login with an empty one.
   */
  start(timeoutMs = START_TIMEOUT_MS): Promise<WorkerStart> {
    return new Promise((resolve, reject) => {
      // A supervisor that never answers (say an older one, still running
      // after the files were upgraded, that does not know "hello"): the
      // worker fails and says so, and the supervisor restarts it, instead
      // of a worker that never listens and never ends.
      const timer = setTimeout(() => {
        this.started = null;
        reject(new Error(`the supervisor did not answer this worker's start request within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.started = (start) => {
        clearTimeout(timer);
        resolve(start);
      };
      // Even after a shutdown order: the supervisor answers, and serve() then stops as ordered.
      try {
        this.channel.send({ type: 'hello' });
      } catch {
        // The supervisor is gone, and Node's cluster module ends this worker.
      }
    });
  }

  /** Publish the supervisor's events (other workers' changes, the CLI's) on this worker's bus. */
  deliverEventsTo(bus: EventBus): void {
    this.localBus = bus;
  }

  /** A password this worker verified: the other workers' authenticators trust it too. */
  verified(id: string, expiresAt: number): void {
    this.send({ type: 'auth-verified', id, expiresAt });
  }

  /** Where the passwords the other workers verified go (this worker's authenticator). */
  onVerifiedElsewhere(receive: (id: string, expiresAt: number) => void): void {
    this.verifiedElsewhere = receive;
  }

  /** What this worker answers when the supervisor collects metrics (its repositories, its memory). */
  provideMetrics(collect: () => MetricSample[]): void {
    this.metrics = collect;
  }

  /** An embedded repository's change, for the other workers' sessions (this worker's own bus has it already). */
  relay(event: MailEvent): void {
    this.send({ type: 'event', event });
  }

  ready(addresses: WorkerAddresses): void {
    this.send({ type: 'ready', addresses });
  }

  /** Resolves when the supervisor orders a shutdown. */
  stopRequested(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.stopWaiters.push(resolve));
  }

  private stop(): void {
    this.stopped = true;
    for (const w of this.stopWaiters.splice(0)) w();
    // Nobody will answer now: refuse what waits.
    for (const [, answer] of this.pending) answer(false);
    this.pending.clear();
  }

  private ask(message: Extract<WorkerMessage, { id: number }>): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ ...message, id });
    });
  }

  private send(message: WorkerMessage): void {
    if (this.stopped) return;
    try {
      this.channel.send(message);
    } catch {
      // The channel closed: the supervisor is gone, and Node's cluster module ends this worker.
    }
  }

  private receive(message: SupervisorMessage, failures: FailureWindow): void {
    switch (message.type) {
      case 'granted': {
        const answer = this.pending.get(message.id);
        this.pending.delete(message.id);
        answer?.(message.ok);
        return;
      }
      case 'event':
        this.localBus?.publish(message.event);
        return;
      case 'auth-failure':
        failures.record(message.key);
        return;
      case 'auth-clear':
        failures.clear(message.key);
        return;
      case 'start':
        failures.merge(message.failures);
        this.started?.({ credentialKeySecret: Buffer.from(message.credentialKeySecret, 'base64') });
        this.started = null;
        return;
      case 'auth-verified':
        this.verifiedElsewhere?.(message.id, message.expiresAt);
        return;
      case 'collect-metrics': {
        let samples: MetricSample[] = [];
        try {
          samples = this.metrics?.() ?? [];
        } catch {
          // A metric that cannot be read leaves this worker out of one answer; it must not end the worker.
        }
        this.send({ type: 'metrics', id: message.id, samples });
        return;
      }
      case 'shutdown':
        this.stop();
        return;
    }
  }
}
