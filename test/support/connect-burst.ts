// A burst of connections that is waiting in a listening socket's accept
// queue all at once: a worker thread opens them while this thread's event
// loop is blocked (Atomics.wait, the way a long callback blocks a busy
// server), and this thread goes on only once every one is connected (the
// kernel completed the handshake: it is queued on the listening socket). The
// server, in this thread, then finds all of them pending at its next poll.
// No timing: the worker signals through shared memory.

import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const tls = require('node:tls');
const { port, count, secure, starttls, shared } = workerData;
const connected = new Int32Array(shared);
const lines = new Array(count).fill(null);
let settled = 0;
function settle(i, line) {
  if (lines[i] !== null) return;
  lines[i] = line;
  if (++settled === count) parentPort.postMessage(lines);
}
for (let i = 0; i < count; i++) {
  const socket = secure
    ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false })
    : net.connect(port, '127.0.0.1');
  socket.once('connect', () => {
    Atomics.add(connected, 0, 1);
    Atomics.notify(connected, 0);
  });
  socket.on('error', (e) => settle(i, 'error: ' + e.code));
  socket.on('close', () => settle(i, ''));
  converse(socket, (line) => {
    if (!starttls) return done(line);
    if (!line.startsWith('* OK')) return done(line);
    socket.write('a STARTTLS\\r\\n');
    converse(socket, (reply) => {
      if (!reply.startsWith('a OK')) return done(reply);
      socket.removeAllListeners('data');
      const secured = tls.connect({ socket, rejectUnauthorized: false });
      secured.on('error', (e) => settle(i, 'error: ' + e.code));
      secured.once('secureConnect', () => {
        secured.write('b NOOP\\r\\n');
        converse(secured, (answer) => (answer.startsWith('b ') ? done('TLS: ' + answer, secured) : false));
      });
      return true;
    });
    return true;
  });
  function done(line, stream = socket) {
    settle(i, line);
    stream.end();
    return true;
  }
}
/** Calls onLine with each line until it returns true. */
function converse(stream, onLine) {
  let text = '';
  stream.setEncoding('latin1');
  const onData = (d) => {
    text += d;
    for (let end; (end = text.indexOf('\\r\\n')) >= 0; ) {
      const line = text.slice(0, end);
      text = text.slice(end + 2);
      if (onLine(line)) return stream.off('data', onData);
    }
  };
  stream.on('data', onData);
}
`;

export interface Burst {
  /**
   * Each connection's first line ('' if the server closed it without a word,
   * "error: CODE" on an error); with `starttls`, after an IMAP greeting:
   * "TLS: " and the tagged answer to a NOOP sent after STARTTLS.
   */
  lines: Promise<string[]>;
}

/**
 * Opens `count` connections to 127.0.0.1:`port` from a worker thread and
 * returns once all are connected, having blocked this thread's event loop
 * all along (at most `limitMs`: then it throws). Then `afterConnected` runs,
 * still before the loop turns again.
 */
export function connectBurst(port: number, count: number, options: { secure?: boolean; starttls?: boolean; limitMs?: number; afterConnected?: () => void } = {}): Burst {
  const shared = new SharedArrayBuffer(4);
  const connected = new Int32Array(shared);
  const worker = new Worker(WORKER, { eval: true, workerData: { port, count, secure: options.secure ?? false, starttls: options.starttls ?? false, shared } });
  const lines = new Promise<string[]>((resolve, reject) => {
    worker.once('message', (m: string[]) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  const deadline = Date.now() + (options.limitMs ?? 10_000);
  for (;;) {
    const n = Atomics.load(connected, 0);
    if (n >= count) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      void worker.terminate();
      throw new Error(`only ${n} of ${count} connections were made (did the worker thread start?)`);
    }
    Atomics.wait(connected, 0, n, left);
  }
  options.afterConnected?.();
  return { lines };
}
