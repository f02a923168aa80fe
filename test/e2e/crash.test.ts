// Crash safety: kill -9 the server while 1,000 messages are being delivered
// over concurrent LMTP connections. After a restart every message that got a
// 250 is there exactly once, every visible message is whole (byte-identical to
// what was sent), and the database passes its integrity check.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { startServer, type RunningServer } from './harness.js';
import { LmtpSession, RawImap } from './wire-clients.js';

const TOTAL = 1000;
const CONNECTIONS = 8;
const KILL_AFTER_ACKS = 400;

function message(n: number): Buffer {
  // Deterministic sizes from 1 KB to ~9 KB; body lines never start with '.'.
  const size = 1000 + ((n * 7919) % 8000);
  const line = `line of message ${n} `.padEnd(70, 'x') + '\r\n';
  const body = line.repeat(Math.ceil(size / line.length));
  return Buffer.from(
    `From: sender@example.org\r\nTo: crash@example.org\r\nSubject: crash-${n}\r\nMessage-ID: <${n}@crash.test>\r\n\r\n${body}`,
  );
}

describe('crash safety', () => {
  let server: RunningServer | undefined;
  after(async () => {
    await server?.cleanup();
  });

  test('kill -9 during 1,000 concurrent LMTP deliveries loses no acknowledged message', async (t) => {
    server = await startServer({ users: { crash: 'pw' } });
    const acked = new Set<number>();
    const attempted = new Set<number>();
    let next = 0;
    let killed = false;
    let killing: Promise<void> | null = null;

    const worker = async (): Promise<void> => {
      let session: LmtpSession;
      try {
        session = await LmtpSession.connect(server!.lmtpPort);
      } catch {
        return;
      }
      try {
        while (!killed && next < TOTAL) {
          const n = next++;
          attempted.add(n);
          let reply: string;
          try {
            reply = await session.deliver('sender@example.org', 'crash@example.org', message(n));
          } catch {
            return; // connection died with the server: outcome unknown, not acknowledged
          }
          if (reply.startsWith('250')) acked.add(n);
          else assert.fail(`delivery ${n} refused before the crash: ${reply}`);
          if (acked.size >= KILL_AFTER_ACKS && !killing) {
            killed = true;
            killing = server!.kill();
          }
        }
      } finally {
        session.close();
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
    await killing;
    assert.ok(killed, 'the server was killed mid-run');
    assert.ok(acked.size >= KILL_AFTER_ACKS && acked.size < TOTAL);

    server = await server.restart();
    const imap = await RawImap.connect(server.imapPort);
    try {
      assert.match((await imap.command('LOGIN crash pw')).tagged, /^OK/);
      const select = await imap.command('SELECT INBOX');
      assert.match(select.tagged, /^OK/);
      const exists = Number(/^\* (\d+) EXISTS$/m.exec(select.untagged.join('\n'))?.[1]);

      // Fetch every message whole and recognise it by its Subject.
      const visible = new Map<number, number>();
      const bodies: Buffer[] = [];
      const fetched = await imap.command('FETCH 1:* (BODY.PEEK[])', async (size, reader) => {
        const parts: Buffer[] = [];
        await reader.bytes(size, (c) => parts.push(Buffer.from(c)));
        bodies.push(Buffer.concat(parts));
      });
      assert.match(fetched.tagged, /^OK/);
      assert.equal(bodies.length, exists);
      for (const body of bodies) {
        const n = Number(/Subject: crash-(\d+)\r\n/.exec(body.toString('latin1'))?.[1]);
        assert.ok(Number.isInteger(n), 'every visible message is one we sent');
        // LMTP may prepend trace fields (Return-Path); the sent bytes must follow whole.
        const sent = message(n);
        assert.ok(
          body.subarray(body.length - sent.length).equals(sent),
          `message ${n} is whole (sha ${createHash('sha256').update(body).digest('hex').slice(0, 12)})`,
        );
        visible.set(n, (visible.get(n) ?? 0) + 1);
      }
      for (const n of acked) assert.equal(visible.get(n), 1, `acknowledged message ${n} present exactly once`);
      for (const [n, count] of visible) {
        assert.equal(count, 1, `message ${n} stored once`);
        assert.ok(attempted.has(n));
      }
      t.diagnostic(`acknowledged before the kill: ${acked.size}; visible after restart: ${visible.size}`);
      // Only deliveries in flight at the kill can be stored without a 250.
      assert.ok(visible.size - acked.size <= CONNECTIONS, `${visible.size - acked.size} unacknowledged messages stored`);
      await imap.command('LOGOUT');
    } finally {
      imap.close();
    }

    const check = await server.cli(['check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /no problems found/);
  });
});
