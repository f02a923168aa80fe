// The event bus of a cluster: every server over one PostgreSQL repository
// hears every other server's changes through LISTEN/NOTIFY.
//
// publish(): local listeners get the event at once (as in-process); the event
// is also queued and, at the end of the current tick, all queued events go out
// in ONE round trip of pg_notify calls. Bursts are coalesced per mailbox (an
// APPEND of 100 messages, or 100 concurrent deliveries in one tick, cost one
// notification carrying the highest modseq), since an event only says "look
// again from your modseq on".
//
// Receiving: one LISTEN connection per server (postgres.js `listen`, which
// re-issues LISTEN by itself when that connection drops and comes back).
// Our own notifications are skipped (local listeners already had them).
// As a safety net the bus pings itself through the database every
// heartbeatSeconds; when a ping does not come back, the LISTEN connection is
// rebuilt from scratch (e.g. the re-LISTEN failed while the database was
// down). A notification lost meanwhile is healed by the sessions' own polling
// (IDLE every imap.idle_poll_seconds, and every NOOP/command): the change log
// in the database is the truth, the event only a hint.
//
// LISTEN works on the primary only (standbys never deliver NOTIFY): the URL
// must select it (target_session_attrs=primary, see config/values.ts).

import { randomUUID } from 'node:crypto';
import { parseMailEvent } from '../mail/control-socket.js';
import { MailError } from '../mail/errors.js';
import { eventKey, InProcessEventBus } from '../mail/events.js';
import type { EventBus, EventKey, EventSubscription, MailEventListener } from '../mail/ports.js';
import type { MailEvent } from '../mail/types.js';
import { connectPostgres, type Pg, type PgConnectOptions } from '../store/postgres/pg.js';
import { silentLogger, type Logger } from '../util/log.js';

export const DEFAULT_EVENT_CHANNEL = 'petrel_events';

export interface PgEventBusOptions {
  url: string;
  connect?: PgConnectOptions;
  /** NOTIFY channel shared by all servers of the repository. */
  channel?: string;
  /** false: publish only (a CLI process). Default true. */
  listen?: boolean;
  /** Self-ping interval of the LISTEN connection, seconds (0 = off). Default 10. */
  heartbeatSeconds?: number;
  logger?: Logger;
}

/** What goes over the wire: the sender (to skip our own) and the event, or a ping. */
interface Envelope {
  o: string;
  e?: MailEvent;
  ping?: number;
}

/** Coalescing key: one pending notification per mailbox (data vs. the mailbox itself), account's list, or name; ids are per repository. */
function keyOf(e: MailEvent): string {
  // modseq 0 means "the mailbox itself changed" (deleted, renamed): never merged into a data change.
  return e.kind === 'mailbox-changed' && e.modseq === 0 ? `${eventKey(e)}:meta` : eventKey(e);
}

export class PgEventBus implements EventBus {
  private readonly local: InProcessEventBus;
  private readonly origin = randomUUID();
  private readonly channel: string;
  private readonly logger: Logger;
  private readonly pending = new Map<string, MailEvent>();
  private flushScheduled = false;
  private sending: Promise<void> = Promise.resolve();
  private listenSql: Pg | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private pingSent = 0;
  private pingReceived = 0;
  private restarting: Promise<void> | null = null;
  private closed = false;
  /** Notifications received from other servers (tests and metrics). */
  received = 0;
  /** Times the LISTEN connection was (re)established. */
  listens = 0;
  /** Times the heartbeat rebuilt the LISTEN connection. */
  rebuilds = 0;
  private readonly reconnectListeners: Array<() => void> = [];

