// The in-process event bus of the embedded server. Events are hints ("look
// again at mailbox M"), so delivery is best effort: listeners run on a
// microtask after publish() returns (never inside the publisher's call stack,
// so a listener cannot re-enter the code that is still committing), and a
// listener that throws is logged and does not affect the others.
//
// Keyed subscriptions: every event has one key (eventKey), and an IMAP
// session listens only to the keys it cares about (its selected mailbox, its
// account's mailbox list, its account name), so a publish costs O(listeners
// of that key), not O(sessions): with 50,000 idle sessions a delivery wakes
// the few sessions of one user instead of calling 50,000 closures.

import type { EventBus, EventKey, EventSubscription, MailEventListener } from './ports.js';
import type { AccountId, MailboxId, MailEvent } from './types.js';
import { silentLogger, type Logger } from '../util/log.js';

/** Key of mailbox-changed events of one mailbox (mailbox ids are per repository). */
export function mailboxEventKey(repository: string, mailboxId: MailboxId): EventKey {
  return `m:${mailboxId}:${repository}`;
}

/** Key of mailboxes-changed events of one account's mailbox list. */
export function mailboxListEventKey(repository: string, accountId: AccountId): EventKey {
  return `l:${accountId}:${repository}`;
}

/** Key of account-changed events of one account (by name: the directory's key). */
export function accountEventKey(accountName: string): EventKey {
  return `a:${accountName}`;
}

/** Key of rights-changed events of one identifier (a user name, "anyone" or "authenticated"), in every repository. */
export function rightsEventKey(identifier: string): EventKey {
  return `r:${identifier}`;
}

/** After an ACL change of `identifier` ("-name" counts as name) on a mailbox of `accountId`: rights-changed on the repository's bus. */
export function publishRightsChanged(repository: { name: string; events: EventBus }, accountId: AccountId, identifier: string): void {
  const bare = identifier.startsWith('-') ? identifier.slice(1) : identifier;
  repository.events.publish({ kind: 'rights-changed', repository: repository.name, accountId, identifier: bare });
}

/** The one key an event is delivered under to keyed subscribers. */
export function eventKey(e: MailEvent): EventKey {
  switch (e.kind) {
    case 'mailbox-changed':
      return mailboxEventKey(e.repository, e.mailboxId);
    case 'mailboxes-changed':
      return mailboxListEventKey(e.repository, e.accountId);
    case 'account-changed':
      return accountEventKey(e.accountName);
    case 'rights-changed':
      return rightsEventKey(e.identifier);
  }
}

/**
 * subscribeKeys for a bus without an index (a CLI process, which has no
 * sessions): an all-events subscription that filters by key.
 */
export function filteredSubscription(
  subscribe: (listener: MailEventListener) => () => void,
  listener: MailEventListener,
  keys: readonly EventKey[],
): EventSubscription {
  let wanted = new Set(keys);
  const unsubscribe = subscribe((e) => {
    if (wanted.has(eventKey(e))) listener(e);
  });
  return { setKeys: (next) => (wanted = new Set(next)), unsubscribe };
}

interface Entry {
  readonly listener: MailEventListener;
  /** Keys listened to; null = every event. */
  keys: EventKey[] | null;
  active: boolean;
}

export class InProcessEventBus implements EventBus {
  /** Listeners of every event. */
  private readonly all = new Set<Entry>();
  private readonly byKey = new Map<EventKey, Set<Entry>>();
  private closed = false;
  private readonly logger: Logger;

  constructor(options: { logger?: Logger } = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Listeners currently subscribed (all-events plus keyed), for tests and metrics. */
  get listenerCount(): number {
    let n = this.all.size;
    for (const set of this.byKey.values()) n += set.size;
    return n;
  }

  publish(event: MailEvent): void {
    if (this.closed) return;
    const keyed = this.byKey.get(eventKey(event));
    if (this.all.size === 0 && !keyed) return;
    const snapshot: Entry[] = [...this.all];
    if (keyed) for (const entry of keyed) snapshot.push(entry);
    queueMicrotask(() => {
      for (const entry of snapshot) {
        // A listener unsubscribed between publish and delivery is skipped.
        if (!entry.active) continue;
        try {
          entry.listener(event);
        } catch (err) {
          this.logger.error('event listener failed', { err, event: event.kind });
        }
      }
    });
  }

  subscribe(listener: MailEventListener): () => void {
    // One entry per call: the same function subscribed twice gets two independent subscriptions.
    const entry: Entry = { listener, keys: null, active: !this.closed };
    if (entry.active) this.all.add(entry);
    return () => {
      entry.active = false;
      this.all.delete(entry);
    };
  }

  subscribeKeys(listener: MailEventListener, keys: readonly EventKey[]): EventSubscription {
    const entry: Entry = { listener, keys: [], active: !this.closed };
    const setKeys = (next: readonly EventKey[]): void => {
      if (!entry.active) return;
      this.removeKeys(entry);
      entry.keys = [...new Set(next)];
      for (const key of entry.keys) {
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(entry);
      }
    };
    setKeys(keys);
    return {
      setKeys,
      unsubscribe: () => {
        this.removeKeys(entry);
        entry.active = false;
      },
    };
  }

  private removeKeys(entry: Entry): void {
    for (const key of entry.keys ?? []) {
      const set = this.byKey.get(key);
      if (!set) continue;
      set.delete(entry);
      if (set.size === 0) this.byKey.delete(key);
    }
    entry.keys = [];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.all) entry.active = false;
    for (const set of this.byKey.values()) for (const entry of set) entry.active = false;
    this.all.clear();
    this.byKey.clear();
  }
}
