// The event bus of a short-lived CLI process: events published by admin
// handlers and by the ingest pipeline are kept, and flushed to a running
// server over the control socket when the command is done.

import { notifyServer } from '../mail/control-socket.js';
import type { EventBus, MailEventListener } from '../mail/ports.js';
import type { MailEvent } from '../mail/types.js';

export class ForwardingEventBus implements EventBus {
  private pending: MailEvent[] = [];
  private readonly listeners = new Set<MailEventListener>();

  constructor(private readonly dataDir: string) {}

  publish(event: MailEvent): void {
    this.pending.push(event);
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: MailEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends the collected events to the server of the same data dir, if one runs. */
  async flush(): Promise<void> {
    const events = dedupe(this.pending);
    this.pending = [];
    await notifyServer(this.dataDir, events);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
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
