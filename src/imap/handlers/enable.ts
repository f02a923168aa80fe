// ENABLE (RFC 9051 6.3.1 / RFC 5161). Unknown names are ignored, as the RFC says.
// CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3): QRESYNC turns CONDSTORE on too.
// UTF8=ACCEPT (RFC 6855): UTF-8 mailbox names and quoted strings from then on (session.utf8).

import { ENABLEABLE } from '../capabilities.js';
import type { Handler, CommandOf } from '../context.js';

export const enableHandler: Handler<CommandOf<'ENABLE'>> = async ({ session, command }) => {
  const newly: string[] = [];
  let condstore = false;
  for (const name of command.capabilities) {
    const upper = name.toUpperCase();
    if (!ENABLEABLE.includes(upper) || session.enabled.has(upper) || newly.includes(upper)) continue;
    // RFC 6855 3: "ENABLE UTF8=ACCEPT" is only valid in the authenticated state; once selected it is not enabled.
    if (upper === 'UTF8=ACCEPT' && session.selected) continue;
    if (upper === 'CONDSTORE' || upper === 'QRESYNC') {
      condstore = true;
      if (upper === 'QRESYNC') session.enabled.add('QRESYNC');
    } else {
      session.enabled.add(upper);
    }
    newly.push(upper);
  }
  await session.send({ kind: 'ENABLED', capabilities: newly.map((n) => (n === 'IMAP4REV2' ? 'IMAP4rev2' : n)) });
  // After ENABLED: the HIGHESTMODSEQ of a selected mailbox, when this turns CONDSTORE on (RFC 7162 3.1).
  if (condstore) await session.enableCondstore();
  return { status: 'OK', text: 'ENABLE completed' };
};
