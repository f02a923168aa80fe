// Draining a listening socket's accept queue: the native acceptPending
// (native/net-helper.c) and drainAcceptQueue (src/util/accept-backlog.ts),
// which hands what it accepts to a net.Server as Node's onconnection does.
// Bursts of connections are queued while this thread's loop is blocked
// (test/support/connect-burst.ts), as on a busy server.
// That the helper is built on Linux is asserted in tcp-quickack.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drainAcceptQueue } from '../../../src/util/accept-backlog.js';
import { nativeHelper, type NativeHelper } from '../../../src/util/native-helper.js';
import { connectBurst } from '../../support/connect-burst.js';

const noHelper = !nativeHelper && 'no native helper (build/net-helper.node)';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function listeningFd(server: net.Server): number {
  return (server as unknown as { _handle: { fd: number } })._handle.fd;
}

function closed(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

test('acceptPending returns the K connections waiting, within its bound, then []', { skip: noHelper }, async () => {
  const helper = nativeHelper!;
  const server = net.createServer(() => assert.fail('Node accepted a connection the helper should have taken'));
  const port = await listen(server);
  const fd = listeningFd(server);
  assert.deepEqual(helper.acceptPending(fd, 10), [], 'nothing waiting');
  let first: number[] = [];
  let rest: number[] = [];
  let after: number[] = [];
  const burst = connectBurst(port, 5, {
    afterConnected: () => {
      // Before the loop turns: Node has not polled the listening socket.
      first = helper.acceptPending(fd, 3);
      rest = helper.acceptPending(fd, 100);
      after = helper.acceptPending(fd, 100);
      for (const c of [...first, ...rest]) closeSync(c);
    },
  });
  assert.equal(first.length, 3, 'at most max');
  assert.equal(rest.length, 2, 'the others');
  assert.deepEqual(after, [], 'the queue is empty');
  assert.equal(new Set([...first, ...rest]).size, 5);
  assert.ok([...first, ...rest].every((c) => Number.isInteger(c) && c > 2 && c !== fd));
  assert.deepEqual(await burst.lines, ['', '', '', '', ''], 'each client saw its connection closed');
  await closed(server);
});

test('acceptPending answers [] for what is not a non-blocking listening socket, and for max <= 0', { skip: noHelper }, async () => {
  const helper = nativeHelper!;
  const server = net.createServer();
  await listen(server);
  assert.deepEqual(helper.acceptPending(listeningFd(server), 0), []);
  assert.deepEqual(helper.acceptPending(listeningFd(server), -1), []);
  assert.deepEqual(helper.acceptPending(-1, 5), []);
  // A blocking descriptor (a file) is never accepted on: accept() would wait.
  const file = openSync(join(tmpdir(), `petrel-accept-${process.pid}`), 'w');
  try {
    assert.deepEqual(helper.acceptPending(file, 5), []);
  } finally {
    closeSync(file);
  }
  await closed(server);
});

test('drainAcceptQueue: a burst is accepted after one of Node accepts, counted and closed as Node counts its own', { skip: noHelper }, async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    assert.equal((s as unknown as { server: net.Server }).server, server);
    sockets.push(s);
    s.end(`hello ${s.remoteAddress}\r\n`);
  });
  const stats = drainAcceptQueue(server, 64)!;
  assert.ok(stats);
  const port = await listen(server);
  const burst = connectBurst(port, 20);
  const lines = await burst.lines;
  assert.deepEqual(lines, new Array(20).fill('hello 127.0.0.1'));
  assert.equal(sockets.length, 20);
  assert.equal(stats.nodeAccepts + stats.drained, 20);
  assert.ok(stats.nodeAccepts <= 2, `accepted in ${stats.nodeAccepts} loop turns`);
  assert.equal(stats.largestDrain, stats.drained, 'one drain took them all');
  // close() calls back once the connection count, which the drained sockets joined and left, is 0.
  await closed(server);
});

test('drainAcceptQueue: getConnections() counts drained sockets, close() waits for them', { skip: noHelper }, async () => {
  const sockets: net.Socket[] = [];
  // Half-open: a client's end leaves the server's side open (the server option, which drained sockets get too).
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.write('hello\r\n');
  });
  drainAcceptQueue(server, 64);
  const port = await listen(server);
  const burst = connectBurst(port, 10);
  await burst.lines; // the clients end their side; the server keeps its own open
  const count = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
  assert.equal(count, 10);
  let done = false;
  const stopped = closed(server).then(() => (done = true));
  sockets.slice(1).forEach((s) => s.destroy());
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'one connection is still open');
  sockets[0]!.destroy();
  await stopped;
});

test('drainAcceptQueue: at most max after each of Node accepts', { skip: noHelper }, async () => {
  const server = net.createServer((s) => s.end('hello\r\n'));
  const stats = drainAcceptQueue(server, 4)!;
  const port = await listen(server);
  const lines = await connectBurst(port, 20).lines;
  assert.deepEqual(lines, new Array(20).fill('hello'));
  assert.ok(stats.largestDrain <= 4 && stats.largestDrain > 0, `largest drain ${stats.largestDrain}`);
  assert.equal(stats.nodeAccepts + stats.drained, 20);
  assert.ok(stats.nodeAccepts >= 4, `${stats.nodeAccepts} of Node's accepts for 20 connections, 4 more each`);
  await closed(server);
});

test("drainAcceptQueue keeps the server's maxConnections: the excess is dropped ('drop')", { skip: noHelper }, async () => {
  const server = net.createServer((s) => s.write('hello\r\n'));
  server.maxConnections = 3;
  const drops: Array<{ remoteAddress?: string }> = [];
  server.on('drop', (d) => drops.push(d ?? {}));
  drainAcceptQueue(server, 64);
  const port = await listen(server);
  const lines = await connectBurst(port, 10).lines;
  assert.deepEqual([...lines].sort(), [...new Array(3).fill('hello'), ...new Array(7).fill('')].sort());
  assert.equal(drops.length, 7);
  assert.ok(drops.every((d) => d.remoteAddress === '127.0.0.1'));
  await closed(server);
});

test('drainAcceptQueue does nothing without the helper, with max 0, or on a handle without a descriptor (cluster worker)', () => {
  const calls: number[] = [];
  const helper: NativeHelper = { set: () => false, get: () => -1, acceptPending: (fd) => (calls.push(fd), []) };
  assert.equal(drainAcceptQueue(net.createServer(), 64, null), null);
  assert.equal(drainAcceptQueue(net.createServer(), 0, helper), null);
  // What a cluster worker's net.Server holds under round-robin (lib/internal/cluster/child.js): no fd.
  const worker = Object.assign(new EventEmitter(), { _handle: { close() {}, listen() {}, ref() {}, unref() {} }, _connections: 0 });
  const stats = drainAcceptQueue(worker as unknown as net.Server, 64, helper)!;
  worker.emit('connection', {});
  assert.deepEqual(calls, []);
  assert.equal(stats.nodeAccepts, 1);
  assert.equal(stats.drained, 0);
});
