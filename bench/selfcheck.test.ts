// Checks of the bench's own protocol clients and message generator, against
// in-process fake servers (no real mail server needed). Not part of `npm test`
// (which runs test/ only); run with:
//   node --import tsx --test bench/selfcheck.test.ts

import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { ImapClient, __test as imapInternals } from './lib/imap-client.js';
import { LmtpClient, dotStuff } from './lib/lmtp-client.js';
import { generateMessage, smallMessage } from './lib/messages.js';
import type { Endpoint } from './lib/endpoint.js';
import { mixedPoints, mixedScenario, Pacing, parseMixedPoint, sessionSlotMs } from './scenarios/mixed.js';
import type { BenchOptions, PointResult } from './scenarios/types.js';

/** A server that runs `script` for each connection; resolves with its port and a close function. */
async function fakeServer(script: (sock: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    script(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** Calls onLine for each CRLF-terminated line the client sends. */
function lines(sock: net.Socket, onLine: (line: string) => void): void {
  let buf = '';
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i = buf.indexOf('\r\n');
    while (i >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(l);
      i = buf.indexOf('\r\n');
    }
  });
}

describe('imap client', () => {
  test('literal markers are recognised only at the end of a line', () => {
    const f = imapInternals.trailingLiteralSize;
    assert.equal(f(Buffer.from('* 1 FETCH (BODY[] {123}')), 123);
    assert.equal(f(Buffer.from('* 1 FETCH (BODY[] {7+}')), 7);
    assert.equal(f(Buffer.from('* 1 FETCH (BODY[] {0}')), 0);
    assert.equal(f(Buffer.from('* OK {abc}')), null);
    assert.equal(f(Buffer.from('}')), null);
    assert.equal(f(Buffer.from('* OK done')), null);
  });

  test('FETCH literals split across packets arrive byte-exact, with 8-bit data', async () => {
    const body = Buffer.concat([Buffer.from('Subject: caf\u00e9\r\n\r\n'), Buffer.from([0xff, 0x00, 0x0d, 0x0a, 0x80])]);
    const srv = await fakeServer((s) => {
      s.write('* OK ready\r\n');
      lines(s, (l) => {
        const tag = l.split(' ')[0]!;
        // Response written in pieces to exercise resumable framing.
        const resp = Buffer.concat([
          Buffer.from(`* 1 FETCH (UID 5 BODY[] {${body.length}}\r\n`),
          body,
          Buffer.from(` FLAGS (\\Seen))\r\n${tag} OK done\r\n`),
        ]);
        for (let i = 0; i < resp.length; i += 3) s.write(resp.subarray(i, i + 3));
      });
    });
    try {
      const c = await ImapClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5000 });
      const r = await c.command('UID FETCH 5 (BODY.PEEK[])');
      assert.equal(r.status, 'OK');
      assert.equal(r.untagged.length, 1);
      assert.deepEqual(r.untagged[0]!.literals[0], body);
      assert.equal(r.untagged[0]!.line.toString('latin1'), `* 1 FETCH (UID 5 BODY[] {${body.length}} FLAGS (\\Seen))`);
      c.close();
    } finally {
      await srv.close();
    }
  });

  test('APPEND waits for the continuation, and NO is reported', async () => {
    const received: string[] = [];
    const srv = await fakeServer((s) => {
      s.write('* OK ready\r\n');
      let appendTag = '';
      lines(s, (l) => {
        received.push(l);
        if (l.includes('APPEND')) {
          appendTag = l.split(' ')[0]!;
          s.write('+ go ahead\r\n');
        } else if (appendTag && l === '') {
          s.write(`${appendTag} OK [APPENDUID 1 9] done\r\n`);
          appendTag = '';
        } else if (l.endsWith('SELECT nope')) {
          s.write(`${l.split(' ')[0]} NO no such mailbox\r\n`);
        }
      });
    });
    try {
      const c = await ImapClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5000 });
      const r = await c.append('INBOX', Buffer.from('Subject: x\r\n\r\nhello\r\n'), ['\\Seen']);
      assert.match(r.text, /APPENDUID 1 9/);
      assert.match(received[0]!, /^b\d+ APPEND "INBOX" \(\\Seen\) \{21\}$/);
      assert.deepEqual(received.slice(1), ['Subject: x', '', 'hello', '']);
      await assert.rejects(c.command('SELECT nope'), /NO no such mailbox/);
      c.close();
    } finally {
      await srv.close();
    }
  });
});

