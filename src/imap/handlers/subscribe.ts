// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8). Subscriptions are names;
// SUBSCRIBE wants the mailbox to exist, UNSUBSCRIBE does not.

import { CommandError, type CommandOf, type Handler } from '../context.js';

export const subscribeHandler: Handler<CommandOf<'SUBSCRIBE'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const name = session.fromWire(command.mailbox);
  const mailbox = await deps.store.getMailbox(account.id, name);
  if (!mailbox) throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  await deps.store.setSubscribed(account.id, mailbox.name, true);
  return { status: 'OK', text: 'SUBSCRIBE completed' };
};

export const unsubscribeHandler: Handler<CommandOf<'UNSUBSCRIBE'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const name = session.fromWire(command.mailbox);
  await deps.store.setSubscribed(account.id, name, false);
  return { status: 'OK', text: 'UNSUBSCRIBE completed' };
};
