// The in-process event bus of the embedded server. Events are hints ("look
// again at mailbox M"), so delivery is best effort: listeners run on a
// microtask after publish() returns (never inside the publisher's call stack,
// so a listener cannot re-enter the code that is still committing), and a
// listener that throws is logged and does not affect the others.

import type { EventBus, MailEventListener } from './ports.js';
import type { MailEvent } from './types.js';
import { silentLogger, type Logger } from '../util/log.js';

export class InProcessEventBus implements EventBus {
  private readonly listeners = new Set<MailEventListener>();
  private closed = false;
  private readonly logger: Logger;

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  publish(event: MailEvent): void {
    if (this.closed || this.listeners.size === 0) return;
    const snapshot = [...this.listeners];
    queueMicrotask(() => {
      for (const listener of snapshot) {
        // A listener unsubscribed between publish and delivery is skipped.
        if (!this.listeners.has(listener)) continue;
        try {
          listener(event);
        } catch (err) {
          this.logger.error('event listener failed', { err, event: event.kind });
        }
      }
    });
  }

  subscribe(listener: MailEventListener): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry: MailEventListener = (e) => listener(e);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}
