// DELETE (RFC 9051 6.3.5): a mailbox with children becomes \Noselect.

import { CommandError, type CommandOf, type Handler } from '../context.js';

export const deleteHandler: Handler<CommandOf<'DELETE'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const name = session.fromWire(command.mailbox);
  if (name === 'INBOX') throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'INBOX cannot be deleted' });
  const mailbox = await deps.store.getMailbox(account.id, name);
  if (!mailbox) throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  const sel = session.selected;
  await deps.store.deleteMailbox(account.id, mailbox.name);
  // Deleting the selected mailbox leaves this session without one.
  if (sel && sel.mailbox.id === mailbox.id) {
    session.deselect();
    await session.send({ kind: 'status', status: 'OK', code: { kind: 'CLOSED' }, text: 'Selected mailbox was deleted' });
  }
  session.publishChange(mailbox.id, 0);
  session.publishMailboxesChanged();
  return { status: 'OK', text: 'DELETE completed' };
};
