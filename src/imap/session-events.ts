// Which change events a session listens to (keyed subscriptions, see
// src/mail/events.ts), by state: nothing before login; its account's
// account-changed once logged in; when a mailbox is selected also that
// mailbox's changes and its account's mailbox-list changes (a rename or
// delete of the selected mailbox elsewhere). Session.onEvent filters again.

import { accountEventKey, mailboxEventKey, mailboxListEventKey } from '../mail/events.js';
import type { EventKey } from '../mail/ports.js';
import type { SessionState } from './context.js';

export function sessionEventKeys(state: SessionState): EventKey[] {
  if (state.kind !== 'authenticated' && state.kind !== 'selected') return [];
  const { account } = state;
  const keys = [accountEventKey(account.name)];
  if (state.kind === 'selected') {
    // The selected mailbox may be another owner's, in another repository.
    const { repository, owner } = state.ref;
    keys.push(mailboxListEventKey(repository.name, owner.id), mailboxEventKey(repository.name, state.view.mailboxId));
  }
  return keys;
}
