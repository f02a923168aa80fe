// The CLI's side of cluster mode: change events go to the servers as NOTIFY,
// and `petrel db migrate` migrates the configured backend.

import type { SchemaVersion } from '../admin/types.js';
import { PgEventBus } from '../cluster/pg-event-bus.js';
import { postgresTarget, postgresTargetFor } from '../cluster/postgres-config.js';
import { migrateRepository, repositoryComponents } from '../cluster/schema.js';
import type { PetrelConfig } from '../config/types.js';
import { InProcessEventBus } from '../mail/events.js';
import type { RepositoryEntry } from '../mail/ports.js';
import { openPostgresRepository } from '../store/postgres/index.js';
import { SCHEMA_VERSION } from '../store/sqlite/index.js';
import type { EventSender } from './forwarding-bus.js';
import { openEmbeddedRepository } from './repository.js';

/** PostgreSQL mode: the CLI's events go to every server as NOTIFY on the repository's database (connecting only when there are any). */
export function notifySender(config: PetrelConfig, url: string): EventSender {
  return async (events) => {
    const target = postgresTargetFor(config, url, 'petrel-cli');
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
    const out = await migrateRepositoryAt(config, target.url, config.storage.blobStore === 'postgres');
    // Then every repository the directory registers (their bodies are always in PostgreSQL).
    const directory = await openPostgresRepository(target.url, { ...target.store, max: 1 });
    let entries: RepositoryEntry[];
    try {
      entries = await directory.directory.listRepositories();
    } finally {
      await directory.close();
    }
    for (const entry of entries) {
      for (const d of await migrateRepositoryAt(config, entry.url)) out.push({ ...d, component: `${entry.name}/${d.component}` });
    }
    return out;
  }
  const repo = await openEmbeddedRepository(config, new InProcessEventBus());
  await repo.close();
  return [{ component: 'sqlite', before: null, current: SCHEMA_VERSION }];
}

/** A repository's schema; a registered (non-default) one keeps its blobs in its database too. */
export async function migrateRepositoryAt(config: PetrelConfig, url: string, postgresBlobs = true): Promise<SchemaVersion[]> {
  const target = postgresTargetFor(config, url, 'petrel-cli');
  const done = await migrateRepository(target.url, target.store, repositoryComponents(postgresBlobs));
  return done.map((d) => ({ component: d.component, before: d.before, current: d.current }));
}
