// IDLE (RFC 9051 6.3.13 / RFC 2177): changes to the selected mailbox are
// pushed as they happen; "* OK Still here" keeps NATs open; DONE ends it.

import type { Handler } from '../context.js';

export const idleHandler: Handler = async ({ session, deps }) => {
  await session.send({ kind: 'continuation', text: 'idling' });
  // Updates go out one batch at a time, in order.
  let chain: Promise<void> = session.releaseUpdates(true, true).catch(() => {});
  const push = (): void => {
    chain = chain.then(() => session.releaseUpdates(true, false)).catch((e: unknown) => {
      session.log.warn('IDLE refresh failed', { err: e instanceof Error ? e : String(e) });
    });
  };
  session.setIdleWake(push);
  const seconds = deps.config.imap.idleKeepaliveSeconds;
  const keepalive = seconds > 0 ? setInterval(() => void session.send({ kind: 'status', status: 'OK', text: 'Still here' }), seconds * 1000) : null;
  keepalive?.unref();
  let line: Buffer | null;
  try {
    line = await session.io.readLine();
  } finally {
    session.setIdleWake(null);
    if (keepalive) clearInterval(keepalive);
    await chain;
  }
  if (line === null) return { status: 'BAD', text: 'Connection closed during IDLE' };
  if (line.toString('latin1').toUpperCase() !== 'DONE') return { status: 'BAD', text: 'Expected DONE' };
  return { status: 'OK', text: 'IDLE terminated' };
};
