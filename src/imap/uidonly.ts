// UIDONLY (RFC 9586): after ENABLE UIDONLY the client addresses messages by
// UID only, and the server never sends a message number: FETCH responses
// become UIDFETCH, EXPUNGE becomes VANISHED (the session and expunge.ts do
// that), and a command that carries message numbers is refused with
// BAD [UIDREQUIRED].

import type { Command } from '../protocol/imap/ast.js';
import type { Response } from '../protocol/imap/response.js';
import { searchKeyUses } from './search-query.js';
import type { MailboxView } from './view.js';

/** Why the command may not run once UIDONLY is on, or null when it may. */
export function uidOnlyViolation(command: Command): string | null {
  switch (command.name) {
    case 'FETCH':
    case 'STORE':
    case 'COPY':
    case 'MOVE':
    case 'SEARCH':
    case 'SORT':
    case 'THREAD':
      // 3.2, 3.8: the forms with message numbers are prohibited.
      if (!command.uid) return `${command.name} with message numbers is not allowed once UIDONLY is enabled; use UID ${command.name}`;
      // 3.5: a "<sequence set>" search key holds message numbers.
      if ((command.name === 'SEARCH' || command.name === 'SORT' || command.name === 'THREAD') && searchKeyUses(command.key, 'seq')) {
        return 'Message numbers are not allowed in search criteria once UIDONLY is enabled';
      }
      return null;
    case 'SELECT':
    case 'EXAMINE':
      // 3.7: the QRESYNC sequence match data are message numbers.
      return command.params.some((p) => p.kind === 'QRESYNC' && p.seqMatch !== null)
        ? 'QRESYNC message sequence match data are not allowed once UIDONLY is enabled'
        : null;
    default:
      return null;
  }
}

/** 3.3, 3.6: a FETCH response (message number) as the UIDFETCH response of that message. */
export function asUidFetch(r: Response, view: MailboxView | null): Response {
  if (r.kind !== 'FETCH') return r;
  const uidItem = r.items.find((i) => i.kind === 'UID');
  const uid = uidItem?.kind === 'UID' ? uidItem.uid : view ? view.uidAt(r.seq) : 0;
  return { kind: 'UIDFETCH', uid, items: r.items };
}
