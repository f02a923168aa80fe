// The CLI's side of cluster mode: change events go to the servers as NOTIFY,
// and `petrel db migrate` migrates the configured backend.

import type { SchemaVersion } from '../admin/types.js';
import { PgEventBus } from '../cluster/pg-event-bus.js';
import { postgresTarget } from '../cluster/postgres-config.js';
import { migrateRepository, repositoryComponents } from '../cluster/schema.js';
import type { PetrelConfig } from '../config/types.js';
import { InProcessEventBus } from '../mail/events.js';
import { SCHEMA_VERSION } from '../store/sqlite/index.js';
import type { EventSender } from './forwarding-bus.js';
import { openEmbeddedRepository } from './repository.js';

/** PostgreSQL mode: the CLI's events go to every server as NOTIFY (connecting only when there are any). */
export function notifySender(config: PetrelConfig): EventSender {
  return async (events) => {
    const target = postgresTarget(config, 'petrel-cli');
    const bus = await PgEventBus.open({ url: target.url, connect: target.events, listen: false });
    try {
      for (const e of events) bus.publish(e);
      await bus.flush();
    } finally {
      await bus.close();
    }
  };
}

/** `petrel db migrate`: PostgreSQL components explicitly; SQLite migrates at open. */
export async function migrateSchema(config: PetrelConfig): Promise<SchemaVersion[]> {
  if (config.storage.backend === 'postgres') {
    const target = postgresTarget(config, 'petrel-cli');
    const done = await migrateRepository(target.url, target.store, repositoryComponents(config.storage.blobStore === 'postgres'));
    return done.map((d) => ({ component: d.component, before: d.before, current: d.current }));
  }
  const repo = await openEmbeddedRepository(config, new InProcessEventBus());
  await repo.close();
  return [{ component: 'sqlite', before: null, current: SCHEMA_VERSION }];
}
