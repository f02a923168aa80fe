// `petrel serve`. Opens the repository the config names (embedded SQLite +
// files, or PostgreSQL: then any number of identical servers share it),
// the matching event bus (in-process; or PostgreSQL LISTEN/NOTIFY, which also
// carries the CLI's changes), starts IMAP, LMTP, the blob garbage collector
// (safe to run on every server at once, see src/blob/gc.ts) and the control
// socket (CLI -> server change notifications), logs one
// {"msg":"listening","service","host","port"} line per listener (tests and
// operators parse these: keep them stable), and shuts down cleanly on
// SIGTERM/SIGINT.

import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createAuthenticator } from '../auth/authenticator.js';
import { BlobGarbageCollector } from '../blob/gc.js';
import type { PetrelConfig } from '../config/types.js';
import { ImapServer } from '../imap/server.js';
import { LmtpServer } from '../lmtp/server.js';
import { PgEventBus } from '../cluster/pg-event-bus.js';
import { postgresTarget } from '../cluster/postgres-config.js';
import { ControlSocketServer } from '../mail/control-socket.js';
import { InProcessEventBus } from '../mail/events.js';
import type { EventBus } from '../mail/ports.js';
import { createLogger, type Logger } from '../util/log.js';
import { openRepository, type OpenRepository } from './repository.js';

/** Blobs touched this recently are never collected: far longer than any stage -> commit. */
const GC_GRACE_SECONDS = 3600;
/** If something still holds the event loop after a clean shutdown, exit anyway after this. */
const EXIT_WATCHDOG_MS = 5000;

export async function serve(config: PetrelConfig): Promise<number> {
  const logger = createLogger(config.log.level);
  // The listening lines are part of the interface: always written, whatever the level.
  const announce = createLogger('info');
  const events = await openEventBus(config, logger.child({ component: 'events' }));
  let repo: OpenRepository;
  try {
    repo = await openRepository(config, events);
  } catch (err) {
    await events.close();
    throw err;
  }
  const auth = createAuthenticator(repo.directory, {
    failuresPerWindow: config.limits.authFailuresPerWindow,
    windowSeconds: config.limits.authFailureWindowSeconds,
    logger: logger.child({ component: 'auth' }),
  });
  const imap = new ImapServer({
    config,
    store: repo.store,
    blobs: repo.blobs,
    directory: repo.directory,
    events,
    auth,
    ingest: repo.ingest,
    logger: logger.child({ service: 'imap' }),
  });
  const lmtp = new LmtpServer({ config, directory: repo.directory, store: repo.store, ingest: repo.ingest, logger });
  const control = new ControlSocketServer({
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
  const gc = new BlobGarbageCollector(repo.store, repo.blobs, {
    graceSeconds: GC_GRACE_SECONDS,
    expungedRetentionSeconds: config.storage.expungedRetentionSeconds,
    logger: logger.child({ component: 'gc' }),
  });

  const shutdown = async (): Promise<void> => {
    await Promise.allSettled([imap.close(), lmtp.close(), control.close()]);
    await gc.stop();
    unsubscribeAuth();
    await events.close();
    await repo.close();
  };

  try {
    // Cluster mode may keep nothing else there, but the control socket lives in the data dir.
    await mkdir(config.dataDir, { recursive: true, mode: 0o750 });
    await control.listen();
    const addresses = await imap.listen();
    const lmtpAddress = await lmtp.listen();
    const listening = (service: string, address: AddressInfo | null): void => {
      if (address) announce.info('listening', { service, host: address.address, port: address.port });
    };
    listening('imap', addresses.imap);
    listening('imaps', addresses.imaps);
    listening('lmtp', lmtpAddress);
    if (config.storage.backend === 'postgres') logger.info('cluster mode', { storage: 'postgres', blobs: config.storage.blobStore });
    gc.start(config.storage.gcIntervalSeconds);
  } catch (err) {
    logger.error('startup failed', { err });
    await shutdown();
    throw err;
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info('shutting down', { signal });
  await shutdown();
  logger.info('stopped');
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_WATCHDOG_MS).unref();
  return 0;
}

/** In-process for the embedded server; LISTEN/NOTIFY among all servers of a PostgreSQL repository. */
async function openEventBus(config: PetrelConfig, logger: Logger): Promise<EventBus> {
  if (config.storage.backend !== 'postgres') return new InProcessEventBus({ logger });
  const target = postgresTarget(config);
  return PgEventBus.open({ url: target.url, connect: target.events, logger });
}
