// The native helper (native/net-helper.c, built at install by
// scripts/build-native.cjs) sets TCP_QUICKACK on a real TCP socket (the IMAP
// connection calls it after each write; a reviewer checked implicit TLS,
// STARTTLS and worker sockets by hand: their handles expose the same fd). On
// Linux the helper must have been built: a machine without a C compiler or
// Node's headers fails here, loudly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { nativeHelper } from '../../../src/util/native-helper.js';
import { quickAck, quickAckState } from '../../../src/util/tcp-quickack.js';

test('the helper is built and loaded (Linux)', { skip: process.platform !== 'linux' && 'TCP_QUICKACK is Linux only' }, () => {
  assert.notEqual(nativeHelper, null, 'build/net-helper.node missing: run `node scripts/build-native.cjs` (needs cc and Node headers)');
});

test('quickAck sets TCP_QUICKACK on an accepted socket; false for what is not a TCP socket', { skip: !nativeHelper && 'no helper' }, async () => {
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer((s) => {
      server.close();
      resolve(s);
    });
    server.listen(0, '127.0.0.1', () => {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      client.on('error', () => {});
      accepted.then((s) => s.once('close', () => client.destroy()));
    });
  });
  const socket = await accepted;
  try {
    assert.equal(quickAck(socket), true);
    assert.equal(quickAckState(socket), 1);
  } finally {
    socket.destroy();
  }
  assert.equal(quickAck(new net.Socket()), false, 'not connected: no descriptor');
});
