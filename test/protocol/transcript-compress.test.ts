// Transcripts of COMPRESS=DEFLATE (RFC 4978) and LITERAL+ (RFC 7888): a raw
// client that deflates what it sends and inflates what it reads with
// node:zlib directly (compress-client.ts, not the server's DeflateStream),
// over plain TCP, after STARTTLS and on the implicit TLS port.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { compressClient, compressed } from './compress-client.js';
import { Client, message, startTestServer, type TestServer } from './transcript.js';

/** A compressible message of about `size` bytes. */
function bigMessage(size: number, subject = 'big'): string {
  const lines = ['From: a@example.org', 'To: b@example.org', `Subject: ${subject}`, ''];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const l = `line ${i} of a long and rather repetitive message body, ${'abcdefghij'.repeat(3)}`;
    lines.push(l);
    n += l.length + 2;
  }
  return message(lines);
}

describe('COMPRESS=DEFLATE over plain TCP', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      users: ['alice', 'bob', 'carol', 'dave'],
      configure: (c) => {
        c.imap.idleKeepaliveSeconds = 0.2;
        c.limits.maxMessageSize = 8 * 1024 * 1024;
      },
    });
  });
  after(async () => {
    await ts.close();
  });

  test('advertised with LITERAL+ (not LITERAL-); not allowed before login; only DEFLATE', async () => {
    const c = await ts.connect();
    c.send('b CAPABILITY\r\n');
    const lines = await c.until('b');
    const list = lines[0]!.split(' ');
    assert.ok(list.includes('COMPRESS=DEFLATE') && list.includes('LITERAL+') && !list.includes('LITERAL-'), lines[0]);
    await c.run('c COMPRESS DEFLATE', ['c BAD COMPRESS not allowed in the not authenticated state']);
    c.send('d LOGIN alice secret\r\n');
    await c.expectMatch(/^d OK \[CAPABILITY [^\]]* LITERAL\+ COMPRESS=DEFLATE [^\]]*\] Logged in$/);
    await c.run('e COMPRESS LZW', ['e BAD Unsupported compression mechanism LZW']);
    await c.run('f COMPRESS', ['f BAD Expected SP before compression mechanism']);
    // Still uncompressed after the refusals.
    await c.run('g NOOP', ['g OK NOOP completed']);
    c.destroy();
  });

  test('commands and responses are compressed both ways; big FETCH BODY[]; second COMPRESS is NO', async () => {
    const body = bigMessage(2 * 1024 * 1024);
    await ts.deliver('bob', 'INBOX', body);
    const plain = await ts.login('bob');
    const { client: c, counters } = await compressed(plain, 'z');
    await c.run('s SELECT INBOX', []);
    const sel = await c.until('s');
    assert.ok(sel.includes('* 1 EXISTS'), sel.join('\n'));
    assert.match(sel[sel.length - 1]!, /^s OK \[READ-WRITE\]/);
    await c.run('y COMPRESS DEFLATE', ['y NO [COMPRESSIONACTIVE] DEFLATE is already active']);
    const before = { ...counters };
    c.send('f FETCH 1 BODY.PEEK[]\r\n');
    const head = await c.line();
    assert.equal(head, `* 1 FETCH (BODY[] {${Buffer.byteLength(body)}}`);
    const lines: string[] = [];
    for (;;) {
      const l = await c.line();
      if (l.startsWith('f ')) {
        assert.equal(l, 'f OK FETCH completed');
        break;
      }
      lines.push(l);
    }
    assert.equal(lines.join('\r\n'), body.slice(0, -2) + '\r\n)');
    const raw = counters.rawIn - before.rawIn;
    const inflated = counters.inflatedIn - before.inflatedIn;
    assert.ok(inflated > body.length, `${inflated} bytes inflated`);
    assert.ok(raw * 5 < inflated, `wire bytes ${raw} should be far fewer than ${inflated}`);
    await c.run('l LOGOUT', ['* BYE Logging out', 'l OK LOGOUT completed']);
    await c.closed();
  });

  test('a command pipelined after COMPRESS (uncompressed, against RFC 4978 3) is dropped, not misread', async () => {
    const plain = await ts.login('alice');
    await plain.run('z compress deflate\r\nn NOOP', ['z OK DEFLATE active']); // case-insensitive
    const { client: c } = compressClient(plain);
    await c.run('m NOOP', ['m OK NOOP completed']);
    assert.equal(c.pending, '');
    c.destroy();
  });

  test('IDLE: updates and keep-alives arrive compressed while idling', async () => {
    const plain = await ts.login('carol');
    const { client: c } = await compressed(plain);
    await c.run('s SELECT INBOX', []);
    await c.until('s');
    await c.run('i IDLE', ['+ idling']);
    await c.expect(['* OK Still here']);
    await ts.deliver('carol', 'INBOX', message(['Subject: while idle', '', 'hi']));
    // Keep-alives may come before the update; the update must come without any command from us.
    for (;;) {
      const l = await c.line();
      if (l === '* OK Still here') continue;
      assert.equal(l, '* 1 EXISTS');
      break;
    }
    c.send('DONE\r\n');
    for (;;) {
      const l = await c.line();
      if (l === '* OK Still here') continue;
      assert.equal(l, 'i OK IDLE terminated');
      break;
    }
    c.destroy();
  });

  test('LITERAL+: a multi-MB APPEND with {n+} streams in, compressed and not', async () => {
    const msg = bigMessage(3 * 1024 * 1024, 'literal plus');
    const size = Buffer.byteLength(msg);
    const plain = await ts.login('dave');
    await plain.run(`a APPEND INBOX {${size}+}\r\n${msg}`, ['a OK [APPENDUID %d 1] APPEND completed']);
    const { client: c } = await compressed(plain);
    await c.run(`b APPEND INBOX (\\Seen) {${size}+}\r\n${msg}`, ['b OK [APPENDUID %d 2] APPEND completed']);
    await c.run('s SELECT INBOX', []);
    await c.until('s');
    await c.run('f FETCH 1:2 (RFC822.SIZE)', [`* 1 FETCH (RFC822.SIZE ${size})`, `* 2 FETCH (RFC822.SIZE ${size})`, 'f OK FETCH completed']);
    c.destroy();
  });

  test('LITERAL+: an oversized {n+} gets [TOOBIG], its bytes are discarded, the connection stays in step', async () => {
    const c = await ts.login('alice');
    const size = 8 * 1024 * 1024 + 1;
    await c.run(`a APPEND INBOX {${size}+}\r\n${'x'.repeat(size)}\r\n`, ['a NO [TOOBIG] Message too large (limit 8388608 octets)']);
    await c.run('b NOOP', ['b OK NOOP completed']);
    // A non-APPEND argument is held to limits.maxMemoryLiteral.
    await c.run(`c CREATE {70000+}\r\n${'y'.repeat(70000)}\r\n`, ['c BAD [TOOBIG] Literal too large (limit 65536 octets)']);
    const { client: z } = await compressed(c);
    await z.run(`d APPEND INBOX {${size}+}\r\n${'x'.repeat(size)}\r\n`, ['d NO [TOOBIG] Message too large (limit 8388608 octets)']);
    await z.run('e NOOP', ['e OK NOOP completed']);
    z.destroy();
  });

  test('a huge line that inflates from little is refused within limits; garbage closes only that connection', async () => {
    const c = await ts.login('alice');
    const { client: z } = await compressed(c);
    // 16 MiB of "a" deflates to a few KiB; the server must stop at its line limit.
    z.send(Buffer.concat([Buffer.from('x NOOP '), Buffer.alloc(16 * 1024 * 1024, 0x61), Buffer.from('\r\n')]));
    await z.expect(['x BAD Command line too long']);
    await z.run('y NOOP', ['y OK NOOP completed']);
    z.destroy();

    const d = await ts.login('alice');
    await d.run('z COMPRESS DEFLATE', ['z OK DEFLATE active']);
    d.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]));
    await d.closed();
    // The server is still there.
    const e = await ts.login('alice');
    await e.run('n NOOP', ['n OK NOOP completed']);
    e.destroy();
  });
});

