// RENAME (RFC 9051 6.3.6): children follow, UIDVALIDITY and UIDs are kept;
// renaming INBOX moves its messages to the new name and leaves INBOX empty.

import { CommandError, type CommandOf, type Handler } from '../context.js';
import { validMailboxName } from '../mailbox-names.js';

export const renameHandler: Handler<CommandOf<'RENAME'>> = async ({ session, command }) => {
  const from = session.fromWire(command.from);
  let to = session.fromWire(command.to);
  if (to.endsWith('/')) to = to.slice(0, -1);
  if (!validMailboxName(to)) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Invalid mailbox name' });
  if (to === 'INBOX') throw new CommandError({ status: 'NO', code: { kind: 'ALREADYEXISTS' }, text: 'INBOX already exists' });
  // RFC 4314 4: "x" on the mailbox, "k" on the new parent; both names of one owner.
  const ref = await session.access.require(from, 'x');
  const source = ref.mailbox;
  if (from === to) throw new CommandError({ status: 'NO', code: { kind: 'ALREADYEXISTS' }, text: 'Mailbox already exists' });
  if (to.startsWith(from + '/')) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Cannot rename a mailbox into itself' });
  const target = await session.access.resolve(to);
  if (!target || target.owner.id !== ref.owner.id || target.repository !== ref.repository) {
    throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Cannot rename a mailbox into another namespace' });
  }
  if (!(await session.access.parentRights(target)).rights.includes('k')) {
    throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: 'Permission denied (needs the "k" right on the new parent)' });
  }
  await ref.repository.store.renameMailbox(ref.owner.id, source.name, target.name);
  session.publishChange(ref, 0);
  session.publishMailboxesChanged(ref);
  return { status: 'OK', text: 'RENAME completed' };
};
