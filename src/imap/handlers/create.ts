// CREATE (RFC 9051 6.3.4) with USE (RFC 6154 CREATE-SPECIAL-USE).

import type { SpecialUse } from '../../mail/types.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import { validMailboxName } from '../mailbox-names.js';
import { mailboxObjectId } from '../object-id.js';

const SPECIAL_USES: readonly SpecialUse[] = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

export const createHandler: Handler<CommandOf<'CREATE'>> = async ({ session, command }) => {
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
  const ref = await session.access.resolve(name);
  if (!ref) throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: 'Cannot create a mailbox there' });
  // RFC 4314 4: "k" on the nearest existing parent; a new one inherits the parent's ACL.
  const { rights, parent } = await session.access.parentRights(ref);
  if (!rights.includes('k')) throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: 'Permission denied (needs the "k" right on the parent)' });
  const created = await ref.repository.store.createMailbox(ref.owner.id, ref.name, {
    ...(specialUse && { specialUse }),
    ...(parent && { aclFrom: parent.id }),
  });
  session.publishMailboxesChanged(ref);
  // RFC 8474 4.1: every successful CREATE names the new MAILBOXID.
  return { status: 'OK', code: { kind: 'MAILBOXID', id: mailboxObjectId(created, ref.repository.name) }, text: 'CREATE completed' };
};
