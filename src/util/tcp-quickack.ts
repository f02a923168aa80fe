// TCP_QUICKACK through Petrel's native helper (native-helper.ts): after each
// write, so that data the client sends next is acknowledged at once instead
// of after Linux's delayed ACK (up to 40 ms). That delay stalls a client
// which, without TCP_NODELAY, writes a synchronizing literal and its
// command's CRLF separately (Python's imaplib): Nagle holds the CRLF until
// the literal is acknowledged. Dovecot sets the option the same way. Without
// the helper this does nothing.

import type { Socket } from 'node:net';
import { nativeHelper as helper } from './native-helper.js';

/** The socket's file descriptor, for a TCP socket of this process (none for other streams). */
function fdOf(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** Sets TCP_QUICKACK on the socket; false when it could not (no helper, not TCP, closed). */
export function quickAck(socket: Socket): boolean {
  if (!helper) return false;
  const fd = fdOf(socket);
  return fd !== null && helper.set(fd);
}

/** The socket's TCP_QUICKACK as the kernel reports it, or null (tests). */
export function quickAckState(socket: Socket): number | null {
  const fd = fdOf(socket);
  if (!helper || fd === null) return null;
  const v = helper.get(fd);
  return v < 0 ? null : v;
}
