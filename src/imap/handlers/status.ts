// STATUS (RFC 9051 6.3.11; SIZE from RFC 8438; RECENT is always 0; HIGHESTMODSEQ RFC 7162).

import type { MailStore } from '../../mail/ports.js';
import type { MailboxInfo } from '../../mail/types.js';
import type { StatusItem } from '../../protocol/imap/ast.js';
import type { StatusValue } from '../../protocol/imap/response.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';

export async function statusValues(store: MailStore, mailbox: MailboxInfo, items: readonly StatusItem[]): Promise<StatusValue> {
  const counts = await store.counts(mailbox.id);
  const values: StatusValue = {};
  for (const item of items) {
    switch (item) {
      case 'MESSAGES':
        values.MESSAGES = counts.messages;
        break;
      case 'UIDNEXT':
        values.UIDNEXT = counts.uidNext;
        break;
      case 'UIDVALIDITY':
        values.UIDVALIDITY = counts.uidValidity;
        break;
      case 'UNSEEN':
        values.UNSEEN = counts.unseen;
        break;
      case 'DELETED':
        values.DELETED = counts.deleted;
        break;
      case 'SIZE':
        values.SIZE = counts.size;
        break;
      case 'DELETED-STORAGE': // RFC 9208 4.1.4, in units of 1024 octets like the STORAGE quota
        values['DELETED-STORAGE'] = Math.ceil((counts.deletedSize ?? 0) / 1024);
        break;
      case 'RECENT':
        values.RECENT = 0;
        break;
      case 'HIGHESTMODSEQ':
        values.HIGHESTMODSEQ = counts.highestModseq;
        break;
      case 'APPENDLIMIT':
      case 'MAILBOXID':
        // Not advertised: the items are not returned.
        break;
    }
  }
  return values;
}

export const statusHandler: Handler<CommandOf<'STATUS'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const mailbox = await deps.store.getMailbox(account.id, session.fromWire(command.mailbox));
  if (!mailbox) throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  if (!mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  // STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command (RFC 7162 3.1).
  if (command.items.includes('HIGHESTMODSEQ')) await session.enableCondstore();
  const values = await statusValues(deps.store, mailbox, command.items);
  await session.send({ kind: 'STATUS', mailbox: session.toWire(mailbox.name), values });
  return { status: 'OK', text: 'STATUS completed' };
};
