// The CLI's side of cluster mode: change events go to the servers as NOTIFY,
// and `petrel db migrate` migrates the configured backend.

import type { SchemaVersion } from '../admin/types.js';
import { PgEventBus } from '../cluster/pg-event-bus.js';
import { postgresTarget } from '../cluster/postgres-config.js';
import { migrateRepository, repositoryComponents } from '../cluster/schema.js';
import type { PetrelConfig } from '../config/types.js';
import { InProcessEventBus } from '../mail/events.js';
import type { EventBus, MailEventListener } from '../mail/ports.js';
import type { MailEvent } from '../mail/types.js';
import { SCHEMA_VERSION } from '../store/sqlite/index.js';
import { openEmbeddedRepository } from './repository.js';

/** Collects events; flush() sends them as NOTIFY (connecting only if there are any). */
export class NotifyingCliEventBus implements EventBus {
  private pending: MailEvent[] = [];
  private readonly listeners = new Set<MailEventListener>();

  constructor(private readonly config: PetrelConfig) {}

  publish(event: MailEvent): void {
    this.pending.push(event);
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: MailEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    const target = postgresTarget(this.config, 'petrel-cli');
    const bus = await PgEventBus.open({ url: target.url, connect: target.events, listen: false });
    try {
      for (const e of events) bus.publish(e);
      await bus.flush();
    } finally {
      await bus.close();
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

export function cliEventBus(config: PetrelConfig): NotifyingCliEventBus {
  return new NotifyingCliEventBus(config);
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