describe('lmtp client', () => {
  test('dot-stuffing doubles leading dots and ends with CRLF', () => {
    assert.equal(dotStuff(Buffer.from('.a\r\nb\r\n.\r\n..c\r\n')).toString(), '..a\r\nb\r\n..\r\n...c\r\n');
    assert.equal(dotStuff(Buffer.from('no newline')).toString(), 'no newline\r\n');
  });

  test('delivers, reading multi-line LHLO and one reply per recipient', async () => {
    let data = '';
    const srv = await fakeServer((s) => {
      s.write('220 fake LMTP\r\n');
      let inData = false;
      lines(s, (l) => {
        if (inData) {
          if (l === '.') {
            inData = false;
            s.write('250 2.0.0 a ok\r\n452 4.2.2 b over quota\r\n');
          } else data += `${l}\n`;
          return;
        }
        if (l.startsWith('LHLO')) s.write('250-fake\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n');
        else if (l.startsWith('MAIL') || l.startsWith('RCPT')) s.write('250 ok\r\n');
        else if (l === 'DATA') {
          inData = true;
          s.write('354 go\r\n');
        } else if (l === 'QUIT') s.end('221 bye\r\n');
      });
    });
    try {
      const c = await LmtpClient.connect({ host: '127.0.0.1', port: srv.port, timeoutMs: 5000 });
      const replies = await c.deliver('s@x', ['a@x', 'b@x'], Buffer.from('Subject: t\r\n\r\n.dot\r\n'));
      assert.deepEqual(
        replies.map((r) => r.code),
        [250, 452],
      );
      assert.equal(data, 'Subject: t\n\n..dot\n');
      await c.quit();
    } finally {
      await srv.close();
    }
  });
});

describe('message mix', () => {
  test('same seed and index give the same bytes; the mix has all kinds with CRLF lines', () => {
    const a = generateMessage(1, 42, { to: 'u@x' }).bytes;
    const b = generateMessage(1, 42, { to: 'u@x' }).bytes;
    assert.deepEqual(a, b);
    assert.notDeepEqual(generateMessage(2, 42, { to: 'u@x' }).bytes, a);
    const kinds = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const m = generateMessage(7, i, { to: 'u@x' });
      kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
      // No bare LF: every LF is preceded by CR.
      for (let j = m.bytes.indexOf(0x0a); j >= 0; j = m.bytes.indexOf(0x0a, j + 1)) assert.equal(m.bytes[j - 1], 0x0d);
      if (m.kind === 'mixed') assert.ok(m.bytes.length > 100 * 1024 && m.bytes.length < 1.5 * 1024 * 1024);
      if (m.kind === 'plain') assert.ok(m.bytes.length < 12 * 1024);
    }
    assert.ok((kinds.get('plain') ?? 0) > 100);
    assert.ok((kinds.get('alternative') ?? 0) > 15);
    assert.ok((kinds.get('mixed') ?? 0) > 3);
    assert.notDeepEqual(smallMessage(1, 1, 'u@x'), smallMessage(1, 2, 'u@x'));
  });
});

/**
 * A tiny IMAP server enough for the mixed scenario's sessions (3 messages, any
 * login); `loginDelayMs` makes it slow. Counts the sessions that logged out.
 */
async function fakeMixedServer(loginDelayMs: number): Promise<{ port: number; close: () => Promise<void>; logouts: () => number }> {
  let logouts = 0;
  const body = 'Subject: hi\r\n\r\nhello\r\n';
  const srv = await fakeServer((s) => {
    s.write('* OK fake IMAP\r\n');
    let buf = Buffer.alloc(0);
    let literal: { tag: string; size: number } | null = null;
    const answer = (tag: string, cmd: string): void => {
      const verb = cmd.split(' ')[0]!.toUpperCase();
      const ok = (pre = ''): void => void s.write(`${pre}${tag} OK done\r\n`);
      if (verb === 'LOGIN') setTimeout(() => ok(), loginDelayMs);
      else if (verb === 'SELECT') ok('* 3 EXISTS\r\n');
      else if (verb === 'FETCH') ok([1, 2, 3].map((i) => `* ${i} FETCH (UID ${i} FLAGS ())\r\n`).join(''));
      else if (cmd.startsWith('UID FETCH')) ok(`* 1 FETCH (UID 1 BODY[] {${body.length}}\r\n${body})\r\n`);
      else if (verb === 'LOGOUT') {
        logouts += 1;
        s.end(`* BYE bye\r\n${tag} OK done\r\n`);
      } else ok();
    };
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (literal) {
          if (buf.length < literal.size + 2) return;
          buf = buf.subarray(literal.size + 2);
          s.write(`${literal.tag} OK [APPENDUID 1 9] done\r\n`);
          literal = null;
          continue;
        }
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const line = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        const sp = line.indexOf(' ');
        const tag = line.slice(0, sp);
        const m = /\{(\d+)\}$/.exec(line);
        if (m) {
          literal = { tag, size: Number(m[1]) };
          s.write('+ go ahead\r\n');
        } else answer(tag, line.slice(sp + 1));
      }
    });
  });
  return { ...srv, logouts: () => logouts };
}

function mixedOptions(over: Partial<BenchOptions>): BenchOptions {
  return {
    seed: 1, durationS: 1, warmupS: 0, clients: [2], mixedUsers: 1, prefill: 3, sessionRates: [],
    connections: [1], deliveryUsers: 1, idleUsers: 1, idleRounds: 1, idleRate: 1, largeMessages: 1,
    largeCache: null, idleConnections: [1], fanoutUsers: 1, fanoutRate: 1, bigSizesMB: [1], bigRounds: 3,
    crossDeliveries: 1, timeoutMs: 5000, log: () => undefined, ...over,
  };
}

