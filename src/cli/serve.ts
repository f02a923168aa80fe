// `petrel serve`: the embedded server. Opens the repository of the data
// directory, starts IMAP, LMTP, the blob garbage collector and the control
// socket (CLI -> server change notifications), logs one
// {"msg":"listening","service","host","port"} line per listener (tests and
// operators parse these: keep them stable), and shuts down cleanly on
// SIGTERM/SIGINT.

import type { AddressInfo } from 'node:net';
import { createAuthenticator } from '../auth/authenticator.js';
import { BlobGarbageCollector } from '../blob/gc.js';
import type { PetrelConfig } from '../config/types.js';
import { ImapServer } from '../imap/server.js';
import { LmtpServer } from '../lmtp/server.js';
import { ControlSocketServer } from '../mail/control-socket.js';
import { InProcessEventBus } from '../mail/events.js';
import { createLogger } from '../util/log.js';
import { openEmbeddedRepository } from './repository.js';

/** Blobs touched this recently are never collected: far longer than any stage -> commit. */
const GC_GRACE_SECONDS = 3600;
/** If something still holds the event loop after a clean shutdown, exit anyway after this. */
const EXIT_WATCHDOG_MS = 5000;

export async function serve(config: PetrelConfig): Promise<number> {
  const logger = createLogger(config.log.level);
  // The listening lines are part of the interface: always written, whatever the level.
  const announce = createLogger('info');
  const events = new InProcessEventBus({ logger });
  const repo = await openEmbeddedRepository(config, events);
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
  const gc = new BlobGarbageCollector(repo.store, repo.blobs, {
    graceSeconds: GC_GRACE_SECONDS,
    expungedRetentionSeconds: config.storage.expungedRetentionSeconds,
    logger: logger.child({ component: 'gc' }),
  });

  const shutdown = async (): Promise<void> => {
    await Promise.allSettled([imap.close(), lmtp.close(), control.close()]);
    await gc.stop();
    await events.close();
    await repo.close();
  };

  try {
    await control.listen();
    const addresses = await imap.listen();
    const lmtpAddress = await lmtp.listen();
    const listening = (service: string, address: AddressInfo | null): void => {
      if (address) announce.info('listening', { service, host: address.address, port: address.port });
    };
    listening('imap', addresses.imap);
    listening('imaps', addresses.imaps);
    listening('lmtp', lmtpAddress);
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