  private constructor(
    private readonly notifySql: Pg,
    private readonly options: PgEventBusOptions,
  ) {
    this.channel = options.channel ?? DEFAULT_EVENT_CHANNEL;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.channel)) throw new Error(`PgEventBus: bad channel name ${this.channel}`);
    this.logger = options.logger ?? silentLogger;
    this.local = new InProcessEventBus({ logger: this.logger });
  }

  /** Connects; with `listen` (the default), resolves once LISTEN is in place. */
  static async open(options: PgEventBusOptions): Promise<PgEventBus> {
    const notifySql = connectPostgres(options.url, { ...options.connect, max: 1 });
    const bus = new PgEventBus(notifySql, options);
    if (options.listen === false) return bus;
    try {
      await bus.startListening();
    } catch (err) {
      await bus.close();
      throw err;
    }
    const seconds = options.heartbeatSeconds ?? 10;
    if (seconds > 0) {
      bus.heartbeat = setInterval(() => bus.beat(), seconds * 1000);
      bus.heartbeat.unref();
    }
    return bus;
  }

  publish(event: MailEvent): void {
    if (this.closed) return;
    this.local.publish(event);
    const key = keyOf(event);
    const queued = this.pending.get(key);
    if (queued?.kind === 'mailbox-changed' && event.kind === 'mailbox-changed' && queued.modseq > event.modseq) return;
    this.pending.set(key, event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /**
   * `listener` runs each time the LISTEN connection is back after a loss (a
   * fail-over, a restart of the database): the moment the store checks for
   * changes a promotion lost (store/postgres/rollback.ts), even when nothing
   * else touches the database.
   */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  subscribe(listener: MailEventListener): () => void {
    return this.local.subscribe(listener);
  }

  /** Received notifications reach keyed listeners through the local bus, by the same keys. */
  subscribeKeys(listener: MailEventListener, keys: readonly EventKey[]): EventSubscription {
    return this.local.subscribeKeys(listener, keys);
  }

  /** Sends what is queued now; resolves when the database accepted it (a CLI awaits this before exiting). */
  flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.pending.size === 0) return this.sending;
    const payloads = [...this.pending.values()].map((e) => JSON.stringify({ o: this.origin, e } satisfies Envelope));
    this.pending.clear();
    this.sending = this.sending.then(() => this.notify(payloads));
    return this.sending;
  }

  private async notify(payloads: string[]): Promise<void> {
    try {
      await this.notifySql`SELECT pg_notify(${this.channel}, p) FROM unnest(${payloads}::text[]) AS p`;
    } catch (err) {
      // A hint lost: other servers' sessions catch up at their next poll.
      this.logger.warn('change notification not sent', { err: err instanceof Error ? err : String(err), events: payloads.length });
    }
  }

  private async startListening(): Promise<void> {
    const sql = connectPostgres(this.options.url, {
      ...this.options.connect,
      max: 1,
      applicationName: `${this.options.connect?.applicationName ?? 'petrel'}-listen`,
    });
    this.listenSql = sql;
    const listening = sql.listen(
      this.channel,
      (payload) => this.onNotification(payload),
      () => {
        // Also called when postgres.js re-LISTENs after the connection came back.
        this.listens++;
        if (this.listens > 1) {
          this.logger.info('listening for changes again', { channel: this.channel });
          for (const listener of this.reconnectListeners) listener();
        }
      },
    );
    // postgres.js waits forever when no host matches target_session_attrs: bound it.
    const seconds = (this.options.connect?.connectTimeoutSeconds ?? 10) + 5;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new MailError('UNAVAILABLE', `no PostgreSQL primary answered within ${seconds} s (LISTEN ${this.channel})`)),
        seconds * 1000,
      );
    });
    try {
      await Promise.race([listening, timeout]);
    } catch (err) {
      listening.catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private onNotification(payload: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      return; // not ours
    }
    if (envelope.o === this.origin) {
      if (typeof envelope.ping === 'number') this.pingReceived = Math.max(this.pingReceived, envelope.ping);
      return;
    }
    const event = parseMailEvent(envelope.e);
    if (!event) return;
    this.received++;
    this.local.publish(event);
  }

  /** Heartbeat: the previous ping must have come back; else rebuild the LISTEN connection. */
  private beat(): void {
    if (this.closed || this.restarting) return;
    if (this.pingReceived < this.pingSent) {
      this.logger.warn('change notifications stopped arriving; reconnecting the LISTEN connection', { channel: this.channel });
      this.restarting = this.restartListening().finally(() => (this.restarting = null));
      return;
    }
    this.pingSent++;
    void this.notify([JSON.stringify({ o: this.origin, ping: this.pingSent } satisfies Envelope)]);
  }

  private async restartListening(): Promise<void> {
    this.rebuilds++;
    const old = this.listenSql;
    this.listenSql = null;
    await old?.end({ timeout: 0 }).catch(() => undefined);
    if (this.closed) return;
    try {
      await this.startListening();
      this.pingReceived = this.pingSent; // start counting afresh
    } catch (err) {
      this.logger.warn('LISTEN failed; retrying at the next heartbeat', { err: err instanceof Error ? err : String(err) });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    await this.flush();
    this.closed = true;
    await this.restarting;
    await this.local.close();
    await Promise.allSettled([this.listenSql?.end({ timeout: 1 }), this.notifySql.end({ timeout: 1 })]);
  }
}
