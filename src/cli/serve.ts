// `petrel serve`. Opens the repository the config names (embedded SQLite +
// files, or PostgreSQL: then any number of identical servers share it),
// the matching event bus (in-process; or PostgreSQL LISTEN/NOTIFY, which also
// carries the CLI's changes), starts IMAP, LMTP, the blob garbage collector
// (safe to run on every server at once, see src/blob/gc.ts) and the control
// socket (CLI -> server change notifications), logs one
// {"msg":"listening","service","host","port"} line per listener (tests and
// operators parse these: keep them stable), and shuts down cleanly on
// SIGTERM/SIGINT. With server.workers > 1 this process supervises that many
// workers (workers/supervisor.ts), each of which runs the rest of serve().

import cluster from 'node:cluster';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createAuthenticator } from '../auth/authenticator.js';
import { BlobGarbageCollector } from '../blob/gc.js';
import type { PetrelConfig } from '../config/types.js';
import { ImapServer } from '../imap/server.js';
import { LmtpServer } from '../lmtp/server.js';
import { PgEventBus } from '../cluster/pg-event-bus.js';
import { postgresTargetFor } from '../cluster/postgres-config.js';
import { ControlSocketServer } from '../mail/control-socket.js';
import { InProcessEventBus } from '../mail/events.js';
import type { EventBus } from '../mail/ports.js';
import type { MailEvent } from '../mail/types.js';
import { createLogger, type Logger } from '../util/log.js';
import { NATIVE_HELPER_PATH, nativeHelper } from '../util/native-helper.js';
import type { Repositories } from '../mail/repository.js';
import { collectMetrics, MetricsServer, renderMetrics } from '../admin/metrics.js';
import { openRepositories } from './repository.js';
import type { WorkerAddresses } from './workers/messages.js';
import { WorkerSupervisor } from './workers/supervisor.js';
import { WorkerLink, type WorkerChannel } from './workers/worker-link.js';

/** Blobs touched this recently are never collected: far longer than any stage -> commit. */
const GC_GRACE_SECONDS = 3600;
/** If something still holds the event loop after a clean shutdown, exit anyway after this. */
const EXIT_WATCHDOG_MS = 5000;
/**
 * A shutdown that has not finished this long after the signal (a session
 * stuck in a command whose client is gone) ends the process anyway; under
 * the supervisor's own deadline (workers/supervisor.ts), so a worker exits by itself.
 */
const SHUTDOWN_DEADLINE_MS = 25_000;

export async function serve(config: PetrelConfig): Promise<number> {
  if (config.server.workers > 1 && cluster.isPrimary) return superviseWorkers(config);
  // A worker of a supervising `petrel serve` (server.workers > 1), or null for a server of one process.
  const link = cluster.isWorker
    ? new WorkerLink(process as unknown as WorkerChannel, {
        perWindow: config.limits.authFailuresPerWindow,
        windowSeconds: config.limits.authFailureWindowSeconds,
      })
    : null;
  // Before anything listens: the whole server's failed logins and the credential cache's secret.
  const workerStart = link ? await link.start() : null;
  const logger = link ? createLogger(config.log.level).child({ worker: link.id }) : createLogger(config.log.level);
  // The listening lines are part of the interface: always written, whatever the level.
  const announce = createLogger('info');
  // The singletons of a server (blob GC) run in its first worker only.
  const runsSingletons = link === null || link.id === 1;
  // This server's sessions listen here; every repository's changes arrive on it.
  const events = new InProcessEventBus({ logger: logger.child({ component: 'events' }) });
  link?.deliverEventsTo(events);
  const gcs: BlobGarbageCollector[] = [];
  let repos: Repositories;
  try {
    repos = await openRepositories(config, {
      applicationName: 'petrel',
      eventsFor: (repository) => repositoryEventBus(config, repository, events, logger, link),
      background: {
        onFailure: (err) =>
          logger.error('background thread failed: the WAL is checkpointed on commit and SEARCH reads unindexed text', { err }),
        onError: (err) => logger.warn('SEARCH index catch-up failed, trying again', { err }),
      },
      onOpened: (repository) => {
        if (!runsSingletons) return;
        const gc = new BlobGarbageCollector(repository.store, repository.blobs, {
          graceSeconds: GC_GRACE_SECONDS,
          expungedRetentionSeconds: config.storage.expungedRetentionSeconds,
          logger: logger.child({ component: 'gc', repository: repository.name }),
        });
        gc.start(config.storage.gcIntervalSeconds);
        gcs.push(gc);
      },
    });
  } catch (err) {
    await Promise.allSettled(gcs.map((gc) => gc.stop()));
    await events.close();
    throw err;
  }
  const auth = createAuthenticator(repos.directory, {
    failuresPerWindow: config.limits.authFailuresPerWindow,
    windowSeconds: config.limits.authFailureWindowSeconds,
    logger: logger.child({ component: 'auth' }),
    ...(link && workerStart
      ? {
          failures: link.failures,
          onVerified: (id, expiresAt) => link.verified(id, expiresAt),
          credentialKeySecret: workerStart.credentialKeySecret,
        }
      : {}),
  });
  link?.onVerifiedElsewhere((id, expiresAt) => auth.rememberVerified(id, expiresAt));
  const imap = new ImapServer(
    {
      config,
      directory: repos.directory,
      repositories: repos,
      events,
      auth,
      logger: logger.child({ service: 'imap' }),
    },
    link?.limits,
  );
  const lmtp = new LmtpServer({ config, directory: repos.directory, repositories: repos, logger });
  // A worker hears the CLI through its supervisor, which owns the socket.
  const control = link
    ? null
    : new ControlSocketServer({
        dataDir: config.dataDir,
        events,
        logger: logger.child({ component: 'control' }),
        onAccountChanged: (name) => auth.invalidate(name),
      });
  // Password changes and disabled accounts made through another server or the
  // CLI (cluster mode) arrive on the bus: drop cached credentials at once.
  const unsubscribeAuth = events.subscribe((e) => {
    if (e.kind === 'account-changed') auth.invalidate(e.accountName);
  });

  // With workers, the supervisor serves /metrics from every worker's samples.
  const metrics = config.metrics.listen && !link ? new MetricsServer(() => renderMetrics(repos)) : null;
  link?.provideMetrics(() => collectMetrics(repos));

  const shutdown = async (): Promise<void> => {
    await Promise.allSettled([imap.close(), lmtp.close(), control?.close(), metrics?.close()]);
    await Promise.allSettled(gcs.map((gc) => gc.stop()));
    unsubscribeAuth();
    await repos.close();
    await events.close();
  };

  try {
    // Cluster mode may keep nothing else there, but the control socket lives in the data dir.
    await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
    await control?.listen();
    const metricsAddress = metrics && config.metrics.listen ? await metrics.listen(config.metrics.listen) : null;
    const addresses = await imap.listen();
    const lmtpAddress = await lmtp.listen();
    const listening = { imap: addresses.imap, imaps: addresses.imaps, lmtp: lmtpAddress, metrics: metricsAddress };
    if (link) {
      logger.info('worker ready', { pid: process.pid });
      link.ready(listening);
    }
    else announceListening(announce, listening);
    if (config.storage.backend === 'postgres') logger.info('cluster mode', { storage: 'postgres', blobs: config.storage.blobStore });
    // Once per server: every worker loads the same helper, the first one says it is missing.
    if (runsSingletons && nativeHelper === null && process.platform === 'linux')
      logger.warn(
        `native helper ${NATIVE_HELPER_PATH} missing (run \`node scripts/build-native.cjs\`): clients that send a literal and its CRLF in two writes wait ~40 ms per literal, and a busy server accepts a burst of new connections one per event-loop turn`,
      );
  } catch (err) {
    logger.error('startup failed', { err });
    await shutdown();
    throw err;
  }

  const reason = await Promise.race([stopSignal(), link ? link.stopRequested().then(() => 'supervisor' as const) : new Promise<never>(() => {})]);
  logger.info('shutting down', { signal: reason });
  setTimeout(() => {
    logger.error('shutdown did not finish in time, exiting', { deadlineMs: SHUTDOWN_DEADLINE_MS });
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS).unref();
  await shutdown();
  logger.info('stopped');
  // A worker's IPC channel would keep it alive, and closing the channel makes
  // Node's cluster module exit with 0 whatever happened: exit here, with our code.
  if (link) process.exit(process.exitCode ?? 0);
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_WATCHDOG_MS).unref();
  return 0;
}

