// LSUB (RFC 3501 6.3.9; deprecated in IMAP4rev2 but served). A subscribed
// name below a "%" level makes its matching parent appear as \Noselect.

import type { Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler } from '../context.js';
import { ancestors, compareNames, compilePattern } from '../list-tree.js';

export const lsubHandler: Handler<CommandOf<'LSUB'>> = async ({ session, command }) => {
  const account = session.account!;
  const pattern = session.fromWireLoose(command.reference) + session.fromWireLoose(command.pattern);
  if (pattern === '') {
    await session.send({ kind: 'LSUB', attributes: ['\\Noselect'], delimiter: '/', mailbox: '' });
    return { status: 'OK', text: 'LSUB completed' };
  }
  const match = compilePattern(pattern);
  const subscribed = new Set(await session.home.store.listSubscriptions(account.id));
  // Other users' and shared mailboxes count as existing only where the user may look them up.
  const mailboxes = new Map((await session.access.visible()).map((v) => [v.info.name, v.info]));
  const found = new Map<string, string[]>();
  for (const name of subscribed) {
    if (match(name)) {
      const mb = mailboxes.get(name);
      found.set(name, mb && mb.selectable ? [] : ['\\Noselect']);
      // The parent rule (RFC 3501 6.3.9) is for a "%" that stops above a subscribed name:
      // with "*" the name itself matched, and its unsubscribed parents are not listed.
      continue;
    }
    for (const parent of ancestors(name)) {
      if (!subscribed.has(parent) && match(parent) && !found.has(parent)) found.set(parent, ['\\Noselect']);
    }
  }
  const out: Response[] = [...found.entries()]
    .sort((a, b) => compareNames(a[0], b[0]))
    .map(([name, attributes]) => ({ kind: 'LSUB', attributes, delimiter: '/', mailbox: session.toWire(name) }));
  if (out.length > 0) await session.send(...out);
  return { status: 'OK', text: 'LSUB completed' };
};
