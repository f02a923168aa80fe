// CREATE (RFC 9051 6.3.4) with USE (RFC 6154 CREATE-SPECIAL-USE).

import type { SpecialUse } from '../../mail/types.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import { validMailboxName } from '../mailbox-names.js';

const SPECIAL_USES: readonly SpecialUse[] = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

export const createHandler: Handler<CommandOf<'CREATE'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  // A trailing delimiter only says the client intends children (RFC 9051 6.3.4).
  let name = session.fromWire(command.mailbox);
  if (name.endsWith('/')) name = name.slice(0, -1);
  if (name === 'INBOX') throw new CommandError({ status: 'NO', code: { kind: 'ALREADYEXISTS' }, text: 'INBOX always exists' });
  if (!validMailboxName(name)) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Invalid mailbox name' });
  if (command.specialUse.length > 1) {
    throw new CommandError({ status: 'NO', code: { kind: 'LIMIT' }, text: 'Only one special-use attribute per mailbox' });
  }
  let specialUse: SpecialUse | null = null;
  if (command.specialUse.length === 1) {
    const wanted = command.specialUse[0]!.toLowerCase();
    const found = SPECIAL_USES.find((u) => u.toLowerCase() === wanted);
    // \All and \Flagged are virtual mailboxes we do not implement.
    if (!found || found === '\\All' || found === '\\Flagged') {
      throw new CommandError({ status: 'NO', code: { kind: 'USEATTR' }, text: `Special-use attribute ${command.specialUse[0]} not supported` });
    }
    specialUse = found;
  }
  await deps.store.createMailbox(account.id, name, specialUse ? { specialUse } : {});
  session.publishMailboxesChanged();
  return { status: 'OK', text: 'CREATE completed' };
};
