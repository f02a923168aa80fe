// The event bus of a short-lived CLI process: events published by admin
// handlers and by the ingest pipeline are kept, and sent to the running
// servers when the command is done: over the control socket in embedded mode,
// as NOTIFY in PostgreSQL mode (src/cli/cluster.ts).

import { notifyServer } from '../mail/control-socket.js';
import { filteredSubscription } from '../mail/events.js';
import type { EventBus, EventKey, EventSubscription, MailEventListener } from '../mail/ports.js';
import type { MailEvent } from '../mail/types.js';

export type EventSender = (events: MailEvent[]) => Promise<void>;

export class ForwardingEventBus implements EventBus {
  private pending: MailEvent[] = [];
  private readonly listeners = new Set<MailEventListener>();

  constructor(private readonly send: EventSender) {}

  publish(event: MailEvent): void {
    this.pending.push(event);
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: MailEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeKeys(listener: MailEventListener, keys: readonly EventKey[]): EventSubscription {
    return filteredSubscription((l) => this.subscribe(l), listener, keys);
  }

  /** Sends the collected events (each once); nothing is sent when there are none. */
  async flush(): Promise<void> {
    const events = dedupe(this.pending);
    this.pending = [];
    if (events.length > 0) await this.send(events);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

/** Embedded mode: the server of the same data dir, if one runs. */
export function controlSocketSender(dataDir: string): EventSender {
  return (events) => notifyServer(dataDir, events);
}

function dedupe(events: MailEvent[]): MailEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const key = JSON.stringify(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