/** `petrel serve` with server.workers > 1: forks the workers and supervises them until SIGTERM/SIGINT. */
async function superviseWorkers(config: PetrelConfig): Promise<number> {
  const logger = createLogger(config.log.level);
  const announce = createLogger('info');
  const supervisor = new WorkerSupervisor({ config, logger, onListening: (addresses) => announceListening(announce, addresses) });
  // Listened for before the workers start: a signal during start-up stops them cleanly too.
  const stopped = stopSignal();
  await supervisor.start();
  const signal = await stopped;
  logger.info('shutting down', { signal });
  await supervisor.stop();
  logger.info('stopped');
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_WATCHDOG_MS).unref();
  return 0;
}

function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/** One {"msg":"listening","service","host","port"} line per listener. */
function announceListening(announce: Logger, addresses: WorkerAddresses): void {
  const listening = (service: string, address: AddressInfo | null): void => {
    if (address) announce.info('listening', { service, host: address.address, port: address.port });
  };
  // Before imap: a test harness that waits for imap and lmtp has seen it by then.
  listening('metrics', addresses.metrics);
  listening('imap', addresses.imap);
  listening('imaps', addresses.imaps);
  listening('lmtp', addresses.lmtp);
}

/**
 * Where a repository publishes its changes: the server's own bus in embedded
 * mode; in a cluster, LISTEN/NOTIFY on the repository's database (one
 * listening connection per server per repository), whose events, this
 * server's and other servers', are passed on to the server's own bus.
 */
async function repositoryEventBus(
  config: PetrelConfig,
  repository: { name: string; url: string | null },
  local: EventBus,
  logger: Logger,
  link: WorkerLink | null,
): Promise<EventBus> {
  // Embedded: the server's own bus, shared with the other workers if any.
  if (repository.url === null) return unclosable(local, link ? (e) => link.relay(e) : undefined);
  const target = postgresTargetFor(config, repository.url);
  const bus = await PgEventBus.open({ url: target.url, connect: target.events, logger: logger.child({ component: 'events', repository: repository.name }) });
  bus.subscribe((e) => local.publish(e));
  return bus;
}

/**
 * The server's own bus lent to its repository: closed by the server, not by
 * the repository; what is published also goes to `relay` (the other workers).
 */
function unclosable(bus: EventBus, relay?: (e: MailEvent) => void): EventBus {
  return {
    publish: (e) => {
      bus.publish(e);
      relay?.(e);
    },
    subscribe: (l) => bus.subscribe(l),
    subscribeKeys: (l, keys) => bus.subscribeKeys(l, keys),
    close: async () => {},
  };
}
