// COMPRESS=DEFLATE (RFC 4978) and LITERAL+ (RFC 7888) end to end: imapflow
// turns compression on by itself when COMPRESS=DEFLATE is advertised, and
// sends APPEND data as {n+} when LITERAL+ is. Against the real `petrel serve`
// on the plain port and on implicit TLS (certificate from `petrel cert
// self-signed`).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { runCli, startServer, type RunningServer } from './harness.js';

const HOST = '127.0.0.1';
const CERT_NAME = 'localhost';

function message(subject: string, bodyBytes = 0): Buffer {
  const head = `From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\r\n\r\n`;
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bodyBytes; i++) {
    const l = `${i}: the quick brown fox jumps over the lazy dog ${i % 97}`;
    lines.push(l);
    n += l.length + 2;
  }
  return Buffer.from(head + lines.join('\r\n') + '\r\n');
}

/** imapflow keeps its zlib streams on the instance once COMPRESS succeeded (no public flag). */
function compressionActive(c: ImapFlow): boolean {
  return !!(c as unknown as { _deflate?: unknown })._deflate;
}

describe('COMPRESS=DEFLATE and LITERAL+ with imapflow', () => {
  let server: RunningServer;
  let certDir: string;
  let cert: Buffer;

  before(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'petrel-compress-'));
    const made = await runCli({ ...process.env, PETREL_DATA_DIR: certDir }, ['cert', 'self-signed', '--out', join(certDir, 'tls'), '--host', CERT_NAME]);
    assert.equal(made.code, 0, made.stderr);
    cert = await readFile(join(certDir, 'tls', 'cert.pem'));
    server = await startServer({
      users: { carl: 'zip-pass', dora: 'zip-pass' },
      env: {
        PETREL_IMAPS_LISTEN: `${HOST}:0`,
        PETREL_TLS_CERT: join(certDir, 'tls', 'cert.pem'),
        PETREL_TLS_KEY: join(certDir, 'tls', 'key.pem'),
      },
    });
  });

  after(async () => {
    await server?.cleanup();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  function client(user: string, options: { secure?: boolean; disableCompression?: boolean } = {}): ImapFlow {
    return new ImapFlow({
      host: HOST,
      port: options.secure ? server.imapsPort! : server.imapPort,
      secure: !!options.secure,
      tls: { ca: cert, servername: CERT_NAME },
      auth: { user, pass: 'zip-pass' },
      logger: false,
      disableAutoIdle: true,
      disableCompression: !!options.disableCompression,
    });
  }

  test('plain port: compressed session; a 3 MB APPEND ({n+}) and its FETCH round-trip byte for byte', async () => {
    const c = client('carl');
    await c.connect();
    try {
      assert.ok(c.capabilities.has('COMPRESS=DEFLATE'));
      assert.ok(c.capabilities.has('LITERAL+'));
      assert.equal(compressionActive(c), true, 'imapflow negotiated COMPRESS');
      const big = message('big one', 3 * 1024 * 1024);
      const appended = await c.append('INBOX', big, ['\\Seen']);
      assert.ok(appended && appended.uid);
      await c.mailboxOpen('INBOX');
      const msg = await c.fetchOne(String(appended.uid), { source: true, size: true }, { uid: true });
      assert.ok(msg && msg.source);
      assert.equal(msg.size, big.length);
      assert.ok(msg.source.equals(big), 'the message comes back unchanged');
      const found = await c.search({ subject: 'big one' }, { uid: true });
      assert.deepEqual(found, [appended.uid]);
    } finally {
      await c.logout();
    }
  });

  test('an IDLE update arrives on a compressed connection', async () => {
    const watcher = client('dora');
    await watcher.connect();
    try {
      assert.equal(compressionActive(watcher), true);
      // imapflow updates the returned object in place: keep the count now.
      const before = (await watcher.mailboxOpen('INBOX')).exists;
      const seen = once(watcher, 'exists');
      const idling = watcher.idle();
      const r = await server.cli(['deliver', 'dora'], message('while idle'));
      assert.equal(r.code, 0, r.stderr);
      const [event] = (await seen) as [{ count: number }];
      assert.equal(event.count, before + 1);
      await watcher.noop(); // ends IDLE
      await idling;
    } finally {
      await watcher.logout();
    }
  });

  test('implicit TLS: compression inside TLS', async () => {
    const c = client('carl', { secure: true });
    await c.connect();
    try {
      assert.equal(c.secureConnection, true);
      assert.equal(compressionActive(c), true);
      await c.mailboxOpen('INBOX');
      const msg = await c.fetchOne('*', { envelope: true, size: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'big one');
      const small = message('over tls', 200 * 1024);
      const appended = await c.append('INBOX', small);
      assert.ok(appended && appended.uid);
      const back = await c.fetchOne(String(appended.uid), { source: true }, { uid: true });
      assert.ok(back && back.source && back.source.equals(small));
    } finally {
      await c.logout();
    }
  });

  test('a client that does not ask for compression is served uncompressed', async () => {
    const c = client('carl', { disableCompression: true });
    await c.connect();
    try {
      assert.equal(compressionActive(c), false);
      const box = await c.mailboxOpen('INBOX');
      assert.ok(box.exists >= 2);
    } finally {
      await c.logout();
    }
  });
});
