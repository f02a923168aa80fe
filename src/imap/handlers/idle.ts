// IDLE (RFC 9051 6.3.13 / RFC 2177): changes to the selected mailbox are
// pushed as they happen; "* OK Still here" keeps NATs open; DONE ends it.
// When the session must end meanwhile (account disabled or deleted, selected
// mailbox deleted elsewhere), IDLE stops at once and the session sends BYE.
// Besides waking on change events, IDLE reads the change log every
// imap.idle_poll_seconds: an event lost between servers (cluster mode) is
// then healed within that time, as the change log is the truth.

import type { Handler } from '../context.js';
import type { Session } from '../session.js';

/** One wake-up: first whether the session may go on, then the mailbox updates. */
async function refresh(session: Session, poll: boolean): Promise<void> {
  await session.checkStillValid();
  await session.releaseUpdates(true, poll);
}

export const idleHandler: Handler = async ({ session, deps }) => {
  await session.send({ kind: 'continuation', text: 'idling' });
  // Updates go out one batch at a time, in order.
  let chain: Promise<void> = refresh(session, true).catch(() => {});
  const push = (poll = false): void => {
    chain = chain.then(() => refresh(session, poll)).catch((e: unknown) => {
      session.log.warn('IDLE refresh failed', { err: e instanceof Error ? e : String(e) });
    });
  };
  session.setIdleWake(() => push());
  const pollSeconds = deps.config.imap.idlePollSeconds;
  const poller = pollSeconds > 0 ? setInterval(() => push(true), pollSeconds * 1000) : null;
  poller?.unref();
  const seconds = deps.config.imap.idleKeepaliveSeconds;
  const keepalive = seconds > 0 ? setInterval(() => void session.send({ kind: 'status', status: 'OK', text: 'Still here' }), seconds * 1000) : null;
  keepalive?.unref();
  let line: Buffer | null | 'ended';
  try {
    line = await Promise.race([session.io.readLine(), session.ending.then(() => 'ended' as const)]);
  } finally {
    session.setIdleWake(null);
    if (keepalive) clearInterval(keepalive);
    if (poller) clearInterval(poller);
    await chain;
  }
  // The session answers with BYE instead of this result.
  if (line === 'ended') return { status: 'NO', text: 'Session ended' };
  if (line === null) return { status: 'BAD', text: 'Connection closed during IDLE' };
  if (line.toString('latin1').toUpperCase() !== 'DONE') return { status: 'BAD', text: 'Expected DONE' };
  return { status: 'OK', text: 'IDLE terminated' };
};
