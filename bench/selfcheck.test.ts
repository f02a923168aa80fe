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
