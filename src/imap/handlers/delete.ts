// DELETE (RFC 9051 6.3.5): a mailbox with children becomes \Noselect.

import { CommandError, type CommandOf, type Handler } from '../context.js';
import { sameMailbox } from '../mailbox-access.js';

export const deleteHandler: Handler<CommandOf<'DELETE'>> = async ({ session, command }) => {
  const name = session.fromWire(command.mailbox);
  if (name === 'INBOX') throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'INBOX cannot be deleted' });
  // RFC 4314 4: "x" on the mailbox (DELETE also drops its ACL).
  const ref = await session.access.require(name, 'x');
  const sel = session.selected;
  await ref.repository.store.deleteMailbox(ref.owner.id, ref.mailbox.name);
  // Deleting the selected mailbox leaves this session without one.
  if (sel && sameMailbox(sel.ref, ref)) {
    session.deselect();
    await session.send({ kind: 'status', status: 'OK', code: { kind: 'CLOSED' }, text: 'Selected mailbox was deleted' });
  }
  session.publishChange(ref, 0);
  session.publishMailboxesChanged(ref);
  return { status: 'OK', text: 'DELETE completed' };
};
