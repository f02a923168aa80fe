// NOTIFY (RFC 5465 8): the parsed command. Event names are canonical
// ("MessageNew") when known; an unknown event-ext atom is kept upper-cased so
// the handler can refuse it with NO [BADEVENT] (RFC 5465 3.1), not BAD.

import type { FetchAttribute } from './ast.js';

export const MESSAGE_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'AnnotationChange'] as const;
export const MAILBOX_EVENTS = ['MailboxName', 'SubscriptionChange', 'MailboxMetadataChange'] as const;
export const USER_EVENTS = ['ServerMetadataChange'] as const;

export type NotifyEventName = (typeof MESSAGE_EVENTS)[number] | (typeof MAILBOX_EVENTS)[number] | (typeof USER_EVENTS)[number];

export interface NotifyEvent {
  /** A NotifyEventName, or an unknown event-ext atom (upper case). */
  name: string;
  /** MessageNew's fetch-att list (SELECTED/SELECTED-DELAYED only); [] when absent. */
  fetch: FetchAttribute[];
}

export type NotifyFilter =
  | { kind: 'SELECTED' | 'SELECTED-DELAYED' | 'INBOXES' | 'PERSONAL' | 'SUBSCRIBED' }
  /** Mailbox names as sent (astring, not yet decoded). */
  | { kind: 'SUBTREE' | 'MAILBOXES'; mailboxes: string[] };

export interface NotifyEventGroup {
  filter: NotifyFilter;
  /** [] for NONE. */
  events: NotifyEvent[];
}

export type NotifyCommand =
  | { name: 'NOTIFY'; set: null }
  | { name: 'NOTIFY'; set: { status: boolean; groups: NotifyEventGroup[] } };