function fakeEndpoint(port: number): Endpoint {
  return {
    name: 'fake',
    imap: { host: '127.0.0.1', port },
    lmtp: { host: '127.0.0.1', port: 1 },
    users: new Map([['mix001', { login: 'mix001', password: 'pw', address: 'mix001@x' }]]),
  };
}

function metric(r: PointResult, name: string): number {
  const m = r.metrics.find((x) => x.name === name);
  assert.ok(m, `no metric ${name} in ${r.metrics.map((x) => x.name).join(', ')}`);
  return m.value;
}

describe('mixed scenario', () => {
  test('points: one per client count, or one per client count and session rate', () => {
    assert.deepEqual(mixedPoints({ clients: [10, 50], sessionRates: [] }), ['10 clients', '50 clients']);
    const paced = mixedPoints({ clients: [10, 50], sessionRates: [50, 0.5] });
    assert.deepEqual(paced, ['10 clients @50/s', '10 clients @0.5/s', '50 clients @50/s', '50 clients @0.5/s']);
    assert.deepEqual(paced.map(parseMixedPoint), [
      { clients: 10, rate: 50 },
      { clients: 10, rate: 0.5 },
      { clients: 50, rate: 50 },
      { clients: 50, rate: 0.5 },
    ]);
    assert.deepEqual(parseMixedPoint('200 clients'), { clients: 200, rate: null });
    assert.throws(() => parseMixedPoint('200 sessions'), /bad point/);
  });

  test('schedule: client i of n starts session k at t0 + (k*n + i)/R', () => {
    assert.equal(sessionSlotMs(1000, 100, 50, 0, 0), 1000);
    assert.equal(sessionSlotMs(1000, 100, 50, 7, 0), 1070);
    assert.equal(sessionSlotMs(1000, 100, 50, 7, 2), 1000 + (2 * 50 + 7) * 10);
  });

  test('pacing counts the starts in the window and the backlog at its end, late by the window end', () => {
    // 2 clients at 10/s: client 0's slots at 0, 200, 400, ... ms, client 1's at 100, 300, ...; the window is [1000, 2000).
    const p = new Pacing(0, 10, 2, { start: 1000, end: 2000 });
    p.startedAt(0, 4, 805); // slot 800, started in the warm-up: not counted
    p.startedAt(0, 5, 1003); // slot 1000
    p.startedAt(0, 6, 1450); // slot 1200, 250 ms late
    p.stoppedAt(0, 7); // slots 1400, 1600, 1800 never started
    p.startedAt(1, 4, 1100); // slot 900 (warm-up), started in the window: 200 ms late
    p.stoppedAt(1, 5); // slots 1100 ... 1900 never started
    assert.equal(p.started, 3);
    assert.equal(p.notStarted, 8);
    assert.deepEqual(p.lagsMs, [3, 250, 600, 400, 200, 200, 900, 700, 500, 300, 100]);
  });

  test('a paced point keeps to the schedule, and a server too slow for it shows as start lag', async () => {
    for (const [delayMs, clients] of [
      [0, 4],
      [400, 2],
    ] as const) {
      const srv = await fakeMixedServer(delayMs);
      try {
        const o = mixedOptions({ clients: [clients], sessionRates: [20] });
        const r = await mixedScenario.runPoint(fakeEndpoint(srv.port), `${clients} clients @20/s`, o);
        assert.equal(r.point, `${clients} clients @20/s`);
        // No warm-up: the 20 slots of the 1 s window are all there are; each one either started or is counted as not started.
        const started = metric(r, 'sessions started/s');
        const notStarted = metric(r, 'sessions not started');
        assert.equal(started + notStarted, 20);
        assert.ok(srv.logouts() <= 20, `${srv.logouts()} sessions, the schedule allows 20`);
        assert.equal(metric(r, 'errors'), 0);
        if (delayMs > 0) {
          // Each client's session takes >= 400 ms against a slot every 100 ms: at most 3 starts each.
          assert.ok(started <= 6, `started ${started}/s`);
          assert.ok(metric(r, 'start lag p99 ms') >= 200, `lag p99 ${metric(r, 'start lag p99 ms')}`);
        }
      } finally {
        await srv.close();
      }
    }
  });

  test('an unpaced point has no pacing figures', async () => {
    const srv = await fakeMixedServer(0);
    try {
      const o = mixedOptions({ clients: [2], durationS: 0.3 });
      const r = await mixedScenario.runPoint(fakeEndpoint(srv.port), '2 clients', o);
      assert.ok(metric(r, 'sessions/s') > 0);
      assert.equal(r.metrics.find((m) => m.name.startsWith('start lag')), undefined);
    } finally {
      await srv.close();
    }
  });
});