describe('COMPRESS=DEFLATE inside TLS', () => {
  const tlsMessage = bigMessage(600 * 1024, 'tls');
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      tls: true,
      configure: (c) => {
        c.imap.allowPlaintextAuth = false;
      },
    });
    await ts.deliver('alice', 'INBOX', tlsMessage);
  });
  after(async () => {
    await ts.close();
  });

  async function afterLogin(c: Client): Promise<void> {
    const { client: z } = await compressed(c);
    await z.run('s SELECT INBOX', []);
    const sel = await z.until('s');
    assert.ok(sel.includes('* 1 EXISTS'), sel.join('\n'));
    z.send('f FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n');
    const lines = await z.until('f');
    assert.match(lines[0]!, /^\* 1 FETCH \(RFC822\.SIZE \d+ BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{16\}$/);
    assert.equal(lines[1], 'Subject: tls');
    assert.equal(lines[lines.length - 1], 'f OK FETCH completed');
    // A body big enough to be streamed from the blob store, through the compressor and TLS.
    z.send('g FETCH 1 BODY.PEEK[]\r\n');
    const body = await z.until('g');
    assert.equal(body[0], `* 1 FETCH (BODY[] {${tlsMessage.length}}`);
    assert.equal(body[body.length - 1], 'g OK FETCH completed');
    assert.equal(body.slice(1, -1).join('\r\n'), tlsMessage.slice(0, -2) + '\r\n)');
    await z.run('l LOGOUT', ['* BYE Logging out', 'l OK LOGOUT completed']);
    await z.closed();
  }

  test('after STARTTLS', async () => {
    const c = await ts.connect();
    await c.run('b STARTTLS', ['b OK Begin TLS negotiation now']);
    const s = await c.startTls();
    s.send('c LOGIN alice secret\r\n');
    await s.expectMatch(/^c OK \[CAPABILITY [^\]]*COMPRESS=DEFLATE[^\]]*\] Logged in$/);
    await afterLogin(s);
  });

  test('on the implicit TLS port', async () => {
    const sock = tls.connect({ port: ts.tlsPort!, host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => resolve());
      sock.once('error', reject);
    });
    const c = Client.over(sock);
    await c.expectMatch(/^\* OK \[CAPABILITY [^\]]+\] Petrel ready$/);
    c.send('c LOGIN alice secret\r\n');
    await c.expectMatch(/^c OK \[CAPABILITY [^\]]*COMPRESS=DEFLATE[^\]]*\] Logged in$/);
    await afterLogin(c);
  });
});
