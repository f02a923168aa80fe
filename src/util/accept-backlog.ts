// Draining a listening socket's accept queue. Since libuv PR 3696 (2022, in
// Node 20's libuv) libuv accepts ONE connection per event-loop turn on a
// listening socket and relies on level-triggered polling to come back for
// the next: a burst of N new connections waits N loop turns, each as long as
// the busiest callback of that turn, before its last client is greeted.
//
// drainAcceptQueue() listens to a server's 'connection' events: after each
// connection Node accepted, it takes up to `max` more that are already
// waiting (native helper, acceptPending: accept4 until EAGAIN) and gives each
// to the server exactly as Node's own onconnection (lib/net.js) does: a
// net.Socket over the descriptor with the server's socket options, its
// maxConnections check ('drop'), the server's connection count
// (getConnections(), close() waiting for them) and socket.server, then a
// 'connection' event, which the server's handler (net) or its TLS wrapping
// (tls.Server's own 'connection' listener, which then emits
// 'secureConnection') takes as any other.
//
// Nothing happens without the helper (not built, not Linux), with max 0, or
// on a server whose handle is no listening descriptor of this process (a
// cluster worker's round-robin handle: the primary accepts there).

import { channel } from 'node:diagnostics_channel';
import { closeSync } from 'node:fs';
import net from 'node:net';
import { nativeHelper, type NativeHelper } from './native-helper.js';

/** Counters of one server's accepts (tests, measurements). */
export interface AcceptDrainStats {
  /** Connections Node accepted itself (one 'connection' event each). */
  nodeAccepts: number;
  /** Connections accepted by the drain after those. */
  drained: number;
  /** Most connections drained after one of Node's accepts. */
  largestDrain: number;
}

/** What lib/net.js keeps on a Server, read here as its onconnection reads it. */
interface ServerInternals {
  _handle: { fd?: unknown } | null;
  _connections: number;
  maxConnections?: number;
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** Seconds (the server option is ms; net.Server keeps it divided by 1000). */
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

/** Node publishes every socket its servers accept here (diagnostics_channel); so do we. */
const serverSocketChannel = channel('net.server.socket');

/**
 * Makes `server` drain its accept queue, up to `max` connections after each
 * one Node accepts. Call it before or after listen(), once. Returns the
 * server's counters, or null when draining is off (no helper, max <= 0):
 * the server then accepts as Node alone does.
 */
export function drainAcceptQueue(server: net.Server, max: number, helper: NativeHelper | null = nativeHelper): AcceptDrainStats | null {
  if (!helper || !(max > 0)) return null;
  const stats: AcceptDrainStats = { nodeAccepts: 0, drained: 0, largestDrain: 0 };
  let adopting = false;
  server.on('connection', () => {
    // The connections this listener hands over come back through the same event.
    if (adopting) return;
    stats.nodeAccepts++;
    const listenFd = listeningFd(server);
    if (listenFd === null) return;
    const fds = helper.acceptPending(listenFd, max);
    if (fds.length === 0) return;
    stats.drained += fds.length;
    if (fds.length > stats.largestDrain) stats.largestDrain = fds.length;
    adopting = true;
    let next = 0;
    try {
      while (next < fds.length) adopt(server, fds[next++]!);
    } finally {
      adopting = false;
      // A 'connection' listener threw: the descriptors not handed over yet are closed (their clients see a reset).
      for (; next < fds.length; next++) closeQuietly(fds[next]!);
    }
  });
  return stats;
}

/** The server's listening descriptor when it is a real one of this process, else null. */
function listeningFd(server: net.Server): number | null {
  // A cluster worker's round-robin handle is a plain object without fd; a closed server has none.
  const fd = (server as unknown as ServerInternals)._handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/** Node's onconnection (lib/net.js, Node 20) for a descriptor accepted here. */
function adopt(server: net.Server, fd: number): void {
  const s = server as unknown as ServerInternals;
  let socket: net.Socket;
  try {
    socket = new net.Socket({
      fd,
      readable: true,
      writable: true,
      allowHalfOpen: s.allowHalfOpen,
      pauseOnCreate: s.pauseOnConnect,
      readableHighWaterMark: s.highWaterMark,
      writableHighWaterMark: s.highWaterMark,
    } as net.SocketConstructorOpts);
  } catch {
    closeQuietly(fd);
    return;
  }
  if (s.maxConnections && s._connections >= s.maxConnections) {
    const drop = {
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      localFamily: socket.localFamily,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      remoteFamily: socket.remoteFamily,
    };
    socket.destroy();
    server.emit('drop', drop);
    return;
  }
  if (s.noDelay) socket.setNoDelay(true);
  if (s.keepAlive) socket.setKeepAlive(true, (s.keepAliveInitialDelay ?? 0) * 1000);
  // Counted as Node counts its own: Socket's destroy subtracts it again (socket._server), close() waits for it.
  s._connections++;
  const owned = socket as unknown as { server: net.Server; _server: net.Server };
  owned.server = server;
  owned._server = server;
  server.emit('connection', socket);
  if (serverSocketChannel.hasSubscribers) serverSocketChannel.publish({ socket });
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already gone.
  }
}
