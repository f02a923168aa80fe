// STATUS (RFC 9051 6.3.11; SIZE from RFC 8438; RECENT is always 0; HIGHESTMODSEQ RFC 7162).

import { storageUnits } from '../../mail/quota.js';
import type { Repository } from '../../mail/repository.js';
import type { MailboxInfo } from '../../mail/types.js';
import type { StatusItem } from '../../protocol/imap/ast.js';
import type { StatusValue } from '../../protocol/imap/response.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import { mailboxObjectId } from '../object-id.js';

/**
 * `appendLimit`: the mailbox's upload limit for the APPENDLIMIT item (RFC 7889 3.1),
 * the server-wide limits.max_message_size; null answers NIL (no limit).
 */
export async function statusValues(
  repository: Pick<Repository, 'name' | 'store'>,
  mailbox: MailboxInfo,
  items: readonly StatusItem[],
  appendLimit: number | null = null,
): Promise<StatusValue> {
  const counts = await repository.store.counts(mailbox.id);
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
        values['DELETED-STORAGE'] = storageUnits(counts.deletedSize ?? 0);
        break;
      case 'RECENT':
        values.RECENT = 0;
        break;
      case 'HIGHESTMODSEQ':
        values.HIGHESTMODSEQ = counts.highestModseq;
        break;
      case 'APPENDLIMIT':
        values.APPENDLIMIT = appendLimit ?? 'NIL';
        break;
      case 'MAILBOXID': // RFC 8474 4.3
        values.MAILBOXID = mailboxObjectId(mailbox, repository.name);
        break;
    }
  }
  return values;
}

export const statusHandler: Handler<CommandOf<'STATUS'>> = async ({ session, deps, command }) => {
  // RFC 4314 4: "r" for STATUS; the mailbox may be in another repository.
  const ref = await session.access.require(session.fromWire(command.mailbox), 'r');
  const mailbox = ref.mailbox;
  if (!mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  // STATUS (HIGHESTMODSEQ) is a CONDSTORE enabling command (RFC 7162 3.1).
  if (command.items.includes('HIGHESTMODSEQ')) await session.enableCondstore();
  const values = await statusValues(ref.repository, mailbox, command.items, deps.config.limits.maxMessageSize);
  await session.send({ kind: 'STATUS', mailbox: session.toWire(ref.display), values });
  return { status: 'OK', text: 'STATUS completed' };
};
