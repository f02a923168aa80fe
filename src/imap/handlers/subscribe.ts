// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8). Subscriptions are names;
// SUBSCRIBE wants the mailbox to exist, UNSUBSCRIBE does not.

import type { CommandOf, Handler } from '../context.js';

// Subscriptions are the user's own list of names (kept in its repository), also for other users' and shared mailboxes.

export const subscribeHandler: Handler<CommandOf<'SUBSCRIBE'>> = async ({ session, command }) => {
  const account = session.account!;
  // No right needed beyond being able to look it up (RFC 4314 4).
  const ref = await session.access.require(session.fromWire(command.mailbox), '');
  await session.home.store.setSubscribed(account.id, ref.display, true);
  // Other sessions' NOTIFY SubscriptionChange (RFC 5465 5.5) learns it from the account's list event.
  session.publishMailboxesChanged({ repository: session.home.repository, owner: account });
  return { status: 'OK', text: 'SUBSCRIBE completed' };
};

export const unsubscribeHandler: Handler<CommandOf<'UNSUBSCRIBE'>> = async ({ session, command }) => {
  const account = session.account!;
  const name = session.fromWire(command.mailbox);
  await session.home.store.setSubscribed(account.id, name, false);
  session.publishMailboxesChanged({ repository: session.home.repository, owner: account });
  return { status: 'OK', text: 'UNSUBSCRIBE completed' };
};
