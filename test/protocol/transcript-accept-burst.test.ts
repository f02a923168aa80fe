// A burst of new connections while the event loop is busy: both IMAP
// listeners drain their accept queue (limits.max_accepts_per_event,
// src/util/accept-backlog.ts) so every client of the burst is accepted, and
// greeted, after one of Node's accepts instead of one per loop turn. The
// connection limits count drained connections as any other. The burst is
// queued while this thread's loop is blocked (test/support/connect-burst.ts).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectBurst } from '../support/connect-burst.js';
import { startTestServer, type TestServer } from './transcript.js';
import { nativeHelper } from '../../src/util/native-helper.js';

const noHelper = !nativeHelper && 'no native helper (build/net-helper.node)';
const GREETING = /^\* OK \[CAPABILITY [^\]]+\] Petrel ready$/;

function counters(stats: { nodeAccepts: number; drained: number } | null): { nodeAccepts: number; drained: number } {
  assert.ok(stats, 'draining is on');
  return { nodeAccepts: stats.nodeAccepts, drained: stats.drained };
}

describe('a burst of connections on a busy loop', { skip: noHelper }, () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ tls: true });
  });
  after(async () => {
    await ts.close();
  });

  test('plain listener: 20 clients accepted after one of Node accepts, all greeted', async () => {
    assert.equal(ts.config.limits.maxAcceptsPerEvent, 64, 'the default');
    const before = counters(ts.server.acceptStats.imap);
    const lines = await connectBurst(ts.port, 20).lines;
    assert.equal(lines.length, 20);
    for (const line of lines) assert.match(line, GREETING);
    const now = counters(ts.server.acceptStats.imap);
    assert.equal(now.nodeAccepts - before.nodeAccepts + now.drained - before.drained, 20);
    assert.ok(now.nodeAccepts - before.nodeAccepts <= 2, `accepted in ${now.nodeAccepts - before.nodeAccepts} loop turns`);
    await ts.server.drained();
  });

  test('plain listener: drained connections take STARTTLS like any other', async () => {
    const before = counters(ts.server.acceptStats.imap);
    const lines = await connectBurst(ts.port, 10, { starttls: true }).lines;
    assert.deepEqual(lines, new Array(10).fill('TLS: b OK NOOP completed'));
    const now = counters(ts.server.acceptStats.imap);
    assert.ok(now.drained - before.drained >= 8, `${now.drained - before.drained} drained`);
    await ts.server.drained();
  });

  test('implicit TLS listener: 20 clients accepted after one of Node accepts, all greeted over TLS', async () => {
    const before = counters(ts.server.acceptStats.imaps);
    const lines = await connectBurst(ts.tlsPort!, 20, { secure: true }).lines;
    assert.equal(lines.length, 20);
    for (const line of lines) assert.match(line, GREETING);
    const now = counters(ts.server.acceptStats.imaps);
    assert.equal(now.nodeAccepts - before.nodeAccepts + now.drained - before.drained, 20);
    assert.ok(now.nodeAccepts - before.nodeAccepts <= 2, `accepted in ${now.nodeAccepts - before.nodeAccepts} loop turns`);
    await ts.server.drained();
  });
});

describe('the bound, the connection limit, and draining off', { skip: noHelper }, () => {
  test('at most limits.max_accepts_per_event after each of Node accepts', async () => {
    const ts = await startTestServer({ configure: (c) => (c.limits.maxAcceptsPerEvent = 4) });
    try {
      const lines = await connectBurst(ts.port, 20).lines;
      for (const line of lines) assert.match(line, GREETING);
      const stats = ts.server.acceptStats.imap!;
      assert.ok(stats.largestDrain > 0 && stats.largestDrain <= 4, `largest drain ${stats.largestDrain}`);
      assert.equal(stats.nodeAccepts + stats.drained, 20);
      assert.ok(stats.nodeAccepts >= 4, `${stats.nodeAccepts} of Node's accepts for 20 connections, 4 more each`);
      await ts.server.drained();
    } finally {
      await ts.close();
    }
  });

  test('limits.max_connections refuses the excess of a drained burst with BYE, as before', async () => {
    const ts = await startTestServer({ configure: (c) => (c.limits.maxConnections = 5) });
    try {
      const lines = await connectBurst(ts.port, 12).lines;
      assert.equal(lines.filter((l) => GREETING.test(l)).length, 5, lines.join('\n'));
      assert.equal(lines.filter((l) => l === '* BYE Too many connections').length, 7, lines.join('\n'));
      const stats = ts.server.acceptStats.imap!;
      assert.equal(stats.nodeAccepts + stats.drained, 12);
      await ts.server.drained();
    } finally {
      await ts.close();
    }
  });

  test('limits.max_accepts_per_event = 0: no draining, every client still greeted', async () => {
    const ts = await startTestServer({ configure: (c) => (c.limits.maxAcceptsPerEvent = 0) });
    try {
      assert.equal(ts.server.acceptStats.imap, null);
      const lines = await connectBurst(ts.port, 10).lines;
      for (const line of lines) assert.match(line, GREETING);
      await ts.server.drained();
    } finally {
      await ts.close();
    }
  });
});
