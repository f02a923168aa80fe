// RENAME (RFC 9051 6.3.6): children follow, UIDVALIDITY and UIDs are kept;
// renaming INBOX moves its messages to the new name and leaves INBOX empty.

import { CommandError, type CommandOf, type Handler } from '../context.js';
import { validMailboxName } from '../mailbox-names.js';

export const renameHandler: Handler<CommandOf<'RENAME'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const from = session.fromWire(command.from);
  let to = session.fromWire(command.to);
  if (to.endsWith('/')) to = to.slice(0, -1);
  if (!validMailboxName(to)) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Invalid mailbox name' });
  if (to === 'INBOX') throw new CommandError({ status: 'NO', code: { kind: 'ALREADYEXISTS' }, text: 'INBOX already exists' });
  const source = await deps.store.getMailbox(account.id, from);
  if (!source) throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  if (from === to) throw new CommandError({ status: 'NO', code: { kind: 'ALREADYEXISTS' }, text: 'Mailbox already exists' });
  if (to.startsWith(from + '/')) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Cannot rename a mailbox into itself' });
  await deps.store.renameMailbox(account.id, source.name, to);
  session.publishChange(source.id, 0);
  session.publishMailboxesChanged();
  return { status: 'OK', text: 'RENAME completed' };
};
