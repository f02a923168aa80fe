// ENABLE (RFC 9051 6.3.1 / RFC 5161). Unknown names are ignored, as the RFC says.

import { ENABLEABLE } from '../capabilities.js';
import type { Handler, CommandOf } from '../context.js';

export const enableHandler: Handler<CommandOf<'ENABLE'>> = async ({ session, command }) => {
  const newly: string[] = [];
  for (const name of command.capabilities) {
    const upper = name.toUpperCase();
    if (!ENABLEABLE.includes(upper) || session.enabled.has(upper)) continue;
    session.enabled.add(upper);
    newly.push(upper === 'IMAP4REV2' ? 'IMAP4rev2' : upper);
  }
  await session.send({ kind: 'ENABLED', capabilities: newly });
  return { status: 'OK', text: 'ENABLE completed' };
};
